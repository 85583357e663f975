// Token bucket + an exact one-second window of the last qps admission times.
#include "upstream/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace holdfast::upstream {

RateLimit::RateLimit(const LimitOptions& options)
    : options_(options), tokens_(static_cast<double>(std::max(1, options.burst))) {
  admitted_.reserve(static_cast<std::size_t>(std::max(1, options.qps)));
}

void RateLimit::refill(std::int64_t now_ms) noexcept {
  if (refilled_at_ms_ < 0) refilled_at_ms_ = now_ms;
  const double elapsed_s = static_cast<double>(now_ms - refilled_at_ms_) / 1000.0;
  if (elapsed_s > 0) {
    tokens_ = std::min(static_cast<double>(std::max(1, options_.burst)),
                       tokens_ + elapsed_s * options_.qps);
    refilled_at_ms_ = now_ms;
  }
}

bool RateLimit::window_full(std::int64_t now_ms) const noexcept {
  const auto qps = static_cast<std::size_t>(std::max(1, options_.qps));
  return admitted_.size() >= qps && now_ms - admitted_[next_] < 1000;
}

bool RateLimit::would_admit(std::int64_t now_ms, std::size_t inflight) noexcept {
  refill(now_ms);
  return inflight < static_cast<std::size_t>(options_.max_inflight) && tokens_ >= 1.0 &&
         !window_full(now_ms);
}

std::int64_t RateLimit::next_admit_ms(std::int64_t now_ms) noexcept {
  refill(now_ms);
  std::int64_t at = now_ms;
  if (tokens_ < 1.0) {
    const double wait_ms = (1.0 - tokens_) * 1000.0 / std::max(1, options_.qps);
    at = std::max(at, now_ms + static_cast<std::int64_t>(std::ceil(wait_ms)));
  }
  // Room comes back when the oldest of the last qps admissions is a second old.
  if (window_full(now_ms)) at = std::max(at, admitted_[next_] + 1000);
  return at;
}

bool RateLimit::try_acquire(std::int64_t now_ms, std::size_t inflight) noexcept {
  if (!would_admit(now_ms, inflight)) return false;
  tokens_ -= 1.0;
  const auto qps = static_cast<std::size_t>(std::max(1, options_.qps));
  if (admitted_.size() < qps) {
    admitted_.push_back(now_ms);  // within the reserved capacity: no allocation
  } else {
    admitted_[next_] = now_ms;
    next_ = (next_ + 1) % qps;
  }
  return true;
}

}  // namespace holdfast::upstream
