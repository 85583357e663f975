// bench_reflector: the bare UDP DNS "server": recvmmsg up to 64 queries, set QR and RA in
// place, sendmmsg them back to their senders. One thread, no parsing, no state: what one core
// of loopback UDP can do at best, the ceiling against which the resolvers are compared.
//
// --event-loop does the same work from a libuv loop, as Holdfast's listener does: the loop
// waits in epoll_wait, and each wake-up reads the socket until a batch comes up short. The
// difference between the two modes is what waiting in an event loop costs, before any DNS work.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <uv.h>
#include <CLI/CLI.hpp>

#include "dns/wire.h"

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxMessage = 4096;

struct Batch {
  std::array<mmsghdr, kBatch> headers{};
  std::array<iovec, kBatch> iovs{};
  std::array<sockaddr_in, kBatch> peers{};
  // One cache line more than a message: buffers 4,096 bytes apart would all start in the same L1
  // set and evict each other (Holdfast's receive slots are padded the same way).
  std::array<std::array<std::uint8_t, kMaxMessage + 64>, kBatch> buffers{};
};

int open_socket(const std::string& address, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "bench_reflector: not an IPv4 address: %s\n", address.c_str());
    return -1;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int buffer_bytes = 4 << 20;  // best effort: capped at net.core.rmem_max
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "bench_reflector: bind %s:%u: %s\n", address.c_str(), port,
                 strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

void prepare(Batch& batch) {
  for (std::size_t i = 0; i < kBatch; ++i) {
    batch.iovs[i] = {batch.buffers[i].data(), kMaxMessage};
    batch.headers[i].msg_hdr.msg_iov = &batch.iovs[i];
    batch.headers[i].msg_hdr.msg_iovlen = 1;
    batch.headers[i].msg_hdr.msg_name = &batch.peers[i];
  }
}

// One recvmmsg (with `flags`) and the sendmmsg of its replies; returns the datagrams read.
int reflect_batch(int fd, Batch& batch, int flags) {
  for (auto& h : batch.headers) h.msg_hdr.msg_namelen = sizeof(sockaddr_in);
  const int got = recvmmsg(fd, batch.headers.data(), kBatch, flags, nullptr);
  if (got <= 0) return 0;
  int replies = 0;
  for (int i = 0; i < got; ++i) {
    auto& h = batch.headers[static_cast<std::size_t>(i)];
    if (h.msg_len < 12) continue;
    std::uint8_t* packet = batch.buffers[static_cast<std::size_t>(i)].data();
    const auto bits = holdfast::dns::read_u16(packet + 2);
    holdfast::dns::write_u16(packet + 2,
                             bits | holdfast::dns::flag::kQr | holdfast::dns::flag::kRa);
    // Compact in place: the reply reuses the query's slot, its length and its sender.
    auto& out = batch.headers[static_cast<std::size_t>(replies)];
    if (&out != &h) {
      std::swap(batch.buffers[static_cast<std::size_t>(replies)],
                batch.buffers[static_cast<std::size_t>(i)]);
      batch.peers[static_cast<std::size_t>(replies)] = batch.peers[static_cast<std::size_t>(i)];
    }
    batch.iovs[static_cast<std::size_t>(replies)].iov_len = h.msg_len;
    ++replies;
  }
  for (int sent = 0; sent < replies;) {
    const int n =
        sendmmsg(fd, batch.headers.data() + sent, static_cast<unsigned>(replies - sent), 0);
    if (n <= 0) break;  // a full send buffer drops the rest, as a busy server would
    sent += n;
  }
  for (auto& iov : batch.iovs) iov.iov_len = kMaxMessage;
  return got;
}

// Runs until killed (SIGTERM/SIGINT end it: there is nothing to clean up).
[[noreturn]] void reflect(int fd, Batch& batch) {
  prepare(batch);
  for (;;) reflect_batch(fd, batch, MSG_WAITFORONE);
}

struct LoopReflector {
  int fd;
  Batch* batch;
};

// The same work from a libuv loop; returns when the loop fails.
int reflect_in_loop(int fd, Batch& batch) {
  prepare(batch);
  uv_loop_t loop;
  uv_loop_init(&loop);
  LoopReflector state{fd, &batch};
  uv_poll_t poll;
  uv_poll_init_socket(&loop, &poll, fd);
  poll.data = &state;
  uv_poll_start(&poll, UV_READABLE, [](uv_poll_t* handle, int status, int) {
    if (status < 0) return;
    auto* self = static_cast<LoopReflector*>(handle->data);
    while (reflect_batch(self->fd, *self->batch, MSG_DONTWAIT) == static_cast<int>(kBatch)) {
    }
  });
  return uv_run(&loop, UV_RUN_DEFAULT);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bare UDP DNS reflector: sets QR and RA and sends each query back."};
  std::string address = "127.0.0.1";
  std::uint16_t port = 5300;
  int cpu = -1;
  bool event_loop = false;
  app.add_option("--address", address, "IPv4 address to bind")->capture_default_str();
  app.add_option("-p,--port", port, "UDP port")->capture_default_str();
  app.add_option("--cpu", cpu, "pin to CPU N")->check(CLI::NonNegativeNumber);
  app.add_flag("--event-loop", event_loop,
               "wait in a libuv loop (epoll) instead of blocking in recvmmsg");
  CLI11_PARSE(app, argc, argv);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      std::perror("bench_reflector: sched_setaffinity");
      return 2;
    }
  }
  const int fd = open_socket(address, port);
  if (fd < 0) return 2;
  auto batch = std::make_unique<Batch>();
  if (event_loop) return reflect_in_loop(fd, *batch) == 0 ? 0 : 1;
  reflect(fd, *batch);
}
