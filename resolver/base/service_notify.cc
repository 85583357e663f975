// sd_notify() messages and the watchdog timer (see service_notify.h).
#include "base/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace holdfast {
namespace {

// STATUS= is one line: a newline would start another assignment.
std::string status_field(std::string_view status) {
  std::string line = "STATUS=";
  for (char c : status) line.push_back(c == '\n' ? ' ' : c);
  return line;
}

}  // namespace

ServiceNotifier::ServiceNotifier(uv_loop_t* loop) : loop_(loop) {}

bool ServiceNotifier::enabled() const noexcept {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void ServiceNotifier::send(const std::string& message) noexcept {
  // unset_environment = 0: the variables stay for the next message and the watchdog.
  const int rc = sd_notify(0, message.c_str());
  if (rc < 0) spdlog::warn("sd_notify: {}", std::strerror(-rc));
}

void ServiceNotifier::ready(std::string_view status) noexcept {
  if (enabled()) send("READY=1\n" + status_field(status));
}

void ServiceNotifier::reloading(std::string_view status) noexcept {
  if (enabled()) send("RELOADING=1\n" + status_field(status));
}

void ServiceNotifier::stopping(std::string_view status) noexcept {
  if (enabled()) send("STOPPING=1\n" + status_field(status));
}

void ServiceNotifier::status(std::string_view status) noexcept {
  if (enabled()) send(status_field(status));
}

std::uint64_t ServiceNotifier::start_watchdog() noexcept {
  std::uint64_t period_usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (timer_open_ || sd_watchdog_enabled(0, &period_usec) <= 0 || period_usec == 0) return 0;
  const std::uint64_t interval_ms = period_usec / 2 / 1000 > 0 ? period_usec / 2 / 1000 : 1;
  uv_timer_init(loop_, &watchdog_timer_);
  watchdog_timer_.data = this;
  timer_open_ = true;
  uv_timer_start(&watchdog_timer_, &ServiceNotifier::on_watchdog, interval_ms, interval_ms);
  uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog_timer_));
  send("WATCHDOG=1");
  return interval_ms * 1000;
}

void ServiceNotifier::on_watchdog(uv_timer_t* timer) noexcept {
  static_cast<ServiceNotifier*>(timer->data)->send("WATCHDOG=1");
}

void ServiceNotifier::close() noexcept {
  if (!timer_open_) return;
  timer_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_timer_), nullptr);
}

}  // namespace holdfast
