// Clocks behind an interface so tests can move time without sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace holdfast {

// Wall clock in whole seconds (cache store times survive restarts) and a monotonic clock in
// milliseconds (timeouts, rate limits). Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t wall_seconds() const noexcept = 0;
  virtual std::int64_t monotonic_ms() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t wall_seconds() const noexcept override;
  std::int64_t monotonic_ms() const noexcept override;
};

// A clock that only moves when told to. For tests; the store's writer thread reads it while the
// test moves it, hence the atomics.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t wall_seconds = 1'700'000'000, std::int64_t monotonic_ms = 0)
      : wall_seconds_(wall_seconds), monotonic_ms_(monotonic_ms) {}
  std::int64_t wall_seconds() const noexcept override { return wall_seconds_.load(); }
  std::int64_t monotonic_ms() const noexcept override { return monotonic_ms_.load(); }
  void advance_seconds(std::int64_t seconds) noexcept {
    wall_seconds_ += seconds;
    monotonic_ms_ += seconds * 1000;
  }
  void set_wall_seconds(std::int64_t seconds) noexcept { wall_seconds_ = seconds; }

 private:
  std::atomic<std::int64_t> wall_seconds_;
  std::atomic<std::int64_t> monotonic_ms_;
};

}  // namespace holdfast
