// System clock implementation.
#include "base/clock.h"

#include <chrono>

namespace holdfast {

std::int64_t SystemClock::wall_seconds() const noexcept {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SystemClock::monotonic_ms() const noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace holdfast
