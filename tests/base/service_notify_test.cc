// ServiceNotifier against a fake service manager: a unix datagram socket this test binds and
// names in NOTIFY_SOCKET, as systemd does for a Type=notify unit.
#include "base/service_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace holdfast {
namespace {

class FakeServiceManager {
 public:
  FakeServiceManager() {
    path_ = (std::filesystem::temp_directory_path() /
             ("holdfast-notify-" + std::to_string(::getpid()) + ".sock"))
                .string();
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeServiceManager() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // The next datagram, or "" when none comes within `timeout_ms`.
  std::string receive(int timeout_ms = 1000) const {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, timeout_ms) != 1) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceNotifier, SendsReadyWithAOneLineStatus) {
  FakeServiceManager manager;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier notifier(&loop);
  EXPECT_TRUE(notifier.enabled());
  notifier.ready("1 zone block(s) on 127.0.0.1:53\nsecond line");
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=1 zone block(s) on 127.0.0.1:53 second line");
  notifier.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(ServiceNotifier, SendsReloadingThenStopping) {
  FakeServiceManager manager;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier notifier(&loop);
  notifier.reloading("reloading");
  EXPECT_EQ(manager.receive(), "RELOADING=1\nSTATUS=reloading");
  notifier.stopping("draining");
  EXPECT_EQ(manager.receive(), "STOPPING=1\nSTATUS=draining");
  uv_loop_close(&loop);
}

TEST(ServiceNotifier, KeepsTheWatchdogFedFromTheLoopAtHalfThePeriod) {
  FakeServiceManager manager;
  ::setenv("WATCHDOG_USEC", "40000", 1);  // 40 ms: keep-alives every 20 ms
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier notifier(&loop);
  EXPECT_EQ(notifier.start_watchdog(), 20'000u);
  EXPECT_EQ(manager.receive(), "WATCHDOG=1");  // one at once
  // The timer does not hold the loop open: a helper timer keeps it turning for 70 ms.
  uv_timer_t stop;
  uv_timer_init(&loop, &stop);
  uv_timer_start(
      &stop, [](uv_timer_t*) noexcept {}, 70, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  int keep_alives = 0;
  while (manager.receive(0) == "WATCHDOG=1") ++keep_alives;
  EXPECT_GE(keep_alives, 2);
  notifier.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&stop), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(ServiceNotifier, NoWatchdogForAnotherProcess) {
  FakeServiceManager manager;
  ::setenv("WATCHDOG_USEC", "40000", 1);
  ::setenv("WATCHDOG_PID", "1", 1);  // systemd meant someone else
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier notifier(&loop);
  EXPECT_EQ(notifier.start_watchdog(), 0u);
  EXPECT_EQ(manager.receive(50), "");
  uv_loop_close(&loop);
}

TEST(ServiceNotifier, DoesNothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier notifier(&loop);
  EXPECT_FALSE(notifier.enabled());
  notifier.ready("ignored");
  EXPECT_EQ(notifier.start_watchdog(), 0u);
  uv_loop_close(&loop);
}

}  // namespace
}  // namespace holdfast
