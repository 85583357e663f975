// A warm cache hit allocates nothing: 10,000 hits through a real Server on a real loop (UDP in,
// memory cache, reply out) while every operator new and malloc/calloc/realloc of this process is
// counted. Its own executable: it replaces the global allocation functions.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "server/server.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};

void count() noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
}
}  // namespace

void* operator new(std::size_t size) {
  count();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  count();
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

// Not under ASan or TSan: their runtimes replace malloc themselves (under TSan this replacement
// made the binary crash at start, during gtest's test discovery).
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// C allocations too (libuv, c-ares, the C library): glibc's own entry points do the work.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}
extern "C" void* calloc(std::size_t n, std::size_t size) {
  count();
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, std::size_t size) {
  count();
  return __libc_realloc(p, size);
}
#endif

namespace holdfast::server {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in addr = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// "svc.example.net. A IN" with the given ID, RD, and an OPT record (EDNS 1232), as a pod sends.
std::vector<std::uint8_t> query(std::uint16_t id) {
  std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(id >> 8),
                                 static_cast<std::uint8_t>(id & 0xff),
                                 0x01,
                                 0x00,
                                 0x00,
                                 0x01,
                                 0x00,
                                 0x00,
                                 0x00,
                                 0x00,
                                 0x00,
                                 0x01};
  for (const char* label : {"svc", "example", "net"}) {
    q.push_back(static_cast<std::uint8_t>(std::string(label).size()));
    q.insert(q.end(), label, label + std::string(label).size());
  }
  q.insert(q.end(), {0, 0x00, 0x01, 0x00, 0x01});
  q.insert(q.end(), {0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});  // OPT, 1232, no options
  return q;
}

TEST(HitAllocations, TheCounterSeesCppAndCAllocations) {
  g_allocations = 0;
  g_counting = true;
  std::string* volatile text = new std::string(100, 'x');  // operator new, twice
  void* volatile block = std::malloc(64);
  g_counting = false;
  delete text;
  std::free(block);
  EXPECT_GE(g_allocations.load(), 2u);
}

// 10,000 warm hits through a Server whose block has `extra` directives; every allocation counted.
void expect_hits_allocate_nothing(const std::string& extra) {
  // The upstream: answers the one miss by hand.
  const int upstream = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const std::uint16_t upstream_port = bound_port(upstream);
  const int probe = ::socket(AF_INET, SOCK_DGRAM, 0);
  const std::uint16_t port = bound_port(probe);
  ::close(probe);

  const std::string text =
      "example.net:" + std::to_string(port) +
      " {\n    bind 127.0.0.1\n    forward . 127.0.0.1:" + std::to_string(upstream_port) +
      "\n    cache 30\n    persist off\n" + extra + "}\n";
  auto parsed = config::parse_corefile_text(text, "Corefile");
  ASSERT_TRUE(parsed) << parsed.error().message;
  uv_loop_t loop{};
  uv_loop_init(&loop);
  SystemClock clock;
  auto server = std::make_unique<Server>(
      &loop, std::make_shared<const config::Config>(std::move(*parsed)), clock, ServerOptions{});
  ASSERT_TRUE(server->start());

  const int client = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = loopback(port);
  auto send_query = [&](std::uint16_t id) {
    const std::vector<std::uint8_t> q = query(id);
    ::sendto(client, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  // Turns the loop until `want` replies came back (or 2 s passed); returns how many did.
  auto collect = [&](int want) {
    int got = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::uint8_t reply[1500];
    while (got < want && std::chrono::steady_clock::now() < until) {
      uv_run(&loop, UV_RUN_NOWAIT);
      while (got < want && ::recv(client, reply, sizeof reply, 0) >= 12) ++got;
    }
    return got;
  };

  // The miss: the upstream answers once; the answer is cached.
  send_query(1);
  std::uint8_t buffer[512];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  ssize_t n = -1;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (n < 12 && std::chrono::steady_clock::now() < until) {
    uv_run(&loop, UV_RUN_NOWAIT);
    n = ::recvfrom(upstream, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                   &from_len);
  }
  ASSERT_GE(n, 12) << "the miss never reached the upstream";
  std::vector<std::uint8_t> answer(buffer, buffer + n);
  answer[2] |= 0x80;  // QR
  answer[3] = 0x80;   // RA, NOERROR
  answer[7] = 1;      // ANCOUNT 1
  answer[11] = 0;     // ARCOUNT 0: drop the OPT c-ares added
  std::size_t end = 12;
  while (answer[end] != 0) end += 1 + answer[end];
  answer.resize(end + 5);
  const std::uint8_t record[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 7};
  answer.insert(answer.end(), std::begin(record), std::end(record));
  ::sendto(upstream, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  ASSERT_EQ(collect(1), 1);

  // Warm-up hits: whatever is set up lazily on the first hits happens here.
  for (int i = 0; i < 200; ++i) send_query(static_cast<std::uint16_t>(100 + i));
  ASSERT_EQ(collect(200), 200);

  // 10,000 hits in bursts of 50 (the listener reads them in batches), every allocation counted.
  constexpr int kHits = 10'000;
  constexpr int kBurst = 50;
  int answered = 0;
  g_allocations = 0;
  for (int burst = 0; burst < kHits / kBurst; ++burst) {
    for (int i = 0; i < kBurst; ++i)
      send_query(static_cast<std::uint16_t>(1000 + burst * kBurst + i));
    g_counting = true;
    answered += collect(kBurst);
    g_counting = false;
  }
  const std::uint64_t allocations = g_allocations.load();
  EXPECT_EQ(answered, kHits);
  EXPECT_EQ(allocations, 0u) << allocations << " allocations over " << kHits << " cache hits";
  std::printf("%d cache hits: %llu allocations\n", answered,
              static_cast<unsigned long long>(allocations));

  ::close(client);
  ::close(upstream);
  server->shutdown();
  uv_run(&loop, UV_RUN_DEFAULT);
  server.reset();
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(HitAllocations, TenThousandWarmHitsAllocateNothing) {
  expect_hits_allocate_nothing("");
}

// With `rrl` over its allowance every hit is looked up in the account table and, slip-ratio 1,
// sent back emptied with TC=1: still no allocation (the table was reserved at start).
TEST(HitAllocations, TenThousandRateLimitedHitsAllocateNothing) {
  expect_hits_allocate_nothing(
      "    rrl {\n        responses-per-second 100\n        slip-ratio 1\n    }\n");
}

}  // namespace
}  // namespace holdfast::server
