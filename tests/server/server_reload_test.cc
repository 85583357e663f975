// Server::reload on a real loop: a kept zone keeps its memory cache, a new port answers, a removed
// one stops, a reload that cannot bind changes nothing, and every handle closes at shutdown.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "server/server.h"

namespace holdfast::server {
namespace {

bool bindable(int type, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A port free for UDP and TCP on 127.0.0.1, reserved for this process the way the integration
// tests reserve theirs (tests/integration/processes.py: a lock file per port), and below the
// ephemeral range, where another test's outgoing connection could take it meanwhile.
std::uint16_t free_port() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/holdfast-test-ports";
  ::mkdir(dir.c_str(), 0777);
  static std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 500; ++attempt) {
    const auto port =
        static_cast<std::uint16_t>(std::uniform_int_distribution<>(20000, 32000)(random));
    const int lock = ::open((dir + "/" + std::to_string(port) + ".lock").c_str(),
                            O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    if (lock < 0) continue;
    if (::flock(lock, LOCK_EX | LOCK_NB) == 0 && bindable(SOCK_DGRAM, port) &&
        bindable(SOCK_STREAM, port)) {
      return port;  // the lock stays held until the test binary exits
    }
    ::close(lock);
  }
  ADD_FAILURE() << "no free port";
  return 0;
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

// A UDP socket on 127.0.0.1 that plays the upstream by hand.
class FakeUpstream {
 public:
  FakeUpstream() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~FakeUpstream() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

  // The next query, if one has arrived.
  bool receive() {
    std::uint8_t buffer[512];
    socklen_t len = sizeof from_;
    const ssize_t n =
        ::recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from_), &len);
    if (n < 12) return false;
    query_.assign(buffer, buffer + n);
    ++received_;
    return true;
  }
  // Answers the last query: its question and one A record, 192.0.2.1, TTL 300.
  void answer() {
    std::size_t end = 12;
    while (query_[end] != 0) end += 1 + query_[end];
    end += 1 + 4;
    std::vector<std::uint8_t> reply(query_.begin(), query_.begin() + end);
    reply[2] |= 0x80;                                                         // QR
    reply[3] = 0x80;                                                          // RA, NOERROR
    reply[7] = 1;                                                             // ANCOUNT 1
    reply[10] = reply[11] = 0;                                                // ARCOUNT 0
    const std::uint8_t record[] = {0xc0, 12, 0,   1, 0, 1, 0, 0, 0x01, 0x2c,  // name, A IN 300
                                   0,    4,  192, 0, 2, 1};                   // 192.0.2.1
    reply.insert(reply.end(), std::begin(record), std::end(record));
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from_), sizeof from_);
  }
  int received() const { return received_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  sockaddr_in from_{};
  std::vector<std::uint8_t> query_;
  int received_ = 0;
};

std::string forwarding(std::uint16_t port, std::uint16_t upstream) {
  return "example.net:" + std::to_string(port) +
         " {\n    bind 127.0.0.1\n    forward . 127.0.0.1:" + std::to_string(upstream) +
         "\n    cache 30\n    persist off\n}\n";
}

TEST_F(ServerReload, AQueryInFlightFinishesOnTheOldZoneAndFillsTheKeptCache) {
  FakeUpstream old_upstream;
  FakeUpstream new_upstream;
  const std::uint16_t port = free_port();
  start(forwarding(port, old_upstream.port()));

  const int client = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  ::sendto(client, kQuery.data(), kQuery.size(), 0, reinterpret_cast<sockaddr*>(&addr),
           sizeof addr);
  for (int i = 0; i < 500 && !old_upstream.receive(); ++i) run_for(1);
  ASSERT_EQ(old_upstream.received(), 1);
  EXPECT_EQ(server_->pipeline().flights_in_air(), 1u);

  ASSERT_TRUE(server_->reload(parse(forwarding(port, new_upstream.port()))));
  run_for(50);
  EXPECT_EQ(server_->retired_generations(), 1u) << "retired while its flight is in the air";
  old_upstream.answer();
  std::optional<int> ancount;
  for (int i = 0; i < 500 && !ancount; ++i) {
    run_for(1);
    std::uint8_t reply[512];
    if (::recv(client, reply, sizeof reply, 0) >= 12) ancount = reply[7];
  }
  ::close(client);
  EXPECT_EQ(ancount, 1);
  run_for(100);
  EXPECT_EQ(server_->retired_generations(), 0u);
  // The answer went into the cache the new zone reads: no upstream is asked again.
  EXPECT_EQ(server_->zones()[0]->cache->size(), 1u);
  EXPECT_EQ(ask(port), 0);
  run_for(20);
  EXPECT_FALSE(new_upstream.receive());
  EXPECT_FALSE(old_upstream.receive());
}

TEST_F(ServerReload, AFlightOutlivingTheDrainTimeoutIsCancelledBeforeItsZoneIsFreed) {
  FakeUpstream silent;
  FakeUpstream other;
  const std::uint16_t port = free_port();
  start(forwarding(port, silent.port()));
  const int client = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  ::sendto(client, kQuery.data(), kQuery.size(), 0, reinterpret_cast<sockaddr*>(&addr),
           sizeof addr);
  for (int i = 0; i < 500 && !silent.receive(); ++i) run_for(1);
  ASSERT_TRUE(server_->reload(parse(forwarding(port, other.port()))));
  std::optional<int> rcode;
  for (int i = 0; i < 1000 && !rcode; ++i) {
    run_for(1);
    std::uint8_t reply[512];
    if (::recv(client, reply, sizeof reply, 0) >= 12) rcode = reply[3] & 0x0f;
  }
  ::close(client);
  EXPECT_EQ(rcode, 2);  // drain_timeout (200 ms) passed: cancelled, nothing stale: SERVFAIL
  run_for(50);
  EXPECT_EQ(server_->retired_generations(), 0u);
  EXPECT_EQ(server_->pipeline().flights_in_air(), 0u);
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
