// UDP listener.
#include "server/udp_listener.h"

#include <cstring>

#include "base/uv_util.h"

namespace holdfast::server {
namespace {

// Room for a burst of a few thousand queries while the loop is busy (a node's pods restarting
// at once); the kernel caps it at net.core.rmem_max.
constexpr int kSocketBufferBytes = 4 << 20;

}  // namespace

UdpListener::UdpListener(uv_loop_t* loop, QueryPipeline& pipeline, const Router& router)
    : loop_(loop), pipeline_(pipeline), router_(&router), buffer_(65536) {}

Result<void> UdpListener::bind(const std::string& host, std::uint16_t port) {
  sockaddr_storage addr{};
  if (auto ok = make_address(host, port, addr); !ok) return ok;
  name_ = "udp " + format_address(reinterpret_cast<const sockaddr*>(&addr));
  uv_udp_init(loop_, &handle_);
  handle_.data = this;
  const unsigned flags = addr.ss_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
  int rc =
      uv_udp_bind(&handle_, reinterpret_cast<const sockaddr*>(&addr), flags | UV_UDP_REUSEADDR);
  if (rc != 0) return fail("cannot listen on " + name_ + ": " + uv_strerror(rc));
  grow_socket_buffers(reinterpret_cast<uv_handle_t*>(&handle_), kSocketBufferBytes);
  rc = uv_udp_recv_start(
      &handle_,
      [](uv_handle_t* h, std::size_t, uv_buf_t* buf) noexcept {
        auto* self = static_cast<UdpListener*>(h->data);
        *buf = uv_buf_init(self->buffer_.data(), static_cast<unsigned>(self->buffer_.size()));
      },
      [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
         unsigned flags) noexcept {
        static_cast<UdpListener*>(h->data)->on_receive(nread, buf, addr, flags);
      });
  if (rc != 0) return fail("cannot receive on " + name_ + ": " + uv_strerror(rc));
  return {};
}

void UdpListener::on_receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                             unsigned flags) noexcept {
  if (nread <= 0 || addr == nullptr) return;  // 0 with no addr: nothing more to read
  if (flags & UV_UDP_PARTIAL) return;         // larger than any DNS message: drop
  ++counters_.received;
  ClientRef client;
  client.transport = Transport::kUdp;
  client.sink = this;
  client.router = router_;
  client.received_ns = uv_hrtime();
  std::memcpy(&client.peer, addr,
              addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  pipeline_.handle(
      dns::Bytes(reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)),
      client);
}

void UdpListener::send_reply(const ClientRef& client, dns::Bytes reply) noexcept {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) return;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(reply.data())),
                             static_cast<unsigned>(reply.size()));
  const int rc =
      uv_udp_try_send(&handle_, &buf, 1, reinterpret_cast<const sockaddr*>(&client.peer));
  if (rc >= 0) {
    ++counters_.sent;
    return;
  }
  if (rc != UV_EAGAIN) {
    ++counters_.send_errors;
    return;
  }
  // The socket buffer is full: queue a copy.
  struct Send {
    uv_udp_send_t req;
    std::vector<char> data;
  };
  auto* send = new Send{{}, std::vector<char>(buf.base, buf.base + buf.len)};
  send->req.data = send;
  uv_buf_t copy = uv_buf_init(send->data.data(), static_cast<unsigned>(send->data.size()));
  if (uv_udp_send(&send->req, &handle_, &copy, 1, reinterpret_cast<const sockaddr*>(&client.peer),
                  [](uv_udp_send_t* req, int) noexcept { delete static_cast<Send*>(req->data); }) !=
      0) {
    delete send;
    ++counters_.send_errors;
    return;
  }
  ++counters_.sent;
}

void UdpListener::stop() noexcept {
  if (handle_.loop != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) {
    uv_udp_recv_stop(&handle_);
  }
}

void UdpListener::close() noexcept {
  close_member(reinterpret_cast<uv_handle_t*>(&handle_));
}

}  // namespace holdfast::server
