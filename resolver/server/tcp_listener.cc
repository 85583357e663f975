// TCP listener and its connections.
#include "server/tcp_listener.h"

#include <unistd.h>

#include <cstring>

#include "base/uv_util.h"

namespace holdfast::server {

// One client connection. Heap-allocated; deletes itself once both its handles have closed.
class TcpListener::Connection {
 public:
  Connection(TcpListener* owner, std::uint64_t id) : owner_(owner), id_(id) {
    uv_tcp_init(owner->loop_, &tcp_);
    uv_timer_init(owner->loop_, &idle_);
    tcp_.data = this;
    idle_.data = this;
  }

  bool accept(uv_stream_t* server) noexcept {
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) return false;
    int len = sizeof(peer_);
    uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer_), &len);
    uv_tcp_nodelay(&tcp_, 1);
    start_reading();
    arm_idle();
    return true;
  }

  void start_reading() noexcept {
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) noexcept {
          auto* self = static_cast<Connection*>(h->data);
          *buf = uv_buf_init(self->chunk_, sizeof(self->chunk_));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
          static_cast<Connection*>(s->data)->on_read(nread, buf);
        });
    reading_ = true;
  }

  // One timer, two deadlines. While a frame is incomplete: the whole frame must arrive within
  // frame_timeout of its first byte (more bytes do not extend it: a client dribbling one byte a
  // second cannot hold the connection). Otherwise the idle timeout runs from the last complete
  // frame, and never expires while answers are owed (RFC 7766 §6.2.3).
  void arm_idle() noexcept {
    in_frame_ = false;
    start_timer(owner_->options_.idle_timeout);
  }

  void arm_frame_deadline() noexcept {
    if (in_frame_) return;
    in_frame_ = true;
    start_timer(owner_->options_.frame_timeout);
  }

  void start_timer(std::chrono::milliseconds after) noexcept {
    uv_timer_start(
        &idle_,
        [](uv_timer_t* t) noexcept {
          auto* self = static_cast<Connection*>(t->data);
          if (self->in_frame_) {
            ++self->owner_->counters_.frame_timeouts;
            self->close();
            return;
          }
          if (self->pending_ > 0) {
            self->arm_idle();
            return;
          }
          ++self->owner_->counters_.idle_closed;
          self->close();
        },
        static_cast<std::uint64_t>(after.count()), 0);
  }

  // Neither answering nor receiving: the first to go when the listener is full.
  bool idle() const noexcept { return pending_ == 0 && inbox_.empty() && !closing_; }
  const sockaddr_storage& peer() const noexcept { return peer_; }

  void on_read(ssize_t nread, const uv_buf_t* buf) noexcept {
    if (nread < 0) {
      close();
      return;
    }
    inbox_.insert(inbox_.end(), buf->base, buf->base + nread);
    std::size_t consumed = 0;
    while (!closing_ && inbox_.size() - consumed >= 2) {
      const std::size_t frame_len =
          (static_cast<std::size_t>(static_cast<std::uint8_t>(inbox_[consumed])) << 8) |
          static_cast<std::uint8_t>(inbox_[consumed + 1]);
      if (inbox_.size() - consumed - 2 < frame_len) break;
      const auto* frame = reinterpret_cast<const std::uint8_t*>(inbox_.data() + consumed + 2);
      consumed += 2 + frame_len;
      ++owner_->counters_.frames;
      ++pending_;
      ClientRef client;
      client.transport = Transport::kTcp;
      client.sink = owner_;
      client.router = owner_->router_;
      client.peer = peer_;
      client.connection_id = id_;
      client.received_ns = uv_hrtime();
      owner_->pipeline_.handle(dns::Bytes(frame, frame_len), client);
    }
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(consumed));
    if (closing_) return;
    if (!inbox_.empty()) {
      if (consumed > 0) in_frame_ = false;  // a new frame starts: its own deadline
      arm_frame_deadline();
    } else if (consumed > 0) {
      arm_idle();
    }
    if (!closing_ && reading_ && pending_ >= owner_->options_.max_pending_per_connection) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
      reading_ = false;
    }
  }

  void write(dns::Bytes reply) noexcept {
    if (closing_) return;
    struct Write {
      uv_write_t req;
      std::vector<char> data;
    };
    auto* w = new Write{{}, std::vector<char>(reply.size() + 2)};
    w->data[0] = static_cast<char>(reply.size() >> 8);
    w->data[1] = static_cast<char>(reply.size() & 0xff);
    std::memcpy(w->data.data() + 2, reply.data(), reply.size());
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                 [](uv_write_t* req, int) noexcept { delete static_cast<Write*>(req->data); }) !=
        0) {
      delete w;
      close();
    }
  }

  void done() noexcept {
    if (pending_ > 0) --pending_;
    if (!closing_ && !reading_ && pending_ < owner_->options_.max_pending_per_connection) {
      start_reading();
    }
  }

  void close() noexcept {
    if (closing_) return;
    closing_ = true;
    owner_->forget(id_);
    auto on_close = [](uv_handle_t* h) noexcept {
      auto* self = static_cast<Connection*>(h->data);
      if (++self->closed_handles_ == 2) delete self;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_close);
  }

 private:
  TcpListener* owner_;
  std::uint64_t id_;
  uv_tcp_t tcp_{};
  uv_timer_t idle_{};
  sockaddr_storage peer_{};
  char chunk_[16384];
  std::vector<char> inbox_;
  std::size_t pending_ = 0;
  bool in_frame_ = false;  // the timer is the frame deadline
  bool reading_ = false;
  bool closing_ = false;
  int closed_handles_ = 0;
};

TcpListener::TcpListener(uv_loop_t* loop, QueryPipeline& pipeline, const Router& router,
                         TcpOptions options)
    : loop_(loop), pipeline_(pipeline), router_(&router), options_(options) {}

Result<void> TcpListener::bind(const std::string& host, std::uint16_t port, ListenMode mode) {
  sockaddr_storage addr{};
  if (auto ok = make_address(host, port, addr); !ok) return ok;
  name_ = "tcp " + format_address(reinterpret_cast<const sockaddr*>(&addr));
  auto socket = open_listen_socket(SocketKind::kTcp, addr, mode);
  if (!socket) return fail(socket.error().message);
  joined_ = socket->joined;
  uv_tcp_init(loop_, &handle_);
  handle_.data = this;
  int rc = uv_tcp_open(&handle_, socket->fd);
  if (rc != 0) ::close(socket->fd);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_), 512,
                   [](uv_stream_t* s, int status) noexcept {
                     static_cast<TcpListener*>(s->data)->on_connection(status);
                   });
  }
  if (rc != 0) return fail("cannot listen on " + name_ + ": " + uv_strerror(rc));
  return {};
}

void TcpListener::on_connection(int status) noexcept {
  if (status != 0) return;
  auto* connection = new Connection(this, next_id_++);
  if (!connection->accept(reinterpret_cast<uv_stream_t*>(&handle_))) {
    connection->close();
    return;
  }
  const std::string client = client_key(connection->peer());
  if (per_client_[client] >= options_.max_connections_per_client) {
    ++counters_.rejected_per_client;
    connection->close();
    return;
  }
  if (connections_.size() >= options_.max_connections && !close_oldest_idle()) {
    ++counters_.rejected;
    connection->close();
    return;
  }
  ++counters_.accepted;
  ++per_client_[client];
  const std::uint64_t id = next_id_ - 1;
  connections_.emplace(id, Entry{connection, order_.insert(order_.end(), id)});
}

bool TcpListener::close_oldest_idle() noexcept {
  for (std::uint64_t id : order_) {
    Connection* connection = connections_.at(id).connection;
    if (connection->idle()) {
      ++counters_.idle_evicted;
      connection->close();  // forget() takes it out of connections_ and order_
      return true;
    }
  }
  return false;
}

std::string TcpListener::client_key(const sockaddr_storage& peer) {
  // The address without the port: one client is one host.
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    return std::string(reinterpret_cast<const char*>(&in.sin_addr), sizeof(in.sin_addr));
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
  return std::string(reinterpret_cast<const char*>(&in6.sin6_addr), sizeof(in6.sin6_addr));
}

void TcpListener::forget(std::uint64_t id) noexcept {
  auto found = connections_.find(id);
  if (found == connections_.end()) return;
  auto count = per_client_.find(client_key(found->second.connection->peer()));
  if (count != per_client_.end() && --count->second == 0) per_client_.erase(count);
  order_.erase(found->second.position);
  connections_.erase(found);
}

void TcpListener::send_reply(const ClientRef& client, dns::Bytes reply) noexcept {
  auto found = connections_.find(client.connection_id);
  if (found != connections_.end()) found->second.connection->write(reply);
}

void TcpListener::query_done(const ClientRef& client) noexcept {
  auto found = connections_.find(client.connection_id);
  if (found != connections_.end()) found->second.connection->done();
}

bool TcpListener::steer(std::uint32_t index) noexcept {
  uv_os_fd_t fd = -1;
  if (handle_.loop == nullptr ||
      uv_fileno(reinterpret_cast<const uv_handle_t*>(&handle_), &fd) != 0) {
    return false;
  }
  return steer_reuseport_group(fd, index);
}

void TcpListener::stop() noexcept {
  close_member(reinterpret_cast<uv_handle_t*>(&handle_));
}

void TcpListener::close() noexcept {
  stop();
  while (!connections_.empty()) connections_.begin()->second.connection->close();
}

}  // namespace holdfast::server
