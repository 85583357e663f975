// Recent round-trip times and their 99th percentile.
#include "upstream/latency.h"

#include <algorithm>

namespace holdfast::upstream {

void LatencyTracker::add(std::int64_t rtt_ms) noexcept {
  samples_[next_] = std::max<std::int64_t>(0, rtt_ms);
  next_ = (next_ + 1) % kSamples;
  if (count_ < kSamples) ++count_;
  if (++since_recompute_ >= kRecomputeEvery || count_ == kMinSamples) recompute();
}

void LatencyTracker::recompute() noexcept {
  since_recompute_ = 0;
  std::array<std::int64_t, kSamples> sorted;
  std::copy_n(samples_.begin(), count_, sorted.begin());
  const std::size_t rank = std::min(count_ - 1, count_ * 99 / 100);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank),
                   sorted.begin() + static_cast<std::ptrdiff_t>(count_));
  p99_ms_ = sorted[rank];
}

std::int64_t LatencyTracker::stale_wait_ms(std::int64_t cap_ms) const noexcept {
  const std::int64_t p99 = p99_ms();
  if (p99 < 0) return cap_ms;
  return std::min(cap_ms, std::max(kStaleWaitFloorMs, kStaleWaitMultiple * p99));
}

std::int64_t LatencyTracker::silence_ms(std::int64_t cap_ms) const noexcept {
  const std::int64_t p99 = p99_ms();
  if (p99 < 0) return -1;
  return std::min(cap_ms, std::max(kSilenceFloorMs, kSilenceMultiple * p99));
}

std::int64_t LatencyTracker::hedge_ms(std::int64_t attempt_timeout_ms) const noexcept {
  const std::int64_t p99 = p99_ms();
  if (p99 < 0) return -1;
  const std::int64_t wait = std::max(kHedgeFloorMs, kHedgeMultiple * p99);
  return wait < attempt_timeout_ms ? wait : -1;
}

}  // namespace holdfast::upstream
