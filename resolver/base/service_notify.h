// The systemd service-manager protocol (sd_notify): READY/RELOADING/STOPPING/STATUS messages and
// the watchdog keep-alive. Every call is a no-op when NOTIFY_SOCKET is unset (not under systemd).
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace holdfast {

// Loop-bound: construct, call and close on the loop that runs the daemon. libsystemd's
// sd_notify() reads NOTIFY_SOCKET at every call, so the environment stays as it was.
class ServiceNotifier {
 public:
  explicit ServiceNotifier(uv_loop_t* loop);
  ~ServiceNotifier() = default;
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // True when a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const noexcept;

  // READY=1 with a one-line STATUS=: the listeners are bound and the store is open.
  void ready(std::string_view status) noexcept;
  // RELOADING=1 before a configuration reload; follow it with ready() when it is done.
  void reloading(std::string_view status) noexcept;
  // STOPPING=1: the drain has begun.
  void stopping(std::string_view status) noexcept;
  void status(std::string_view status) noexcept;

  // When the unit sets WatchdogSec= (WATCHDOG_USEC for this PID): WATCHDOG=1 from a loop timer
  // every half period, so a wedged loop is what stops the keep-alives. The timer never holds the
  // loop open. Returns the interval in microseconds, 0 when no watchdog is asked for.
  std::uint64_t start_watchdog() noexcept;
  // Stops the timer; the object must outlive the loop run that follows (close callback).
  void close() noexcept;

 private:
  void send(const std::string& message) noexcept;
  static void on_watchdog(uv_timer_t* timer) noexcept;

  uv_loop_t* loop_;
  uv_timer_t watchdog_timer_{};
  bool timer_open_ = false;
};

}  // namespace holdfast
