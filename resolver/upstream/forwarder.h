// A forwarder group: the upstream servers of one `forward` directive, the policy that picks
// among them, failover to the next server, and the max_concurrent bound.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "upstream/answer_handler.h"
#include "upstream/ares_channel.h"
#include "upstream/rate_limit.h"

namespace holdfast::upstream {

struct ForwarderOptions {
  config::ForwardConfig forward;
  LimitOptions limits;
  // How long a server that failed max_fails times in a row is left alone (±20 % jitter), and the
  // spacing of probes while every server is down; also the length of the recovery period.
  std::chrono::milliseconds recheck{30'000};
  std::chrono::milliseconds attempt_timeout{2000};
};

struct ForwarderCounters {
  std::uint64_t requests = 0;        // resolve() calls
  std::uint64_t attempts = 0;        // queries sent to a server
  std::uint64_t failovers = 0;       // attempts after the first
  std::uint64_t over_limit = 0;      // refused by max_concurrent
  std::uint64_t failures = 0;        // requests that ended without a usable answer
  std::uint64_t circuit_opened = 0;  // times every server went down
  std::uint64_t probes = 0;          // queries let through while the circuit was open
  std::uint64_t limited = 0;         // admissions refused by upstream_limits
};

// Loop-bound: create, start, use and close on one loop.
class Forwarder {
 public:
  Forwarder(uv_loop_t* loop, const ForwarderOptions& options, const Clock& clock,
            std::uint64_t seed);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  Result<void> start();
  void close() noexcept;

  // True when a lower-cased wire name is inside FROM and outside every `except` zone.
  bool covers(dns::Bytes lower_name) const noexcept;

  // Resolves `query` (a complete query, copied), trying servers by policy until one answers
  // with something other than SERVFAIL/REFUSED or attempts run out. `handler` is called once.
  // Callers ask admit() first; resolve() itself only enforces `max_concurrent` (kOverLimit).
  void resolve(dns::Bytes query, AnswerHandler* handler);

  // Circuit breaker: opens when every server has failed max_fails times in a row, closes when
  // one answers (a probe).
  bool circuit_open() const noexcept;
  // While the circuit is open: true for at most one caller per recheck interval, whose query is
  // the probe that may close the circuit.
  bool claim_probe() noexcept;
  // True for `recheck` after the circuit closed again: refreshes are spread over this period.
  bool recovering() const noexcept;
  std::int64_t recovery_ends_ms() const noexcept {
    return recovered_at_ms_ + options_.recheck.count();
  }
  // upstream_limits: true, counting the query, when one more may go upstream now.
  bool admit() noexcept;

  const config::ForwardConfig& config() const noexcept { return options_.forward; }
  std::size_t inflight() const noexcept { return inflight_; }
  const ForwarderCounters& counters() const noexcept { return counters_; }
  std::vector<std::string> server_names() const;

 private:
  struct Server {
    std::unique_ptr<AresChannel> channel;
    int consecutive_fails = 0;
    std::int64_t down_until_ms = 0;
  };
  class Attempt;

  std::vector<std::size_t> pick_order();
  void record_result(std::size_t server, bool ok) noexcept;
  void finish(Attempt* attempt) noexcept;
  std::int64_t jittered_recheck_ms() noexcept;

  uv_loop_t* loop_;
  ForwarderOptions options_;
  const config::ForwardConfig& config_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  std::vector<Server> servers_;
  std::vector<std::string> from_wire_;  // [0] = FROM, then the except zones
  std::size_t round_robin_next_ = 0;
  std::size_t inflight_ = 0;
  RateLimit limit_;
  bool circuit_open_ = false;
  std::int64_t next_probe_ms_ = 0;
  std::int64_t recovered_at_ms_ = -(std::int64_t{1} << 40);
  ForwarderCounters counters_;
};

}  // namespace holdfast::upstream
