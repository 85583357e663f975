// The round-trip times of one forwarder group's recent answers, and the waits derived from them:
// how long a client waits before its stale answer, and how long silence means "unresponsive".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace holdfast::upstream {

// Loop-bound. Keeps the last kSamples round-trip times (ms) and their 99th percentile,
// recomputed every kRecomputeEvery samples so a query never sorts.
class LatencyTracker {
 public:
  static constexpr std::size_t kSamples = 256;
  static constexpr std::size_t kRecomputeEvery = 16;
  // Fewer samples than this and the percentile means nothing: the callers fall back to their caps.
  static constexpr std::size_t kMinSamples = 16;

  // verify mode waits max(kStaleWaitFloorMs, kStaleWaitMultiple × p99) for a fresh answer, at most
  // client_timeout: long enough that an upstream answering at its usual speed is never
  // pre-empted by a stale answer, short enough that a dead one costs a client tens of ms.
  static constexpr std::int64_t kStaleWaitFloorMs = 20;
  static constexpr std::int64_t kStaleWaitMultiple = 4;
  // An upstream that has answered nothing for max(kSilenceFloorMs, kSilenceMultiple × p99) while
  // queries to it are outstanding is unresponsive (a stalled process, a blackhole), long before
  // its queries time out one by one.
  static constexpr std::int64_t kSilenceFloorMs = 100;
  static constexpr std::int64_t kSilenceMultiple = 10;
  // A question unanswered for max(kHedgeFloorMs, kHedgeMultiple × p99) was most likely lost on
  // the way (its query or its answer): a second copy then costs the client that wait instead of
  // the attempt timeout. Twice silence's figures: when several queries go unanswered, silence
  // finds a dead upstream before any of them is copied.
  static constexpr std::int64_t kHedgeFloorMs = 2 * kSilenceFloorMs;
  static constexpr std::int64_t kHedgeMultiple = 2 * kSilenceMultiple;

  void add(std::int64_t rtt_ms) noexcept;
  // The p99 of the kept samples, or -1 while there are fewer than kMinSamples.
  std::int64_t p99_ms() const noexcept { return count_ >= kMinSamples ? p99_ms_ : -1; }

  // min(cap, max(floor, multiple × p99)); `cap` while the p99 is unknown.
  std::int64_t stale_wait_ms(std::int64_t cap_ms) const noexcept;
  // max(floor, multiple × p99), at most `cap`; -1 (no silence detection) while the p99 is unknown.
  std::int64_t silence_ms(std::int64_t cap_ms) const noexcept;
  // max(floor, multiple × p99); -1 (no early copy) while the p99 is unknown or when that is not
  // under `attempt_timeout_ms` (the attempt's own end comes first).
  std::int64_t hedge_ms(std::int64_t attempt_timeout_ms) const noexcept;

 private:
  void recompute() noexcept;

  std::array<std::int64_t, kSamples> samples_{};
  std::size_t next_ = 0;
  std::size_t count_ = 0;
  std::size_t since_recompute_ = 0;
  std::int64_t p99_ms_ = 0;
};

}  // namespace holdfast::upstream
