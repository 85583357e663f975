// The health of one forwarder group's servers and its circuit breaker: which servers are down,
// whether every one is (the circuit is open), and the probe budget that finds out when they are
// back. Health is judged by the transport alone: any answer, whatever its rcode, proves a server
// alive; only timeouts, refused connections, network errors and silence count against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "config/config.h"

namespace holdfast::upstream {

struct CircuitOptions {
  // Defaults: the Corefile's (config::ForwardConfig, config::UpstreamLimits), defined there once.
  // Failures in a row that mark a server down; 0 = never.
  int max_fails = config::ForwardConfig{}.max_fails;
  // Timed probes (±20 %) and the life of a probe slot.
  std::int64_t probe_interval_ms = config::UpstreamLimits{}.probe_interval.count();
  int probes = config::UpstreamLimits{}.probes;  // probe queries outstanding at once while open
};

enum class CircuitChange : std::uint8_t { kNone, kOpened, kClosed };

// Loop-bound; times are monotonic milliseconds passed in by the caller (tests move them).
class Circuit {
 public:
  Circuit(std::size_t servers, const CircuitOptions& options, std::uint64_t seed);

  // A query went to `server` / its attempt ended with an answer / with a transport failure /
  // without a verdict (cancelled). A failure of a query sent before the server's latest answer
  // says nothing new (the server has answered since): it is not counted.
  void on_sent(std::size_t server, std::int64_t now_ms) noexcept;
  CircuitChange on_answer(std::size_t server, std::int64_t now_ms) noexcept;
  CircuitChange on_failure(std::size_t server, std::int64_t now_ms, std::int64_t sent_ms) noexcept;
  void on_abandoned(std::size_t server) noexcept;

  // Queries sent since a server's latest answer, none answered, before its silence counts: one
  // or two unanswered queries are as likely a lost datagram (a quiet node asks one question at
  // a time) as a dead server, and a dead one fails them at the attempt timeout anyway; three in
  // a row at 10 % loss is one in a thousand.
  static constexpr int kSilenceQueries = 3;

  // The first server that has answered nothing for `silence_ms` since the first query sent to it
  // after its latest answer, while queries are outstanding and at least kSilenceQueries went to
  // it since that answer; the caller marks it down with mark_down(). Queries sent before the
  // latest answer do not count: the server answered since.
  std::optional<std::size_t> silent_server(std::int64_t now_ms,
                                           std::int64_t silence_ms) const noexcept;
  CircuitChange mark_down(std::size_t server, std::int64_t now_ms) noexcept;
  // The operator's hand (holdfastctl upstream down|up): a server forced down stays down whatever
  // it answers, is never probed and never asked; `up` makes it healthy at once.
  CircuitChange force(std::size_t server, bool down, std::int64_t now_ms) noexcept;
  bool forced_down(std::size_t server) const noexcept { return servers_[server].forced; }
  bool all_forced_down() const noexcept;

  bool open() const noexcept { return open_; }
  bool down(std::size_t server) const noexcept { return servers_[server].down; }
  int consecutive_fails(std::size_t server) const noexcept {
    return servers_[server].consecutive_fails;
  }
  bool any_down() const noexcept;
  std::size_t outstanding() const noexcept;
  std::int64_t opened_at_ms() const noexcept { return opened_at_ms_; }

  // Probe budget: true, taking a slot, when one more probe may go out now. A slot is held until
  // probe_interval has passed, whatever the probe's fate, so a dead upstream sees at most
  // `probes` queries per probe_interval from this group.
  bool claim_probe(std::int64_t now_ms) noexcept;
  // The down server a timed probe should ask now (taking a slot), or nothing: not due yet, no
  // slot free, or no server down. Due every probe_interval ±20 % while any server is down.
  std::optional<std::size_t> timed_probe(std::int64_t now_ms) noexcept;
  // When the next timed probe is due (for the caller's timer); meaningless when none is down.
  std::int64_t next_timed_probe_ms() const noexcept { return next_timed_ms_; }

 private:
  struct Server {
    int consecutive_fails = 0;
    bool down = false;
    std::size_t outstanding = 0;
    std::int64_t last_answer_ms = -1;
    std::int64_t first_sent_since_answer_ms = -1;  // -1: nothing sent since the last answer
    int sent_since_answer = 0;                     // queries sent since then (silence needs some)
    bool forced = false;                           // down by the operator's hand
  };
  CircuitChange update_open(std::int64_t now_ms) noexcept;
  std::int64_t jittered_interval_ms() noexcept;

  CircuitOptions options_;
  std::vector<Server> servers_;
  std::mt19937_64 rng_;
  bool open_ = false;
  std::int64_t opened_at_ms_ = 0;
  std::vector<std::int64_t> probe_slots_;  // when each taken slot frees
  std::int64_t next_timed_ms_ = 0;
  std::size_t next_probe_server_ = 0;
};

}  // namespace holdfast::upstream
