// The UDP listener under a flood: out of the loop's epoll set while the socket stays full (every
// reply of a socket in an epoll set wakes the set's wait queue), back in it when the socket comes
// up short, nothing lost or reordered on the way, and the loop's other handles still run.
#include "server/udp_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "server/router.h"
#include "server/udp_echo.h"

namespace holdfast::server {
namespace {

// The file descriptors registered in the epoll instance `epoll_fd` (its /proc fdinfo).
std::set<int> epoll_targets(int epoll_fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(epoll_fd));
  std::set<int> fds;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("tfd:", 0) != 0) continue;
    std::istringstream words(line.substr(4));
    int fd = -1;
    words >> fd;
    fds.insert(fd);
  }
  return fds;
}

class UdpListenerFlood : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    listener_ = std::make_unique<UdpListener>(&loop_, echo_, router_);
    ASSERT_TRUE(listener_->bind("127.0.0.1", 0));
    ASSERT_TRUE(client_.connect_to(listener_->socket_fd()));
  }
  void TearDown() override {
    listener_->close();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  void send_numbered(int from, int count) { client_.send_numbered(from, count); }
  std::vector<int> receive_all() { return client_.receive_all(); }
  bool polled() { return epoll_targets(uv_backend_fd(&loop_)).count(listener_->socket_fd()) > 0; }

  uv_loop_t loop_{};
  Echo echo_;
  Router router_{"dns://127.0.0.1:0"};
  std::unique_ptr<UdpListener> listener_;
  NumberedClient client_;
};

constexpr int kFullWake = 8 * static_cast<int>(UdpListener::kBatch);  // kBatchesPerWake batches

TEST_F(UdpListenerFlood, AFullSocketLeavesEpollAndAShortBatchPutsItBack) {
  uv_run(&loop_, UV_RUN_NOWAIT);  // registers the socket
  ASSERT_TRUE(polled());
  EXPECT_FALSE(listener_->busy());

  // More than one wake-up reads: the socket is still full after it.
  send_numbered(0, 2 * kFullWake + 10);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(echo_.handled, kFullWake);
  EXPECT_TRUE(listener_->busy());
  EXPECT_FALSE(polled()) << "a busy socket must be out of the epoll set";
  EXPECT_EQ(listener_->counters().busy_entries, 1u);

  // The next turns read it from the idle handle; the first short batch ends busy mode.
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(echo_.handled, 2 * kFullWake);
  EXPECT_TRUE(listener_->busy());
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(echo_.handled, 2 * kFullWake + 10);
  EXPECT_FALSE(listener_->busy());
  uv_run(&loop_, UV_RUN_NOWAIT);  // libuv registers watchers at its next poll
  EXPECT_TRUE(polled());
  // Not spinning: with no timer, the loop would block in epoll_wait until the next datagram.
  EXPECT_EQ(uv_backend_timeout(&loop_), -1);

  // Nothing lost, nothing reordered.
  const std::vector<int> got = receive_all();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(2 * kFullWake + 10));
  for (int i = 0; i < static_cast<int>(got.size()); ++i) ASSERT_EQ(got[i], i);

  // Back in the epoll set, the next datagram wakes the loop as before.
  send_numbered(5000, 1);
  uv_run(&loop_, UV_RUN_ONCE);
  EXPECT_EQ(echo_.handled, 2 * kFullWake + 11);
  EXPECT_EQ(receive_all(), std::vector<int>{5000});
  EXPECT_EQ(listener_->counters().busy_entries, 1u);
}

TEST_F(UdpListenerFlood, TimersStillRunWhileTheSocketIsBusy) {
  uv_run(&loop_, UV_RUN_NOWAIT);
  send_numbered(0, 4 * kFullWake);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(listener_->busy());

  uv_timer_t timer;
  uv_timer_init(&loop_, &timer);
  int fired = 0;
  timer.data = &fired;
  uv_timer_start(
      &timer, [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 0, 0);
  // Between two busy reads the loop runs its timers: the flood does not starve them.
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(listener_->busy());
  EXPECT_EQ(echo_.handled, 2 * kFullWake);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  for (int i = 0; i < 4 && listener_->busy(); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(listener_->busy());
  EXPECT_EQ(receive_all().size(), static_cast<std::size_t>(4 * kFullWake));
}

TEST_F(UdpListenerFlood, StoppingABusyListenerAnswersWhatWaitsAndLeavesBusyMode) {
  uv_run(&loop_, UV_RUN_NOWAIT);
  send_numbered(0, 3 * kFullWake);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(listener_->busy());
  listener_->stop();
  EXPECT_FALSE(listener_->busy());
  EXPECT_EQ(echo_.handled, 3 * kFullWake);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(polled());
  EXPECT_EQ(receive_all().size(), static_cast<std::size_t>(3 * kFullWake));
}

}  // namespace
}  // namespace holdfast::server
