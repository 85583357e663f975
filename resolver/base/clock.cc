// System clock implementation.
#include "base/clock.h"

#include <ctime>

#include <chrono>

namespace holdfast {

std::int64_t SystemClock::wall_seconds() const noexcept {
  // Whole seconds only, so the coarse clock (the time of the last tick, a few ms behind at most):
  // it is read on every cache lookup, and reading it costs a load where CLOCK_REALTIME reads the
  // CPU's time-stamp counter and scales it.
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return static_cast<std::int64_t>(now.tv_sec);
}

std::int64_t SystemClock::monotonic_ms() const noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace holdfast
