// UDP proxying: receive, classify, then answer, drop, delay or forward under a rewritten ID.
#include "proxy_udp.h"

#include <netinet/in.h>

#include <cstring>

#include "actions.h"
#include "base/uv_util.h"
#include "dns/header.h"

namespace holdfast::dnsfault {
namespace {

constexpr std::int32_t kNoSlot = -1;
constexpr int kIdProbes = 64;

struct SendRequest {
  uv_udp_send_t request;
  std::vector<std::uint8_t> bytes;
};

std::uint64_t slot_token(std::uint32_t index, std::uint32_t generation) noexcept {
  return (std::uint64_t{index} << 32) | generation;
}

std::size_t address_length(const sockaddr* addr) noexcept {
  return addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

UdpProxy::UdpProxy(ProxyContext& context)
    : context_(context),
      delays_(context.loop, &UdpProxy::on_delay_due, this),
      slots_(kMaxInflight),
      id_rng_(std::random_device{}()) {
  free_slots_.reserve(kMaxInflight);
  for (std::uint32_t i = kMaxInflight; i > 0; --i) free_slots_.push_back(i - 1);
}

Result<void> UdpProxy::start(const sockaddr* listen) {
  uv_loop_t* loop = context_.loop;
  uv_udp_init(loop, &listener_);
  listener_.data = this;
  uv_timer_init(loop, &sweep_timer_);
  sweep_timer_.data = this;
  for (std::size_t i = 0; i < kUpstreamSockets; ++i) {
    UpstreamSocket& socket = upstream_[i];
    uv_udp_init(loop, &socket.handle);
    socket.handle.data = &socket;
    socket.owner = this;
    socket.index = static_cast<std::uint8_t>(i);
    socket.slot_by_id.assign(65536, kNoSlot);
  }
  started_ = true;
  if (int rc = uv_udp_bind(&listener_, listen, 0); rc != 0) {
    return fail("cannot listen on UDP " + format_address(listen) + ": " + uv_strerror(rc));
  }
  int len = sizeof(local_);
  uv_udp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&local_), &len);
  if (auto* in = reinterpret_cast<sockaddr_in*>(&local_);
      local_.ss_family == AF_INET && in->sin_addr.s_addr == htonl(INADDR_ANY)) {
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // ICMP errors need a concrete address
  }
  if (auto* in6 = reinterpret_cast<sockaddr_in6*>(&local_);
      local_.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
    in6->sin6_addr = in6addr_loopback;
  }
  const auto* upstream = reinterpret_cast<const sockaddr*>(&context_.upstream);
  for (UpstreamSocket& socket : upstream_) {
    if (int rc = uv_udp_connect(&socket.handle, upstream); rc != 0) {
      return fail("cannot open a UDP socket to " + format_address(upstream) + ": " +
                  uv_strerror(rc));
    }
    uv_udp_recv_start(&socket.handle, &UdpProxy::on_upstream_alloc, &UdpProxy::on_upstream_recv);
  }
  // A test instrument must not drop what a burst of clients sends: room for thousands of queries.
  grow_socket_buffers(reinterpret_cast<uv_handle_t*>(&listener_), 4 << 20);
  for (UpstreamSocket& socket : upstream_) {
    grow_socket_buffers(reinterpret_cast<uv_handle_t*>(&socket.handle), 4 << 20);
  }
  uv_udp_recv_start(&listener_, &UdpProxy::on_client_alloc, &UdpProxy::on_client_recv);
  uv_timer_start(&sweep_timer_, &UdpProxy::on_sweep, kSweepIntervalMs, kSweepIntervalMs);
  return {};
}

void UdpProxy::close() noexcept {
  if (!started_) return;
  delays_.close();
  close_member(reinterpret_cast<uv_handle_t*>(&listener_));
  close_member(reinterpret_cast<uv_handle_t*>(&sweep_timer_));
  for (UpstreamSocket& socket : upstream_)
    close_member(reinterpret_cast<uv_handle_t*>(&socket.handle));
}

void UdpProxy::on_client_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto* self = static_cast<UdpProxy*>(handle->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->client_buffer_.data()),
                     static_cast<unsigned>(self->client_buffer_.size()));
}

void UdpProxy::on_upstream_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  UdpProxy* self = static_cast<UpstreamSocket*>(handle->data)->owner;
  *buf = uv_buf_init(reinterpret_cast<char*>(self->upstream_buffer_.data()),
                     static_cast<unsigned>(self->upstream_buffer_.size()));
}

void UdpProxy::on_client_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                              const sockaddr* addr, unsigned) noexcept {
  if (nread <= 0 || addr == nullptr) return;
  auto* self = static_cast<UdpProxy*>(handle->data);
  self->handle_query(addr, dns::MutableBytes(reinterpret_cast<std::uint8_t*>(buf->base),
                                             static_cast<std::size_t>(nread)));
}

void UdpProxy::on_upstream_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                                const sockaddr*, unsigned) noexcept {
  if (nread <= 0) return;  // ECONNREFUSED from a dead upstream arrives here too: timeouts follow
  auto* socket = static_cast<UpstreamSocket*>(handle->data);
  socket->owner->handle_answer(*socket,
                               dns::MutableBytes(reinterpret_cast<std::uint8_t*>(buf->base),
                                                 static_cast<std::size_t>(nread)));
}

void UdpProxy::handle_query(const sockaddr* client, dns::MutableBytes packet) noexcept {
  const Classified c = classify(context_, packet, Transport::kUdp);
  if (c.kind == Classified::Kind::kInvalid) return;
  if (c.kind == Classified::Kind::kUnparseable) {
    hold(client, packet, Decision{});
    return;
  }
  const Decision& d = c.decision;
  switch (d.kind) {
    case ActionKind::kBlackhole:
    case ActionKind::kLoss:
    case ActionKind::kBurstLoss:
      return;  // read and never answered
    case ActionKind::kRefuseConnection:
      if (context_.icmp.send_port_unreachable(client, reinterpret_cast<const sockaddr*>(&local_),
                                              packet)) {
        context_.stats.icmp_sent.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    case ActionKind::kRcode:
    case ActionKind::kNodata:
    case ActionKind::kTruncate: {
      // The reply fits where the query was: it is the query's header and question (+ OPT).
      std::array<std::uint8_t, 4096> reply;
      const std::size_t len = write_synthesised_reply(packet, c.parsed, d.kind, d.rcode, reply);
      if (len != 0) send_to_client(client, dns::Bytes(reply.data(), len));
      return;
    }
    default:
      hold(client, packet, d);
      return;
  }
}

void UdpProxy::hold(const sockaddr* client, dns::Bytes packet, const Decision& decision) noexcept {
  if (free_slots_.empty()) {
    context_.stats.inflight_full.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  Slot& slot = slots_[index];
  std::memcpy(&slot.client, client, address_length(client));
  slot.client_id = dns::read_u16(packet.data());
  slot.post = decision.kind;
  slot.ttl_seconds = decision.ttl_seconds;
  slot.garble = decision.garble;
  slot.query.assign(packet.begin(), packet.end());
  context_.stats.inflight.fetch_add(1, std::memory_order_relaxed);
  if (decision.kind == ActionKind::kDelay && decision.delay_ms > 0) {
    slot.state = Slot::State::kDelayed;
    if (!delays_.push(decision.delay_ms, slot_token(index, slot.generation))) {
      context_.stats.inflight_full.fetch_add(1, std::memory_order_relaxed);
      free_slot(index);
    }
    return;
  }
  forward(index);
}

void UdpProxy::on_delay_due(void* self, std::uint64_t token) noexcept {
  auto* proxy = static_cast<UdpProxy*>(self);
  const auto index = static_cast<std::uint32_t>(token >> 32);
  const auto generation = static_cast<std::uint32_t>(token);
  if (index >= proxy->slots_.size()) return;
  const Slot& slot = proxy->slots_[index];
  if (slot.state != Slot::State::kDelayed || slot.generation != generation) return;
  proxy->forward(index);
}

void UdpProxy::forward(std::uint32_t index) noexcept {
  Slot& slot = slots_[index];
  UpstreamSocket& socket = upstream_[next_socket_];
  next_socket_ = (next_socket_ + 1) % kUpstreamSockets;
  std::uint16_t id = static_cast<std::uint16_t>(id_rng_());
  int probes = 0;
  while (socket.slot_by_id[id] != kNoSlot && ++probes < kIdProbes) {
    id = static_cast<std::uint16_t>(id_rng_());
  }
  if (socket.slot_by_id[id] != kNoSlot) {
    context_.stats.inflight_full.fetch_add(1, std::memory_order_relaxed);
    free_slot(index);
    return;
  }
  dns::write_u16(slot.query.data(), id);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(slot.query.data()),
                             static_cast<unsigned>(slot.query.size()));
  if (uv_udp_try_send(&socket.handle, &buf, 1, nullptr) < 0) {
    context_.stats.send_errors.fetch_add(1, std::memory_order_relaxed);
    free_slot(index);
    return;
  }
  const std::int64_t now = static_cast<std::int64_t>(uv_now(context_.loop));
  context_.stats.count_forwarded(monotonic_ms());
  slot.state = Slot::State::kWaiting;
  slot.socket_index = socket.index;
  slot.upstream_id = id;
  slot.deadline_ms = now + context_.upstream_timeout_ms;
  socket.slot_by_id[id] = static_cast<std::int32_t>(index);
}

void UdpProxy::handle_answer(UpstreamSocket& socket, dns::MutableBytes packet) noexcept {
  if (packet.size() < dns::kHeaderSize) return;
  const std::uint16_t id = dns::read_u16(packet.data());
  const std::int32_t index = socket.slot_by_id[id];
  if (index == kNoSlot) return;  // late (timed out) or stray
  Slot& slot = slots_[static_cast<std::size_t>(index)];
  context_.stats.upstream_answers.fetch_add(1, std::memory_order_relaxed);
  dns::set_id(packet, slot.client_id);
  std::size_t len = packet.size();
  if (slot.post == ActionKind::kTtl) rewrite_ttls(packet, slot.ttl_seconds);
  if (slot.post == ActionKind::kGarble) len = garble_response(packet, slot.garble);
  send_to_client(reinterpret_cast<const sockaddr*>(&slot.client), dns::Bytes(packet.data(), len));
  free_slot(static_cast<std::uint32_t>(index));
}

void UdpProxy::free_slot(std::uint32_t index) noexcept {
  Slot& slot = slots_[index];
  if (slot.state == Slot::State::kWaiting) {
    std::int32_t& owner = upstream_[slot.socket_index].slot_by_id[slot.upstream_id];
    if (owner == static_cast<std::int32_t>(index)) owner = kNoSlot;
  }
  slot.state = Slot::State::kFree;
  ++slot.generation;
  free_slots_.push_back(index);
  context_.stats.inflight.fetch_sub(1, std::memory_order_relaxed);
}

void UdpProxy::on_sweep(uv_timer_t* timer) noexcept {
  static_cast<UdpProxy*>(timer->data)->sweep();
}

void UdpProxy::sweep() noexcept {
  const std::int64_t now = static_cast<std::int64_t>(uv_now(context_.loop));
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].state == Slot::State::kWaiting && slots_[i].deadline_ms <= now) {
      context_.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
      free_slot(i);
    }
  }
}

void UdpProxy::send_to_client(const sockaddr* client, dns::Bytes packet) noexcept {
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(packet.data())),
                             static_cast<unsigned>(packet.size()));
  int rc = uv_udp_try_send(&listener_, &buf, 1, client);
  if (rc == UV_EAGAIN) {
    // The socket buffer is full: queue a copy rather than lose the answer.
    auto* request = new SendRequest;
    request->request.data = request;
    request->bytes.assign(packet.begin(), packet.end());
    buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()),
                      static_cast<unsigned>(request->bytes.size()));
    rc = uv_udp_send(
        &request->request, &listener_, &buf, 1, client,
        [](uv_udp_send_t* r, int) noexcept { delete static_cast<SendRequest*>(r->data); });
    if (rc != 0) delete request;
  }
  if (rc < 0) {
    context_.stats.send_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  context_.stats.responses_sent.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace holdfast::dnsfault
