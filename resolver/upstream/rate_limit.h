// Upstream admission limits for one forwarder group: a token bucket (burst), a sliding
// one-second window (qps, never exceeded in any second) and a bound on queries in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/config.h"

namespace holdfast::upstream {

struct LimitOptions {
  // Defaults: the Corefile's (config::UpstreamLimits), defined there once.
  int max_inflight = config::UpstreamLimits{}.max_inflight;
  int qps = config::UpstreamLimits{}.qps;
  int burst = config::UpstreamLimits{}.burst;
};

// Loop-bound; times are monotonic milliseconds passed in by the caller (tests move them).
class RateLimit {
 public:
  explicit RateLimit(const LimitOptions& options);

  // True, taking a token and counting the query in the one-second window, when a query may go
  // upstream now with `inflight` already in the air. The window is exact: no interval of one
  // second ever holds more than `qps` admissions (the times of the last `qps` are kept), so an
  // upstream counting by its own clock sees at most qps a second, give or take the delivery
  // delay's jitter.
  bool try_acquire(std::int64_t now_ms, std::size_t inflight) noexcept;
  // True when try_acquire would succeed (for deciding, without taking anything).
  bool would_admit(std::int64_t now_ms, std::size_t inflight) noexcept;

  // The earliest time at or after `now_ms` when a token and room in the one-second window are
  // both there (ignoring the in-flight bound, which frees when an answer comes).
  std::int64_t next_admit_ms(std::int64_t now_ms) noexcept;

  const LimitOptions& options() const noexcept { return options_; }

 private:
  void refill(std::int64_t now_ms) noexcept;
  // True when `qps` admissions fall in the second before now_ms.
  bool window_full(std::int64_t now_ms) const noexcept;

  LimitOptions options_;
  double tokens_;
  std::int64_t refilled_at_ms_ = -1;
  // The last `qps` admission times, a ring: admitted_[next_] is the oldest once it is full.
  std::vector<std::int64_t> admitted_;
  std::size_t next_ = 0;
};

}  // namespace holdfast::upstream
