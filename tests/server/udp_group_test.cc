// One address's sockets across loops (server/udp_group.h): a loop that has read its own socket
// empty answers the clients of a loop that does not run; it leaves alone a loop that keeps up;
// it never reads a socket its loop has closed (nor whatever socket got its descriptor next).
#include "server/udp_group.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "server/router.h"
#include "server/udp_echo.h"
#include "server/udp_listener.h"

namespace holdfast::server {
namespace {

// Past UdpGroup::kLookNs: another loop may take a look at a socket nobody read since.
void wait_past_look() {
  std::this_thread::sleep_for(std::chrono::nanoseconds(UdpGroup::kLookNs) +
                              std::chrono::milliseconds(2));
}

// Two loops' sockets on one address, run by hand in this thread: `a_` (the group's first member,
// index 0) and `b_` (index 1), which only runs when a test says so.
class UdpGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_a_);
    uv_loop_init(&loop_b_);
    a_ = std::make_unique<UdpListener>(&loop_a_, echo_a_, router_);
    ASSERT_TRUE(a_->bind("127.0.0.1", 0));
    b_ = std::make_unique<UdpListener>(&loop_b_, echo_b_, router_);
    ASSERT_TRUE(b_->join(*a_));
    ASSERT_TRUE(client_.connect_to(a_->socket_fd()));
    uv_run(&loop_a_, UV_RUN_NOWAIT);  // both sockets in their loops' epoll sets
    uv_run(&loop_b_, UV_RUN_NOWAIT);
  }
  void TearDown() override {
    a_->close();
    b_->close();
    uv_run(&loop_a_, UV_RUN_NOWAIT);
    uv_run(&loop_b_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_a_), 0);
    EXPECT_EQ(uv_loop_close(&loop_b_), 0);
  }

  // Datagrams numbered from..from+count-1, all to the member at `index`.
  void send_to_member(std::uint32_t index, int from, int count) {
    ASSERT_TRUE(a_->steer(index));
    client_.send_numbered(from, count);
  }
  std::vector<int> receive_all() { return client_.receive_all(); }
  void run_a(int turns) {
    for (int i = 0; i < turns; ++i) uv_run(&loop_a_, UV_RUN_NOWAIT);
  }

  uv_loop_t loop_a_{};
  uv_loop_t loop_b_{};
  Echo echo_a_;
  Echo echo_b_;
  Router router_{"dns://127.0.0.1:0"};
  std::unique_ptr<UdpListener> a_;
  std::unique_ptr<UdpListener> b_;
  NumberedClient client_;
};

TEST_F(UdpGroupTest, ALoopAnswersTheClientsOfALoopThatDoesNotRun) {
  // b's loop never runs again: its core is taken. 200 queries wait in its socket.
  send_to_member(1, 0, 200);
  wait_past_look();
  // One query for a: after it, a looks at b's socket (unread for longer than kLookNs), finds a
  // full batch, and keeps reading it turn after turn until it is empty.
  send_to_member(0, 1000, 1);
  run_a(8);
  EXPECT_EQ(echo_b_.handled, 0);
  EXPECT_EQ(echo_a_.handled, 201);
  EXPECT_EQ(a_->counters().helped, 200u);
  EXPECT_FALSE(a_->busy()) << "b's socket is empty: a must not spin";
  const std::vector<int> got = receive_all();
  ASSERT_EQ(got.size(), 201u);
  EXPECT_EQ(got.front(), 1000);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i) + 1], i);

  // More of b's clients ask, and none of a's: a's look timer still finds them (b was behind a
  // moment ago), without a query of its own to wake it.
  send_to_member(1, 300, 5);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (echo_a_.handled < 206 && std::chrono::steady_clock::now() < until) {
    uv_run(&loop_a_, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(echo_a_.handled, 206);
  EXPECT_EQ(a_->counters().helped, 205u);
  EXPECT_EQ(receive_all(), (std::vector<int>{300, 301, 302, 303, 304}));
}

TEST_F(UdpGroupTest, ALoopThatKeepsUpIsLeftAlone) {
  send_to_member(1, 0, 1);
  uv_run(&loop_b_, UV_RUN_NOWAIT);  // b reads its socket: short batch, read just now
  ASSERT_EQ(echo_b_.handled, 1);
  send_to_member(1, 1, 10);
  send_to_member(0, 1000, 1);
  run_a(2);
  EXPECT_EQ(echo_a_.handled, 1);
  EXPECT_EQ(a_->counters().helped, 0u);
  uv_run(&loop_b_, UV_RUN_NOWAIT);
  EXPECT_EQ(echo_b_.handled, 11);
  EXPECT_EQ(receive_all().size(), 12u);
}

TEST_F(UdpGroupTest, ALoopThatFallsBehindIsHelpedAtOnce) {
  // b's wake-up reads 8 full batches and its socket is still not empty: it is behind (and then
  // does not get the CPU again). a helps at once, without waiting kLookNs, while it finds some.
  constexpr int kWake = 8 * static_cast<int>(UdpListener::kBatch);
  send_to_member(1, 0, kWake + 88);
  uv_run(&loop_b_, UV_RUN_NOWAIT);
  ASSERT_EQ(echo_b_.handled, kWake);
  send_to_member(0, 1000, 1);
  run_a(4);
  EXPECT_EQ(a_->counters().helped, 88u);
  EXPECT_EQ(echo_a_.handled, 89);
  EXPECT_FALSE(a_->busy());
  EXPECT_EQ(receive_all().size(), static_cast<std::size_t>(kWake + 89));
}

TEST_F(UdpGroupTest, ASocketItsLoopClosedIsNeverRead) {
  const int old_fd = b_->socket_fd();
  b_->close();
  uv_run(&loop_b_, UV_RUN_NOWAIT);  // the close callback closes the descriptor
  // Another socket takes b's old descriptor number, and a datagram waits in it.
  const int other = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(other, 0);
  if (other != old_fd) {
    ASSERT_EQ(::dup2(other, old_fd), old_fd);
    ::close(other);
  }
  sockaddr_in other_address{};
  other_address.sin_family = AF_INET;
  other_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(old_fd, reinterpret_cast<sockaddr*>(&other_address), sizeof other_address), 0);
  socklen_t length = sizeof other_address;
  ASSERT_EQ(::getsockname(old_fd, reinterpret_cast<sockaddr*>(&other_address), &length), 0);
  const std::uint32_t secret = htonl(77);
  ASSERT_EQ(::sendto(client_.fd(), &secret, sizeof secret, 0,
                     reinterpret_cast<sockaddr*>(&other_address), sizeof other_address),
            static_cast<ssize_t>(sizeof secret));
  wait_past_look();
  send_to_member(0, 1000, 1);
  run_a(2);
  EXPECT_EQ(echo_a_.handled, 1);
  EXPECT_EQ(a_->counters().helped, 0u);
  std::uint32_t n = 0;
  EXPECT_EQ(::recv(old_fd, &n, sizeof n, 0), static_cast<ssize_t>(sizeof n))
      << "a read a socket that is not in its group";
  EXPECT_EQ(ntohl(n), 77u);
  ::close(old_fd);
}

TEST(UdpGroupMember, NoOtherLoopIsInsideOnceRetireReturns) {
  UdpGroup group;
  UdpGroup::Member& member = *group.add(-1, 0);
  std::atomic<bool> inside{false};
  std::atomic<bool> stop{false};
  std::atomic<int> entered_after_retire{0};
  std::atomic<bool> retired{false};
  std::thread reader([&] {
    while (!stop.load()) {
      if (!member.enter()) continue;
      if (retired.load()) entered_after_retire.fetch_add(1);
      inside.store(true);
      std::this_thread::yield();
      inside.store(false);
      member.leave();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  member.retire();
  retired.store(true);
  EXPECT_FALSE(inside.load()) << "retire() returned while a reader was inside";
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.store(true);
  reader.join();
  EXPECT_EQ(entered_after_retire.load(), 0);
  EXPECT_TRUE(member.retired());
  EXPECT_FALSE(member.enter());
}

}  // namespace
}  // namespace holdfast::server
