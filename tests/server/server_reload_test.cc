// Server::reload on a real loop: a kept zone keeps its memory cache, a new port answers, a removed
// one stops, a reload that cannot bind changes nothing, and every handle closes at shutdown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "server/server.h"

namespace holdfast::server {
namespace {

// A UDP port nobody uses right now on 127.0.0.1 (the kernel's pick, released at once).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string block(const std::string& zone, std::uint16_t port) {
  return zone + ":" + std::to_string(port) +
         " {\n    bind 127.0.0.1\n    cache 30\n    persist off\n}\n";
}

std::shared_ptr<const config::Config> parse(const std::string& text) {
  auto parsed = config::parse_corefile_text(text, "Corefile");
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return std::make_shared<const config::Config>(std::move(*parsed));
}

// "example.net. A IN", ID 0x1234, RD.
const std::vector<std::uint8_t> kQuery = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     // header
    7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'n',  'e',  't',  0,  // name
    0x00, 0x01, 0x00, 0x01};                                                    // A IN

class ServerReload : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    if (server_) {
      server_->shutdown();
      uv_run(&loop_, UV_RUN_DEFAULT);
      server_.reset();
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  void start(const std::string& text) {
    ServerOptions options;
    options.drain_timeout = std::chrono::milliseconds(200);
    server_ = std::make_unique<Server>(&loop_, parse(text), clock_, options);
    auto ok = server_->start();
    ASSERT_TRUE(ok) << ok.error().message;
  }

  // Turns the loop for about `ms`.
  void run_for(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Sends kQuery to 127.0.0.1:port and turns the loop until the reply's rcode comes back
  // (nullopt after 500 ms without one).
  std::optional<int> ask(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    ::sendto(fd, kQuery.data(), kQuery.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    std::optional<int> rcode;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (!rcode && std::chrono::steady_clock::now() < until) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::uint8_t reply[512];
      const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
      if (n >= 12) rcode = reply[3] & 0x0f;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::close(fd);
    return rcode;
  }

  uv_loop_t loop_{};
  SystemClock clock_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerReload, AKeptZoneKeepsItsCacheAndANewPortAnswers) {
  const std::uint16_t first = free_port();
  const std::uint16_t second = free_port();
  start(block("example.org", first));
  const cache::MemoryCache* cache = server_->zones()[0]->cache.get();

  auto plan = server_->reload(parse(block("example.org", first) + block("example.net", second)));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->zones_kept.size(), 1u);
  ASSERT_EQ(server_->zones().size(), 2u);
  EXPECT_EQ(server_->zones()[0]->cache.get(), cache);
  // No forward for example.net: SERVFAIL, from the new listener and the new zone.
  EXPECT_EQ(ask(second), 2);
  // example.net is no zone on the first port: REFUSED.
  EXPECT_EQ(ask(first), 5);
}

TEST_F(ServerReload, TheOldGenerationIsFreedOnceDrained) {
  const std::uint16_t port = free_port();
  start(block("example.org", port));
  ASSERT_TRUE(server_->reload(parse(block("example.org", port))));
  EXPECT_EQ(server_->retired_generations(), 1u);
  run_for(100);
  EXPECT_EQ(server_->retired_generations(), 0u);
}

TEST_F(ServerReload, ARemovedPortStopsAnswering) {
  const std::uint16_t first = free_port();
  const std::uint16_t second = free_port();
  start(block("example.org", first) + block("example.net", second));
  EXPECT_EQ(ask(second), 2);
  ASSERT_TRUE(server_->reload(parse(block("example.org", first))));
  run_for(100);
  EXPECT_EQ(ask(second), std::nullopt);
  EXPECT_EQ(ask(first), 5);
}

TEST_F(ServerReload, AReloadThatCannotBindChangesNothing) {
  const std::uint16_t first = free_port();
  const std::uint16_t taken = free_port();
  const int holder = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(taken);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  start(block("example.net", first));
  const cache::MemoryCache* cache = server_->zones()[0]->cache.get();
  auto plan = server_->reload(parse(block("example.net", first) + block("example.org", taken)));
  ::close(holder);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("cannot listen"), std::string::npos);
  ASSERT_EQ(server_->zones().size(), 1u);
  EXPECT_EQ(server_->zones()[0]->cache.get(), cache);
  EXPECT_EQ(ask(first), 2);
  run_for(100);
  EXPECT_EQ(server_->retired_generations(), 0u);
}

TEST_F(ServerReload, CacheSettingsChangeInPlace) {
  const std::uint16_t port = free_port();
  start(block("example.org", port));
  const cache::MemoryCache* cache = server_->zones()[0]->cache.get();
  ASSERT_TRUE(server_->reload(parse("example.org:" + std::to_string(port) +
                                    " {\n    bind 127.0.0.1\n    cache 30 {\n        success 64\n"
                                    "    }\n    persist off\n}\n")));
  EXPECT_EQ(server_->zones()[0]->cache.get(), cache);
  EXPECT_EQ(server_->zones()[0]->cache->options().success_capacity, 64u);
}

}  // namespace
}  // namespace holdfast::server
