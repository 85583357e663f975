// A UDP listener's tests without DNS: a handler that sends each datagram back, and a client
// that sends numbered datagrams (4-byte big-endian counters) and collects the echoes.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "server/query_handler.h"

namespace holdfast::server {

class Echo final : public QueryHandler {
 public:
  void handle(dns::Bytes packet, const ClientRef& client) noexcept override {
    ++handled;
    client.sink->send_reply(client, packet);
  }
  int handled = 0;
};

class NumberedClient {
 public:
  NumberedClient() = default;
  ~NumberedClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  NumberedClient(const NumberedClient&) = delete;
  NumberedClient& operator=(const NumberedClient&) = delete;

  // A non-blocking socket connected to the address `listener_fd` is bound to, with room for a
  // few thousand echoes.
  ::testing::AssertionResult connect_to(int listener_fd) {
    sockaddr_in server{};
    socklen_t length = sizeof server;
    if (::getsockname(listener_fd, reinterpret_cast<sockaddr*>(&server), &length) != 0) {
      return ::testing::AssertionFailure() << "getsockname";
    }
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return ::testing::AssertionFailure() << "socket";
    const int bytes = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
      return ::testing::AssertionFailure() << "connect";
    }
    return ::testing::AssertionSuccess();
  }
  // Datagrams numbered from..from+count-1.
  void send_numbered(int from, int count) {
    for (int i = from; i < from + count; ++i) {
      const std::uint32_t n = htonl(static_cast<std::uint32_t>(i));
      ASSERT_EQ(::send(fd_, &n, sizeof n, 0), static_cast<ssize_t>(sizeof n));
    }
  }
  // Every echo waiting, as the numbers sent.
  std::vector<int> receive_all() {
    std::vector<int> got;
    std::uint32_t n = 0;
    while (::recv(fd_, &n, sizeof n, 0) == static_cast<ssize_t>(sizeof n)) {
      got.push_back(static_cast<int>(ntohl(n)));
    }
    return got;
  }
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace holdfast::server
