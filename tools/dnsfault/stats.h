// The proxy's counters (all its metrics in one place): queries received and forwarded, what each
// action did, the per-second rates received and sent upstream over the last minute, and the
// schedule's progress. Written on the loop thread, read by the control API's thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "rule.h"

namespace holdfast::dnsfault {

// CLOCK_MONOTONIC in milliseconds (the clock libuv's timers use), and the wall clock.
std::int64_t monotonic_ms() noexcept;
std::int64_t unix_ms() noexcept;

// Counts per whole second over the last kSeconds seconds. One writer; readers on any thread may
// see a second that is being reset as zero, which is harmless for a rate display.
class RateWindow {
 public:
  static constexpr std::size_t kSeconds = 60;

  void add(std::int64_t now_ms) noexcept;
  // The last `kSeconds` complete seconds before `now_ms`, oldest first.
  std::array<std::uint64_t, kSeconds> last_seconds(std::int64_t now_ms) const noexcept;

 private:
  static constexpr std::size_t kSlots = kSeconds + 2;
  std::array<std::atomic<std::int64_t>, kSlots> second_{};
  std::array<std::atomic<std::uint64_t>, kSlots> count_{};
};

struct ScheduleSwitch {
  std::uint64_t planned_ms = 0;  // offset from the schedule's start
  std::uint64_t actual_ms = 0;
  std::int64_t unix_ms = 0;
  std::string label;
};

class Stats {
 public:
  explicit Stats(std::int64_t start_ms) noexcept : start_ms_(start_ms) {}

  // Counters, relaxed atomics.
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> received_udp{0};
  std::atomic<std::uint64_t> received_tcp{0};
  std::atomic<std::uint64_t> forwarded_upstream{0};
  std::atomic<std::uint64_t> upstream_answers{0};
  std::atomic<std::uint64_t> upstream_timeouts{0};
  std::atomic<std::uint64_t> responses_sent{0};
  std::atomic<std::uint64_t> unparseable{0};      // passed through unmatched
  std::atomic<std::uint64_t> dropped_invalid{0};  // < 12 bytes or QR=1: dropped
  std::atomic<std::uint64_t> inflight_full{0};    // dropped: no free in-flight slot
  std::atomic<std::uint64_t> send_errors{0};
  std::atomic<std::uint64_t> tcp_connections{0};
  std::atomic<std::uint64_t> tcp_rejected{0};  // over the connection limit
  std::atomic<std::uint64_t> icmp_sent{0};     // refuse-connection over UDP
  std::array<std::atomic<std::uint64_t>, kActionKindCount> actions{};
  std::atomic<std::int64_t> inflight{0};

  void count_action(ActionKind kind) noexcept {
    actions[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  // A query sent upstream at `now_ms`: the counter and the rate window.
  void count_forwarded(std::int64_t now_ms) noexcept;
  // A query received at `now_ms` (before any fault acts on it): the counters and the rate window.
  void count_received(std::int64_t now_ms, bool tcp) noexcept;

  // Schedule progress (loop thread writes, any thread reads).
  void schedule_started(std::int64_t unix_ms, std::size_t entries, bool endless);
  void schedule_switched(ScheduleSwitch change);

  // The GET /stats document. `rules_version` is the RuleStore's.
  nlohmann::json to_json(std::int64_t now_ms, std::uint64_t rules_version) const;

 private:
  static constexpr std::size_t kMaxSwitchLog = 256;

  std::int64_t start_ms_;
  RateWindow upstream_rate_;
  RateWindow received_rate_;
  mutable std::mutex schedule_mutex_;
  bool schedule_active_ = false;
  bool schedule_endless_ = false;
  std::size_t schedule_entries_ = 0;
  std::int64_t schedule_started_unix_ms_ = 0;
  std::uint64_t schedule_switch_count_ = 0;
  std::deque<ScheduleSwitch> switches_;  // the most recent kMaxSwitchLog
};

}  // namespace holdfast::dnsfault
