// UDP listener: batched receive and send on a socket of its own.
#include "server/udp_listener.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "base/uv_util.h"
#include "server/lookup_prefetch.h"

namespace holdfast::server {
namespace {

// Room for a burst of a few thousand queries while the loop is busy (a node's pods restarting
// at once); the kernel caps it at net.core.rmem_max.
constexpr int kSocketBufferBytes = 4 << 20;
// Batches read per wake-up before the loop gets to run its other handles.
constexpr int kBatchesPerWake = 8;
// Big enough for one IP_PKTINFO or IPV6_PKTINFO control message.
constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(in6_pktinfo));

socklen_t peer_length(const sockaddr_storage& peer) {
  return peer.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// The destination address of a received datagram, from its IP_PKTINFO / IPV6_PKTINFO.
LocalAddress local_address(msghdr& header) noexcept {
  LocalAddress local;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      local.family = AF_INET;
      local.ifindex = static_cast<std::uint32_t>(info.ipi_ifindex);
      std::memcpy(&local.address, &info.ipi_addr, sizeof(info.ipi_addr));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      local.family = AF_INET6;
      local.ifindex = info.ipi6_ifindex;
      local.address = info.ipi6_addr;
    }
  }
  return local;
}

// Fills `control` with the message that makes a reply leave from `local`; returns its length
// (0 when there is nothing to say).
std::size_t write_source(const LocalAddress& local, std::uint8_t* control) noexcept {
  if (local.family == 0) return 0;
  msghdr header{};
  header.msg_control = control;
  header.msg_controllen = kControlBytes;
  cmsghdr* c = CMSG_FIRSTHDR(&header);
  if (local.family == AF_INET) {
    in_pktinfo info{};
    std::memcpy(&info.ipi_spec_dst, &local.address, sizeof(info.ipi_spec_dst));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(info));
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    return CMSG_SPACE(sizeof(info));
  }
  in6_pktinfo info{};
  info.ipi6_addr = local.address;
  info.ipi6_ifindex = local.ifindex;  // link-local sources need their interface
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(info));
  std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  return CMSG_SPACE(sizeof(info));
}

bool is_wildcard(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(addr).sin_addr.s_addr == htonl(INADDR_ANY);
  }
  const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
  return IN6_IS_ADDR_UNSPECIFIED(&a);
}

}  // namespace

// Allocated once per listener: nothing on the query path allocates.
struct UdpListener::Buffers {
  // One cache line more than a slot holds: slots 4,096 bytes apart would all start in the same
  // L1 cache set (and evict each other and the cache entries a batch reads).
  std::array<std::array<std::uint8_t, kSlotBytes + 64>, kBatch> slots;
  std::array<std::array<std::uint8_t, kControlBytes>, kBatch> controls;
  std::array<sockaddr_storage, kBatch> peers;
  std::array<iovec, kBatch> iovecs;
  std::array<mmsghdr, kBatch> messages;
  std::array<dns::Bytes, kBatch> packets;  // the batch's datagrams, for prefetch_lookups
  std::array<std::optional<LookupHint>, kBatch> hints;  // what it read of each
  // The replies of the current batch, sent with one sendmmsg.
  std::array<Outgoing, kBatch> replies;
  std::array<std::array<std::uint8_t, kControlBytes>, kBatch> reply_controls;
  std::array<iovec, kBatch> reply_iovecs;
  std::array<mmsghdr, kBatch> reply_messages;
  std::size_t reply_count = 0;
  // Replies waiting for the socket to drain: a ring.
  std::array<Outgoing, kBacklog> backlog;
  std::size_t backlog_head = 0;
  std::size_t backlog_size = 0;
};

UdpListener::UdpListener(uv_loop_t* loop, QueryHandler& handler, const Router& router)
    : loop_(loop), handler_(handler), router_(&router), buffers_(std::make_unique<Buffers>()) {}

UdpListener::~UdpListener() {
  if (fd_ >= 0 && poll_.loop == nullptr) {
    if (member_ != nullptr) member_->retire();
    ::close(fd_);
  }
}

Result<void> UdpListener::bind(const std::string& host, std::uint16_t port, ListenMode mode) {
  sockaddr_storage addr{};
  if (auto ok = make_address(host, port, addr); !ok) return ok;
  return bind_address(addr, mode, std::make_shared<UdpGroup>());
}

Result<void> UdpListener::join(const UdpListener& owner) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (owner.fd_ < 0 || ::getsockname(owner.fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    return fail("cannot join " + owner.name_ + ": it has no socket");
  }
  // The owner's socket set SO_REUSEPORT: this one joins its group (and gets no one else's).
  return bind_address(addr, ListenMode::kTakeOver, owner.group_);
}

Result<void> UdpListener::bind_address(const sockaddr_storage& addr, ListenMode mode,
                                       std::shared_ptr<UdpGroup> group) {
  name_ = "udp " + format_address(reinterpret_cast<const sockaddr*>(&addr));
  auto socket = open_listen_socket(SocketKind::kUdp, addr, mode);
  if (!socket) return fail(socket.error().message);
  fd_ = socket->fd;
  joined_ = socket->joined;
  wildcard_ = is_wildcard(addr);
  if (wildcard_) {
    const int one = 1;
    const bool v6 = addr.ss_family == AF_INET6;
    if (::setsockopt(fd_, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one,
                     sizeof(one)) != 0) {
      return fail("cannot listen on " + name_ + ": no packet info: " + std::strerror(errno));
    }
  }
  for (int option : {SO_RCVBUF, SO_SNDBUF}) {
    ::setsockopt(fd_, SOL_SOCKET, option, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }
  if (const int rc = uv_poll_init_socket(loop_, &poll_, fd_); rc != 0) {
    return fail("cannot listen on " + name_ + ": " + uv_strerror(rc));
  }
  poll_.data = this;
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
  uv_timer_init(loop_, &look_timer_);
  look_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&look_timer_));  // the loop runs for the socket
  group_ = std::move(group);
  member_ = group_->add(fd_, uv_hrtime());
  receiving_ = true;
  update_poll();
  return {};
}

void UdpListener::update_poll() noexcept {
  if (poll_.loop == nullptr || uv_is_closing(reinterpret_cast<uv_handle_t*>(&poll_))) return;
  // A reply waiting for room needs the epoll set's UV_WRITABLE: no busy mode then.
  if (busy_ && (!receiving_ || buffers_->backlog_size > 0)) leave_busy();
  int events = 0;
  if (receiving_ && !busy_) events |= UV_READABLE;
  if (buffers_->backlog_size > 0) events |= UV_WRITABLE;
  if (events == 0) {
    uv_poll_stop(&poll_);
    return;
  }
  uv_poll_start(&poll_, events, [](uv_poll_t* handle, int status, int ready) noexcept {
    static_cast<UdpListener*>(handle->data)->on_poll(status, ready);
  });
}

void UdpListener::on_poll(int status, int events) noexcept {
  if (status < 0) return;
  if (events & UV_WRITABLE) drain_backlog();
  if ((events & UV_READABLE) && receiving_) {
    const bool drained = receive_batches(kBatchesPerWake);
    const Help help = help_group();
    if (!drained) enter_busy();
    follow_up(help);
  }
}

void UdpListener::follow_up(Help help) noexcept {
  if (help == Help::kMore) enter_busy();
  if (help == Help::kNone && last_found_ns_ == 0) return;  // the usual case: nobody behind
  const std::uint64_t now_ns = uv_hrtime();
  if (help != Help::kNone) last_found_ns_ = now_ns;
  if (now_ns - last_found_ns_ >= UdpGroup::kFollowNs) {
    last_found_ns_ = 0;
    return;
  }
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&look_timer_))) {
    // A member's loop did not read its socket lately, and no query of our own may wake this
    // loop before more arrive there: look again in kLookNs, for kFollowNs after the last find.
    uv_timer_start(
        &look_timer_,
        [](uv_timer_t* timer) noexcept {
          auto* self = static_cast<UdpListener*>(timer->data);
          if (self->receiving_) self->follow_up(self->help_group());
        },
        UdpGroup::kLookNs / 1'000'000, 0);
  }
}

void UdpListener::on_idle() noexcept {
  const bool drained = receive_batches(kBatchesPerWake);
  const Help help = help_group();
  if (!receiving_ || (help != Help::kMore && drained)) leave_busy();
  follow_up(help);
}

void UdpListener::enter_busy() noexcept {
  if (busy_ || !receiving_ || buffers_->backlog_size > 0) return;
  busy_ = true;
  ++counters_.busy_entries;
  // uv_poll_stop takes the socket out of the epoll set at once (EPOLL_CTL_DEL).
  uv_poll_stop(&poll_);
  uv_idle_start(&idle_, [](uv_idle_t* handle) noexcept {
    static_cast<UdpListener*>(handle->data)->on_idle();
  });
}

void UdpListener::leave_busy() noexcept {
  if (!busy_) return;
  busy_ = false;
  uv_idle_stop(&idle_);
  update_poll();
}

void UdpListener::prepare_receive(std::size_t count) noexcept {
  Buffers& b = *buffers_;
  for (std::size_t i = 0; i < count; ++i) {
    b.iovecs[i] = iovec{b.slots[i].data(), kSlotBytes};
    msghdr& h = b.messages[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &b.peers[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &b.iovecs[i];
    h.msg_iovlen = 1;
    if (wildcard_) {
      h.msg_control = b.controls[i].data();
      h.msg_controllen = kControlBytes;
    }
  }
}

bool UdpListener::receive_batches(int max_rounds) noexcept {
  for (int round = 0; round < max_rounds && receiving_; ++round) {
    const std::size_t count = read_batch(fd_);
    const bool full = count == kBatch;
    const std::uint64_t now_ns = uv_hrtime();
    if (member_ != nullptr) {
      member_->last_read_ns.store(now_ns, std::memory_order_relaxed);
      member_->set_backed_up(full);
    }
    if (count == 0) return true;  // EAGAIN: drained (other errors: the next wake-up tells again)
    answer_batch(count, now_ns);
    if (!full) return true;  // the socket is empty
  }
  return !receiving_;
}

std::size_t UdpListener::read_batch(int fd) noexcept {
  Buffers& b = *buffers_;
  if (!receive_prepared_) {
    prepare_receive(kBatch);
    receive_prepared_ = true;
  }
  // Only the headers recvmmsg filled need resetting (prepare_receive() after each batch): at a
  // few queries per wake-up, setting up all 64 again cost ~1,000 instructions a wake-up.
  const int count = ::recvmmsg(fd, b.messages.data(), kBatch, MSG_DONTWAIT, nullptr);
  return count > 0 ? static_cast<std::size_t>(count) : 0;
}

UdpListener::Help UdpListener::help_group() noexcept {
  if (!receiving_ || group_ == nullptr || group_->size() < 2) return Help::kNone;
  Help help = Help::kNone;
  const std::uint64_t now_ns = uv_hrtime();
  for (std::size_t i = 0; i < group_->size(); ++i) {
    UdpGroup::Member& other = (*group_)[i];
    if (&other == member_) continue;
    if (!other.backed_up.load(std::memory_order_relaxed) &&
        now_ns - other.last_read_ns.load(std::memory_order_relaxed) < UdpGroup::kLookNs) {
      continue;
    }
    if (!other.enter()) continue;  // its loop closed it
    const std::size_t count = read_batch(other.fd);
    other.leave();
    other.last_read_ns.store(now_ns, std::memory_order_relaxed);
    // Backed up while a read finds something, from the first full batch on.
    if (count == kBatch || count == 0) other.set_backed_up(count == kBatch);
    if (count == 0) continue;
    counters_.helped += count;
    answer_batch(count, uv_hrtime());
    if (count == kBatch) {
      help = Help::kMore;
    } else if (help == Help::kNone) {
      help = Help::kSome;
    }
  }
  return help;
}

void UdpListener::answer_batch(std::size_t count, std::uint64_t now_ns) noexcept {
  Buffers& b = *buffers_;
  ++counters_.batches;
  for (std::size_t i = 0; i < count; ++i) {
    const bool whole = (b.messages[i].msg_hdr.msg_flags & MSG_TRUNC) == 0;
    b.packets[i] = whole ? dns::Bytes(b.slots[i].data(), b.messages[i].msg_len) : dns::Bytes();
  }
  // Their cache lookups' misses overlap instead of coming one by one (lookup_prefetch.h).
  prefetch_lookups(std::span(b.packets.data(), count), router_, std::span(b.hints.data(), count));
  in_batch_ = true;
  for (std::size_t i = 0; i < count; ++i) {
    msghdr& h = b.messages[i].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) {
      ++counters_.truncated;  // larger than any DNS query: drop
      continue;
    }
    ++counters_.received;
    ClientRef client;
    client.transport = Transport::kUdp;
    client.sink = this;
    client.router = router_;
    client.received_ns = now_ns;
    std::memcpy(&client.peer, &b.peers[i], h.msg_namelen);
    if (wildcard_) client.local = local_address(h);
    const std::optional<LookupHint>& hint = b.hints[i];
    handler_.handle_hinted(b.packets[i], client, hint ? &*hint : nullptr);
  }
  in_batch_ = false;
  prepare_receive(count);
  flush_batch();
}

void UdpListener::send_reply(const ClientRef& client, dns::Bytes reply) noexcept {
  if (fd_ < 0) return;  // closed; replies to queries in flight still go out after stop()
  Buffers& b = *buffers_;
  if (in_batch_ && reply.size() <= kReplyBytes) {
    Outgoing& out = b.replies[b.reply_count++];
    std::memcpy(&out.peer, &client.peer, peer_length(client.peer));  // not all 128 bytes
    out.local = client.local;
    out.length = static_cast<std::uint16_t>(reply.size());
    std::memcpy(out.data.data(), reply.data(), reply.size());
    if (b.reply_count == kBatch) flush_batch();
    return;
  }
  if (b.backlog_size > 0) {  // keep the order: behind what already waits
    push_backlog(client.peer, client.local, reply.data(), reply.size());
    return;
  }
  if (!send_one(client.peer, client.local, reply.data(), reply.size())) {
    push_backlog(client.peer, client.local, reply.data(), reply.size());
  }
}

void UdpListener::flush_batch() noexcept {
  Buffers& b = *buffers_;
  std::size_t first = 0;
  const std::size_t count = b.reply_count;
  b.reply_count = 0;
  if (count == 0) return;
  for (std::size_t i = 0; i < count; ++i) {
    Outgoing& out = b.replies[i];
    b.reply_iovecs[i] = iovec{out.data.data(), out.length};
    msghdr& h = b.reply_messages[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &out.peer;
    h.msg_namelen = peer_length(out.peer);
    h.msg_iov = &b.reply_iovecs[i];
    h.msg_iovlen = 1;
    if (const std::size_t n = write_source(out.local, b.reply_controls[i].data()); n > 0) {
      h.msg_control = b.reply_controls[i].data();
      h.msg_controllen = n;
    }
  }
  if (b.backlog_size == 0) {
    while (first < count) {
      const int sent = ::sendmmsg(fd_, b.reply_messages.data() + first,
                                  static_cast<unsigned>(count - first), MSG_DONTWAIT);
      if (sent > 0) {
        counters_.sent += static_cast<std::uint64_t>(sent);
        first += static_cast<std::size_t>(sent);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
      ++counters_.send_errors;  // this datagram cannot go (e.g. no route): skip it
      ++first;
    }
  }
  for (std::size_t i = first; i < count; ++i) {
    const Outgoing& out = b.replies[i];
    push_backlog(out.peer, out.local, out.data.data(), out.length);
  }
}

bool UdpListener::send_one(const sockaddr_storage& peer, const LocalAddress& local,
                           const std::uint8_t* data, std::size_t length) noexcept {
  iovec vec{const_cast<std::uint8_t*>(data), length};
  std::array<std::uint8_t, kControlBytes> control{};
  msghdr h{};
  h.msg_name = const_cast<sockaddr_storage*>(&peer);
  h.msg_namelen = peer_length(peer);
  h.msg_iov = &vec;
  h.msg_iovlen = 1;
  if (const std::size_t n = write_source(local, control.data()); n > 0) {
    h.msg_control = control.data();
    h.msg_controllen = n;
  }
  if (::sendmsg(fd_, &h, MSG_DONTWAIT) >= 0) {
    ++counters_.sent;
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return false;
  ++counters_.send_errors;
  return true;  // not a full socket: nothing to wait for
}

void UdpListener::push_backlog(const sockaddr_storage& peer, const LocalAddress& local,
                               const std::uint8_t* data, std::size_t length) noexcept {
  Buffers& b = *buffers_;
  if (b.backlog_size == kBacklog || length > kReplyBytes) {
    ++counters_.backlog_drops;
    return;
  }
  Outgoing& out = b.backlog[(b.backlog_head + b.backlog_size) % kBacklog];
  out.peer = peer;
  out.local = local;
  out.length = static_cast<std::uint16_t>(length);
  std::memcpy(out.data.data(), data, length);
  if (++b.backlog_size == 1) update_poll();
}

void UdpListener::drain_backlog() noexcept {
  Buffers& b = *buffers_;
  while (b.backlog_size > 0) {
    const Outgoing& out = b.backlog[b.backlog_head];
    if (!send_one(out.peer, out.local, out.data.data(), out.length)) return;
    b.backlog_head = (b.backlog_head + 1) % kBacklog;
    --b.backlog_size;
  }
  update_poll();
}

bool UdpListener::steer(std::uint32_t index) noexcept {
  return fd_ >= 0 && steer_reuseport_group(fd_, index);
}

void UdpListener::stop() noexcept {
  // What already waits in the socket buffer is answered, not dropped: during a hand-over the
  // traffic has been steered away by now, so nothing new arrives here after this read.
  if (receiving_ && fd_ >= 0) receive_batches(std::numeric_limits<int>::max());
  receiving_ = false;
  update_poll();  // leaves busy mode too
}

void UdpListener::close() noexcept {
  receiving_ = false;
  if (poll_.loop == nullptr) return;
  if (member_ != nullptr) member_->retire();  // no other loop reads the socket from now on
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&poll_))) return;
  drain_backlog();  // last chance for replies that wait (and, not receiving, out of busy mode)
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&look_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* handle) noexcept {
    auto* self = static_cast<UdpListener*>(handle->data);
    ::close(self->fd_);
    self->fd_ = -1;
  });
}

}  // namespace holdfast::server
