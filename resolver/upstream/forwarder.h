// A forwarder group: the upstream servers of one `forward` directive, the policy that picks
// among them, failover, and the protection of those servers (upstream_limits, the admission
// queue, the circuit breaker with its probes, latency and SERVFAIL tracking).
#pragma once

#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "observe/request_metrics.h"
#include "upstream/admission_queue.h"
#include "upstream/answer_handler.h"
#include "upstream/ares_channel.h"
#include "upstream/circuit.h"
#include "upstream/latency.h"
#include "upstream/rate_limit.h"
#include "upstream/servfail_streak.h"
#include "upstream/upstream_group.h"

namespace holdfast::upstream {

struct ForwarderOptions {
  config::ForwardConfig forward;
  LimitOptions limits;
  // Defaults: the Corefile's (config::UpstreamLimits), defined there once.
  std::size_t queue = static_cast<std::size_t>(config::UpstreamLimits{}.queue);
  std::chrono::milliseconds queue_wait = config::UpstreamLimits{}.queue_wait;
  std::chrono::milliseconds probe_interval = config::UpstreamLimits{}.probe_interval;
  int probes = config::UpstreamLimits{}.probes;
  std::chrono::milliseconds attempt_timeout{2000};
  // How long one question may take here, from the moment it is handed to the forwarder (a wait
  // in the admission queue included) to its last attempt's end: a server that timed out is asked
  // once more only if that attempt can end inside it. glibc's first try waits 5 s, and CoreDNS's
  // `forward` retries within the same 5 s.
  std::chrono::milliseconds question_budget{5000};
  std::string name;  // for log lines, e.g. "cluster.local.:53"
};

struct ForwarderCounters {
  std::uint64_t requests = 0;          // resolve() calls
  std::uint64_t attempts = 0;          // queries sent to a server
  std::uint64_t failovers = 0;         // attempts sent to the next server after one failed
  std::uint64_t resends = 0;           // attempts that asked a server again after it timed out
  std::uint64_t hedges = 0;            // early second copies of questions left unanswered
  std::uint64_t over_limit = 0;        // refused by max_concurrent
  std::uint64_t failures = 0;          // requests that ended without a usable answer
  std::uint64_t circuit_opened = 0;    // times every server went down
  std::uint64_t circuit_closed = 0;    // times a server answered again after that
  std::uint64_t probes = 0;            // misses let through while the circuit was open
  std::uint64_t health_checks = 0;     // timed probes of down servers
  std::uint64_t silences = 0;          // servers marked down for answering nothing (latency)
  std::uint64_t limited = 0;           // admissions refused by upstream_limits
  std::uint64_t queued = 0;            // misses that waited in the admission queue
  std::uint64_t queue_full = 0;        // misses rejected: the queue was full
  std::uint64_t queue_displaced = 0;   // of those, the biggest client's newest, shed for another
  std::uint64_t queue_expired = 0;     // misses rejected: their wait ran out
  std::uint64_t queue_peak = 0;        // the longest the queue has been
  std::uint64_t degraded_periods = 0;  // times the upstream answered SERVFAIL to everything
};

// One upstream server's counters behind coredns_forward_* (per `to`).
struct UpstreamMetrics {
  std::uint64_t requests = 0;  // attempts sent to it
  std::array<std::uint64_t, observe::kRcodeSlots> responses{};
  std::array<observe::TimeHistogram, observe::kRcodeSlots> durations{};
  std::uint64_t healthcheck_failures = 0;
};

class Forwarder;

// Told when a group's circuit closes (an upstream answered after every one was down).
class CircuitListener {
 public:
  virtual void on_circuit_closed(UpstreamGroup& group) noexcept = 0;

 protected:
  ~CircuitListener() = default;
};

// Loop-bound: create, start, use and close on one loop.
class Forwarder final : public UpstreamGroup {
 public:
  Forwarder(uv_loop_t* loop, const ForwarderOptions& options, const Clock& clock,
            std::uint64_t seed);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  Result<void> start();
  // Rejects what waits in the queue (kCancelled), cancels what is in flight, closes the timer.
  void close() noexcept;
  void set_listener(CircuitListener* listener) noexcept { listener_ = listener; }

  // True when a lower-cased wire name is inside FROM and outside every `except` zone.
  bool covers(dns::Bytes lower_name) const noexcept override;

  // For a question that has stale data to fall back on (a refresh, a verify-mode wait): true,
  // taking a token, when it may go upstream now — the circuit is closed, no miss is waiting in
  // the queue, and upstream_limits allow it. Then call resolve().
  bool admit() noexcept override;
  // Resolves `query` (a complete query, copied), trying servers by policy until one answers
  // with something other than SERVFAIL/REFUSED/NOTIMP/FORMERR or attempts run out. `handler` is
  // called once. Only `max_concurrent` is enforced here (kOverLimit).
  void resolve(dns::Bytes query, AnswerHandler* handler) override;
  // For a question without data (a miss): sends it now if the limits allow, else queues it in
  // FIFO order until they do (or, while the circuit is open, until a probe slot is free). The
  // handler gets kRejected — possibly before submit() returns — when the queue is full or the
  // wait runs out. `query` is not copied until it is sent: it must live until the handler runs.
  // `client` identifies who asked (client_key(), 0 for the daemon's own refreshes): waiting misses
  // take turns between clients, and a full queue sheds the biggest client's newest first.
  void submit(dns::Bytes query, AnswerHandler* handler, std::uint64_t client = 0) override;

  // Every server is down: stale answers go out at once, misses are probes or wait.
  bool circuit_open() const noexcept override { return circuit_.open(); }
  // The upstream answers, but SERVFAIL to every question (ServfailStreak).
  bool degraded() const noexcept override { return servfail_.degraded(); }
  // verify mode: how long a client waits for a fresh answer before its stale one, at most cap.
  std::int64_t stale_wait_ms(std::int64_t cap_ms) const noexcept override {
    return latency_.stale_wait_ms(cap_ms);
  }
  // While degraded: true for one refresh of a stale name per probe_interval.
  bool claim_degraded_refresh() noexcept override;
  // holdfastctl upstream down|up ADDR: false when no server of this group is ADDR ("IP:port").
  bool force_server(const std::string& address, bool down) noexcept;

  const config::ForwardConfig& config() const noexcept { return options_.forward; }
  const ForwarderOptions& options() const noexcept { return options_; }
  std::size_t inflight() const noexcept { return inflight_; }
  std::size_t queue_length() const noexcept { return queue_.size(); }
  const ForwarderCounters& counters() const noexcept { return counters_; }
  const std::vector<UpstreamMetrics>& upstream_metrics() const noexcept { return metrics_; }
  const Circuit& circuit() const noexcept { return circuit_; }
  std::vector<std::string> server_names() const;
  // Datagrams from server `i` that answered nothing outstanding (AresChannel::mismatched).
  std::uint64_t mismatched(std::size_t i) const noexcept {
    return servers_[i]->mismatched() + probe_channels_[i]->mismatched();
  }

 private:
  class Attempt;
  class HealthCheck;

  enum class Via : std::uint8_t { kNormal, kProbe };
  std::uint16_t next_query_id() noexcept { return static_cast<std::uint16_t>(id_rng_()); }
  // `asked_ms`: when the question was handed to the forwarder (before any wait in the queue).
  void send(dns::Bytes query, AnswerHandler* handler, Via via, std::int64_t asked_ms);
  AresChannel& channel(std::size_t server, Via via) noexcept {
    return via == Via::kProbe ? *probe_channels_[server] : *servers_[server];
  }
  std::vector<std::size_t> pick_order();
  // The attempt's client is answered: its in-flight slot is free, no early copy for it.
  void finish(Attempt* attempt) noexcept;
  // Transport evidence from attempts and health checks.
  void on_answer(std::size_t server, std::int64_t sent_ms, dns::Bytes query, dns::Bytes response,
                 std::uint64_t sent_ns) noexcept;
  void on_failure(std::size_t server, UpstreamStatus status, std::int64_t sent_ms) noexcept;
  // After `server` timed out on a question handed over at `asked_ms`, with no other server
  // left to try: true, taking a token, when it may be asked once more — a lost datagram (ours or
  // its answer) then costs the client one attempt timeout, not a SERVFAIL. Only when the attempt
  // can end inside `question_budget`, the server is not down, and admit() says yes (the circuit
  // is closed, no miss waits, upstream_limits allow it). So second copies stay under `qps`, none
  // goes while misses queue (an upstream too slow for the load), and a dead upstream gets at most
  // `max_fails` - 1 of them before its timeouts mark it down.
  bool may_resend(std::size_t server, std::int64_t asked_ms) noexcept;
  // An attempt started now, for a question handed over at `asked_ms`, ends inside
  // `question_budget`: the rule for every second copy (may_resend, hedge).
  bool ends_within_budget(std::int64_t asked_ms, std::int64_t now_ms) const noexcept;
  // Early second copies, from the timer: a question whose one copy has gone unanswered for
  // LatencyTracker::hedge_ms (200 ms or 20 × the p99 round trip) is sent again — to the next
  // server in order, or the same one when none is left — and the first usable answer wins. The
  // copy is the question's one extra (no resend after it), never to the same server under
  // `force_tcp` (TCP loses nothing on the way), goes only when the attempt can end
  // inside `question_budget`, its server is not down and admit() says yes, and costs
  // kHedgeCost of the credit each question sent earns (one, up to kHedgeCredit): at most one
  // early copy per ten questions, ten in hand, whatever happens to the upstream's latency.
  void hedge(std::int64_t now_ms) noexcept;
  static constexpr int kHedgeCost = 10;
  static constexpr int kHedgeCredit = 100;
  void apply(CircuitChange change, std::size_t server, const char* why) noexcept;
  void send_health_check(std::size_t server) noexcept;
  // The timer: silence detection, timed probes, draining and expiring the queue.
  void tick() noexcept;
  void pump(std::int64_t now_ms) noexcept;
  bool may_send_queued(std::int64_t now_ms) noexcept;
  void reject(AnswerHandler* handler, UpstreamStatus status) noexcept;
  void arm(std::int64_t delay_ms) noexcept;
  void rearm() noexcept;

  uv_loop_t* loop_;
  ForwarderOptions options_;
  const config::ForwardConfig& config_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  std::mt19937 id_rng_{std::random_device{}()};  // query IDs: unpredictable across restarts
  std::vector<std::unique_ptr<AresChannel>> servers_;
  // The same servers with a shorter timeout (probe_interval, at least 1 s, at most the attempt
  // timeout), for probes: a client whose miss is a probe learns within it that nothing answered.
  std::vector<std::unique_ptr<AresChannel>> probe_channels_;
  std::vector<std::string> from_wire_;  // [0] = FROM, then the except zones
  std::size_t round_robin_next_ = 0;
  std::size_t inflight_ = 0;
  std::vector<Attempt*> attempts_;  // normal attempts whose client still waits (early copies)
  int hedge_credit_ = kHedgeCredit;
  RateLimit limit_;
  AdmissionQueue queue_;
  Circuit circuit_;
  LatencyTracker latency_;
  ServfailStreak servfail_;
  std::int64_t next_degraded_refresh_ms_ = 0;
  bool queue_saturated_ = false;
  std::uint64_t rejected_while_saturated_ = 0;
  CircuitListener* listener_ = nullptr;
  uv_timer_t timer_{};
  bool closed_ = false;
  ForwarderCounters counters_;
  std::vector<UpstreamMetrics> metrics_;  // one per server
};

}  // namespace holdfast::upstream
