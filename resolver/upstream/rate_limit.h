// Upstream admission limits for one forwarder group: a token bucket (burst), a sliding
// one-second window (qps, never exceeded in any second) and a bound on queries in flight.
#pragma once

#include <array>
#include <cstdint>

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

  // True, taking a token and counting the query in this second's window, when a query may go
  // upstream now with `inflight` already in the air.
  bool try_acquire(std::int64_t now_ms, std::size_t inflight) noexcept;
  // True when try_acquire would succeed (for deciding, without taking anything).
  bool would_admit(std::int64_t now_ms, std::size_t inflight) noexcept;

  // The earliest time at or after `now_ms` when a token and room in the one-second window are
  // both there (ignoring the in-flight bound, which frees when an answer comes).
  std::int64_t next_admit_ms(std::int64_t now_ms) noexcept;

  const LimitOptions& options() const noexcept { return options_; }

 private:
  static constexpr int kSlots = 10;  // 100 ms each
  void advance(std::int64_t now_ms) noexcept;
  int window_count() const noexcept;

  LimitOptions options_;
  double tokens_;
  std::int64_t refilled_at_ms_ = -1;
  std::array<int, kSlots> slots_{};
  std::int64_t slot_epoch_ = -1;  // index (now_ms / 100) of the newest slot
};

}  // namespace holdfast::upstream
