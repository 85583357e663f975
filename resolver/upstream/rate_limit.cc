// Token bucket + sliding window admission.
#include "upstream/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace holdfast::upstream {

RateLimit::RateLimit(const LimitOptions& options)
    : options_(options), tokens_(static_cast<double>(std::max(1, options.burst))) {}

void RateLimit::advance(std::int64_t now_ms) noexcept {
  if (refilled_at_ms_ < 0) refilled_at_ms_ = now_ms;
  const double elapsed_s = static_cast<double>(now_ms - refilled_at_ms_) / 1000.0;
  if (elapsed_s > 0) {
    tokens_ = std::min(static_cast<double>(std::max(1, options_.burst)),
                       tokens_ + elapsed_s * options_.qps);
    refilled_at_ms_ = now_ms;
  }
  const std::int64_t epoch = now_ms / (1000 / kSlots);
  if (slot_epoch_ < 0) slot_epoch_ = epoch;
  // Clear the slots that fell out of the window since the last call.
  for (std::int64_t e = slot_epoch_ + 1; e <= epoch && e <= slot_epoch_ + kSlots; ++e) {
    slots_[static_cast<std::size_t>(e % kSlots)] = 0;
  }
  slot_epoch_ = std::max(slot_epoch_, epoch);
}

int RateLimit::window_count() const noexcept {
  int sum = 0;
  for (int n : slots_) sum += n;
  return sum;
}

bool RateLimit::would_admit(std::int64_t now_ms, std::size_t inflight) noexcept {
  advance(now_ms);
  return inflight < static_cast<std::size_t>(options_.max_inflight) && tokens_ >= 1.0 &&
         window_count() < options_.qps;
}

std::int64_t RateLimit::next_admit_ms(std::int64_t now_ms) noexcept {
  advance(now_ms);
  std::int64_t at = now_ms;
  if (tokens_ < 1.0) {
    const double wait_ms = (1.0 - tokens_) * 1000.0 / std::max(1, options_.qps);
    at = std::max(at, now_ms + static_cast<std::int64_t>(std::ceil(wait_ms)));
  }
  if (window_count() >= options_.qps) {
    // Room comes back when the oldest non-empty slot leaves the window.
    for (std::int64_t e = slot_epoch_ - kSlots + 1; e <= slot_epoch_; ++e) {
      if (e >= 0 && slots_[static_cast<std::size_t>(e % kSlots)] > 0) {
        at = std::max(at, (e + kSlots) * (1000 / kSlots));
        break;
      }
    }
  }
  return at;
}

bool RateLimit::try_acquire(std::int64_t now_ms, std::size_t inflight) noexcept {
  if (!would_admit(now_ms, inflight)) return false;
  tokens_ -= 1.0;
  ++slots_[static_cast<std::size_t>(slot_epoch_ % kSlots)];
  return true;
}

}  // namespace holdfast::upstream
