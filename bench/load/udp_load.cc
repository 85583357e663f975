// The load loop. Per query it costs a slot write on send, a slot lookup and a memcmp of the
// question on receive; the syscalls are amortised over sendmmsg/recvmmsg batches, so one core
// of load can keep one core of server busy (see README.md, the reflector).
#include "load/udp_load.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include "dns/wire.h"

namespace holdfast::bench {

namespace {
constexpr std::size_t kMaxBatch = 256;
constexpr std::size_t kRecvBatch = 64;
// Only the header and the question are read; the kernel copies no more than this, the rest of
// a longer reply is dropped (MSG_TRUNC in msg_flags).
constexpr std::size_t kRecvBytes = 512;
constexpr std::uint16_t kMaxInFlightPerSocket = 65000;  // of 65536 IDs
constexpr std::uint64_t kMaxWaitNs = 1'000'000;         // every wait is short: loops stay bounded
constexpr int kSocketBufferBytes = 4 << 20;
}  // namespace

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

struct UdpLoad::SendScratch {
  std::array<mmsghdr, kMaxBatch> headers{};
  std::array<std::array<iovec, 2>, kMaxBatch> iovs{};
  std::array<std::array<std::uint8_t, 2>, kMaxBatch> ids{};
};

struct UdpLoad::RecvScratch {
  std::array<mmsghdr, kRecvBatch> headers{};
  std::array<iovec, kRecvBatch> iovs{};
  std::array<std::array<std::uint8_t, kRecvBytes>, kRecvBatch> buffers{};
};

UdpLoad::UdpLoad(const LoadOptions& options, const QuerySet& queries)
    : options_(options),
      queries_(queries),
      timeout_ns_(static_cast<std::uint64_t>(options.timeout_ms) * 1'000'000ULL),
      // Enough for 1M q/s at every 8th query for 60 s; beyond that, samples are dropped.
      latencies_(8'000'000),
      send_(std::make_unique<SendScratch>()),
      recv_(std::make_unique<RecvScratch>()) {
  options_.batch = std::clamp(options_.batch, 1, static_cast<int>(kMaxBatch));
  options_.sample_every = std::max(options_.sample_every, 1);
  for (std::size_t i = 0; i < kRecvBatch; ++i) {
    recv_->iovs[i] = {recv_->buffers[i].data(), kRecvBytes};
    recv_->headers[i].msg_hdr.msg_iov = &recv_->iovs[i];
    recv_->headers[i].msg_hdr.msg_iovlen = 1;
  }
}

UdpLoad::~UdpLoad() {
  for (auto& socket : sockets_) {
    if (socket.fd >= 0) close(socket.fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

tl::expected<std::unique_ptr<UdpLoad>, std::string> UdpLoad::open(const LoadOptions& options,
                                                                  const QuerySet& queries) {
  std::unique_ptr<UdpLoad> load(new UdpLoad(options, queries));
  load->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (load->epoll_fd_ < 0) return tl::unexpected(std::string("epoll_create1: ") + strerror(errno));
  load->sockets_.resize(static_cast<std::size_t>(std::max(options.sockets, 1)));
  for (std::size_t i = 0; i < load->sockets_.size(); ++i) {
    auto& socket = load->sockets_[i];
    socket.slots.resize(65536);
    socket.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (socket.fd < 0) return tl::unexpected(std::string("socket: ") + strerror(errno));
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    setsockopt(socket.fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
    setsockopt(socket.fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
    if (connect(socket.fd, reinterpret_cast<const sockaddr*>(&options.server),
                sizeof options.server) != 0) {
      return tl::unexpected(std::string("connect: ") + strerror(errno));
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    if (epoll_ctl(load->epoll_fd_, EPOLL_CTL_ADD, socket.fd, &event) != 0) {
      return tl::unexpected(std::string("epoll_ctl: ") + strerror(errno));
    }
  }
  return load;
}

LoadResult UdpLoad::run() {
  const std::uint64_t start_ns = now_ns();
  const std::uint64_t end_ns = start_ns + static_cast<std::uint64_t>(options_.duration_s * 1e9);
  const bool open_loop = options_.rate_qps > 0;
  std::uint64_t now = start_ns;
  const std::uint64_t max_queries = options_.max_queries > 0 ? options_.max_queries : UINT64_MAX;
  while (now < end_ns && (next_query_ < max_queries || outstanding_ > 0)) {
    expire(now);
    const std::uint64_t budget = send_budget(now, start_ns);
    if (budget > 0) send_some(budget);
    std::uint64_t wait_ns = 0;
    if (open_loop) {
      // Query k is due at k / rate after the start.
      const double next_due = static_cast<double>(next_query_) * 1e9 / options_.rate_qps;
      const auto due_ns = start_ns + static_cast<std::uint64_t>(next_due);
      now = now_ns();
      if (due_ns > now) wait_ns = due_ns - now;
    } else if (!options_.busy_poll && outstanding_ >= static_cast<std::uint64_t>(options_.window)) {
      wait_ns = kMaxWaitNs;
    }
    wait_and_receive(std::min(wait_ns, kMaxWaitNs));
    now = now_ns();
  }
  LoadResult result;
  result.elapsed_s = static_cast<double>(now - start_ns) / 1e9;
  if (open_loop) {
    auto due = static_cast<std::uint64_t>(result.elapsed_s * options_.rate_qps);
    if (options_.max_queries > 0) due = std::min(due, options_.max_queries);
    counters_.behind = due > counters_.sent ? due - counters_.sent : 0;
  }
  // Drain: the replies still on their way belong to the measured window. Measured from where
  // the loop stopped, not from the planned end: with --max-queries the loop stops early, and
  // `now - end_ns` wrapped around (drain_s 1.8e10, "0.0 % of one core").
  const std::uint64_t loop_end_ns = now;
  const std::uint64_t drain_end_ns = now + timeout_ns_;
  while (outstanding_ > 0 && now < drain_end_ns) {
    wait_and_receive(std::min(kMaxWaitNs, drain_end_ns - now));
    now = now_ns();
    expire(now);
  }
  expire(UINT64_MAX);
  result.drain_s = static_cast<double>(now - loop_end_ns) / 1e9;
  result.counters = counters_;
  result.latency = latencies_.summarize();
  result.samples_dropped = latencies_.dropped();
  return result;
}

std::uint64_t UdpLoad::send_budget(std::uint64_t now_ns, std::uint64_t start_ns) const noexcept {
  // Open loop: one batch per pass, so catching up after a stall (the load preempted) comes as
  // batches spaced by the receive work rather than as one burst over every socket.
  std::uint64_t round_cap = static_cast<std::uint64_t>(options_.batch);
  if (options_.rate_qps <= 0) round_cap *= sockets_.size();
  if (options_.max_queries > 0) round_cap = std::min(round_cap, options_.max_queries - next_query_);
  if (options_.rate_qps > 0) {
    const double due = static_cast<double>(now_ns - start_ns) * options_.rate_qps / 1e9;
    const auto due_count = static_cast<std::uint64_t>(due) + 1;
    return due_count > next_query_ ? std::min(due_count - next_query_, round_cap) : 0;
  }
  const auto window = static_cast<std::uint64_t>(options_.window);
  return outstanding_ < window ? std::min(window - outstanding_, round_cap) : 0;
}

// Sends `budget` as whole batches over the sockets in turn, at most one batch each: a small budget
// goes out in one sendmmsg, and the next one on the next socket.
void UdpLoad::send_some(std::uint64_t budget) noexcept {
  const auto per_socket = static_cast<std::size_t>(options_.batch);
  for (std::size_t tried = 0; tried < sockets_.size() && budget > 0; ++tried) {
    Socket& socket = sockets_[next_socket_];
    next_socket_ = (next_socket_ + 1) % sockets_.size();
    budget -= send_batch(socket, std::min<std::size_t>(per_socket, budget));
  }
}

std::size_t UdpLoad::send_batch(Socket& socket, std::size_t count) noexcept {
  const auto in_id_use = static_cast<std::uint16_t>(socket.next_id - socket.oldest_id);
  count = std::min<std::size_t>(count,
                                kMaxInFlightPerSocket - std::min(in_id_use, kMaxInFlightPerSocket));
  if (count == 0) return 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto query = static_cast<std::size_t>((next_query_ + i) % queries_.size());
    const auto wire = queries_.wire(query);
    const auto id = static_cast<std::uint16_t>(socket.next_id + i);
    dns::write_u16(send_->ids[i].data(), id);
    // The ID from scratch, the rest straight from the pre-encoded query: no copy.
    send_->iovs[i][0] = {send_->ids[i].data(), 2};
    send_->iovs[i][1] = {const_cast<std::uint8_t*>(wire.data()) + 2, wire.size() - 2};
    auto& header = send_->headers[i].msg_hdr;
    header = {};
    header.msg_iov = send_->iovs[i].data();
    header.msg_iovlen = 2;
  }
  const std::uint64_t sent_ns = now_ns();
  const int sent =
      sendmmsg(socket.fd, send_->headers.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
  if (sent <= 0) {
    if (sent < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
      ++counters_.send_blocked;
    } else {
      ++counters_.send_errors;
    }
    return 0;
  }
  for (int i = 0; i < sent; ++i) {
    Slot& slot = socket.slots[socket.next_id];
    slot.sent_ns = sent_ns;
    slot.query = static_cast<std::uint32_t>(next_query_ % queries_.size());
    slot.state = SlotState::kOutstanding;
    slot.sampled = next_query_ % static_cast<std::uint64_t>(options_.sample_every) == 0;
    ++socket.next_id;
    ++next_query_;
  }
  outstanding_ += static_cast<std::uint64_t>(sent);
  counters_.sent += static_cast<std::uint64_t>(sent);
  return static_cast<std::size_t>(sent);
}

bool UdpLoad::wait_and_receive(std::uint64_t wait_ns) noexcept {
  std::array<epoll_event, 64> events;
  const timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000ULL),
                         static_cast<long>(wait_ns % 1'000'000'000ULL)};
  const int ready =
      epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
  for (int i = 0; i < ready; ++i) receive(sockets_[events[static_cast<std::size_t>(i)].data.u64]);
  return ready > 0;
}

void UdpLoad::receive(Socket& socket) noexcept {
  for (auto& header : recv_->headers) header.msg_hdr.msg_flags = 0;
  const int got = recvmmsg(socket.fd, recv_->headers.data(), kRecvBatch, MSG_DONTWAIT, nullptr);
  if (got <= 0) return;
  const std::uint64_t now = now_ns();
  for (int i = 0; i < got; ++i) {
    const auto& header = recv_->headers[static_cast<std::size_t>(i)];
    on_reply(socket, recv_->buffers[static_cast<std::size_t>(i)].data(),
             std::min<std::size_t>(header.msg_len, kRecvBytes), now);
  }
}

void UdpLoad::on_reply(Socket& socket, const std::uint8_t* reply, std::size_t len,
                       std::uint64_t now) noexcept {
  if (len < QuerySet::kHeaderLen || (dns::read_u16(reply + 2) & dns::flag::kQr) == 0) {
    ++counters_.unexpected;
    return;
  }
  Slot& slot = socket.slots[dns::read_u16(reply)];
  if (slot.state == SlotState::kFree) {
    ++counters_.unexpected;
    return;
  }
  const auto question = queries_.question(slot.query);
  if (len < QuerySet::kHeaderLen + question.size() ||
      std::memcmp(reply + QuerySet::kHeaderLen, question.data(), question.size()) != 0) {
    ++counters_.unexpected;
    return;
  }
  if (slot.state == SlotState::kLost) {
    ++counters_.late;
    slot.state = SlotState::kFree;
    return;
  }
  slot.state = SlotState::kFree;
  --outstanding_;
  ++counters_.answered;
  ++counters_.rcodes[reply[3] & 0x0f];
  if (reply[2] & 0x02) ++counters_.truncated;
  if (slot.sampled) latencies_.add(now - slot.sent_ns);
}

// IDs go out in order on each socket, so the oldest outstanding query is found by walking
// forward from oldest_id: amortised O(1) a query.
void UdpLoad::expire(std::uint64_t now) noexcept {
  for (auto& socket : sockets_) {
    while (socket.oldest_id != socket.next_id) {
      Slot& slot = socket.slots[socket.oldest_id];
      if (slot.state == SlotState::kOutstanding) {
        if (now != UINT64_MAX && now - slot.sent_ns < timeout_ns_) break;
        slot.state = SlotState::kLost;
        --outstanding_;
        ++counters_.lost;
      }
      ++socket.oldest_id;
    }
  }
}

}  // namespace holdfast::bench
