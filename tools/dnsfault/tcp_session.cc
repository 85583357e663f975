// A proxied TCP connection: framing, per-query faults, the session's upstream connection, and a
// close that waits for every handle (RST for refuse-connection).
#include "tcp_session.h"

#include <algorithm>
#include <cstring>

#include "actions.h"
#include "dns/header.h"
#include "proxy_tcp.h"

namespace holdfast::dnsfault {
namespace {

struct WriteRequest {
  uv_write_t request;
  std::vector<std::uint8_t> bytes;
};

uv_handle_t* as_handle(void* handle) noexcept {
  return static_cast<uv_handle_t*>(handle);
}

}  // namespace

TcpSession::TcpSession(TcpProxy& proxy, ProxyContext& context, std::uint64_t id)
    : proxy_(proxy), context_(context), id_(id) {}

void TcpSession::accept(uv_stream_t* server) noexcept {
  uv_tcp_init(context_.loop, &client_);
  client_.data = this;
  ++open_handles_;
  uv_timer_init(context_.loop, &idle_);
  idle_.data = this;
  ++open_handles_;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&client_)) != 0) {
    close();
    return;
  }
  uv_tcp_nodelay(&client_, 1);
  touch();
  uv_read_start(reinterpret_cast<uv_stream_t*>(&client_), &TcpSession::on_alloc,
                &TcpSession::on_client_read);
}

void TcpSession::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto& buffer = static_cast<TcpSession*>(handle->data)->proxy_.read_buffer();
  *buf = uv_buf_init(reinterpret_cast<char*>(buffer.data()), static_cast<unsigned>(buffer.size()));
}

void TcpSession::touch() noexcept {
  if (!closing_) uv_timer_start(&idle_, &TcpSession::on_idle, kIdleTimeoutMs, 0);
}

void TcpSession::on_idle(uv_timer_t* timer) noexcept {
  static_cast<TcpSession*>(timer->data)->close();
}

// Splits `in` (after appending `data`) into whole messages, calling `handle` for each.
template <class Handler>
static void frame(std::vector<std::uint8_t>& in, const uv_buf_t* buf, ssize_t nread,
                  Handler&& handle) {
  in.insert(in.end(), reinterpret_cast<std::uint8_t*>(buf->base),
            reinterpret_cast<std::uint8_t*>(buf->base) + nread);
  std::size_t pos = 0;
  while (in.size() - pos >= 2) {
    const std::size_t len = dns::read_u16(in.data() + pos);
    if (in.size() - pos - 2 < len) break;
    handle(dns::MutableBytes(in.data() + pos + 2, len));
    pos += 2 + len;
  }
  in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
}

void TcpSession::on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<TcpSession*>(stream->data);
  if (nread < 0) {
    // EOF: answers still owed are delivered first (some clients half-close after writing).
    self->client_eof_ = true;
    uv_read_stop(stream);
    self->maybe_finish();
    return;
  }
  if (nread == 0 || self->closing_) return;
  self->touch();
  frame(self->client_in_, buf, nread, [self](dns::MutableBytes message) {
    if (!self->closing_) self->handle_query(message);
  });
}

void TcpSession::handle_query(dns::MutableBytes message) noexcept {
  const Classified c = classify(context_, message, Transport::kTcp);
  if (c.kind == Classified::Kind::kInvalid) return;
  PostAction post;
  if (message.size() >= dns::kHeaderSize) post.id = dns::read_u16(message.data());
  if (c.kind == Classified::Kind::kUnparseable) {
    forward(std::vector<std::uint8_t>(message.begin(), message.end()), post);
    return;
  }
  const Decision& d = c.decision;
  post.kind = d.kind;
  post.ttl_seconds = d.ttl_seconds;
  post.garble = d.garble;
  switch (d.kind) {
    case ActionKind::kBlackhole:
    case ActionKind::kLoss:
    case ActionKind::kBurstLoss:
      return;  // read and never answered; the connection stays open
    case ActionKind::kRefuseConnection:
      close(CloseMode::kReset);
      return;
    case ActionKind::kRcode:
    case ActionKind::kNodata:
    case ActionKind::kTruncate: {
      std::array<std::uint8_t, 4096> reply;
      const std::size_t len = write_synthesised_reply(message, c.parsed, d.kind, d.rcode, reply);
      if (len != 0) {
        write(reinterpret_cast<uv_stream_t*>(&client_), dns::Bytes(reply.data(), len));
        context_.stats.responses_sent.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    case ActionKind::kDelay:
      if (d.delay_ms > 0 && posts_.size() + delayed_ < kMaxOutstanding &&
          proxy_.delay(id_, d.delay_ms, std::vector<std::uint8_t>(message.begin(), message.end()),
                       post)) {
        ++delayed_;
      } else if (d.delay_ms > 0) {
        context_.stats.inflight_full.fetch_add(1, std::memory_order_relaxed);
      } else {
        forward(std::vector<std::uint8_t>(message.begin(), message.end()), post);
      }
      return;
    default:
      forward(std::vector<std::uint8_t>(message.begin(), message.end()), post);
      return;
  }
}

void TcpSession::forward_delayed(std::vector<std::uint8_t> query, const PostAction& post) noexcept {
  if (delayed_ > 0) --delayed_;
  forward(std::move(query), post);
  maybe_finish();
}

void TcpSession::forward(std::vector<std::uint8_t> query, const PostAction& post) noexcept {
  if (closing_) return;
  if (posts_.size() >= kMaxOutstanding) {
    context_.stats.inflight_full.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  posts_.push_back(post);
  context_.stats.count_forwarded(monotonic_ms());
  if (upstream_state_ == UpstreamState::kConnected) {
    write(reinterpret_cast<uv_stream_t*>(&upstream_), query);
    return;
  }
  pending_.push_back(std::move(query));
  if (upstream_state_ == UpstreamState::kNone) connect_upstream();
}

void TcpSession::connect_upstream() noexcept {
  uv_tcp_init(context_.loop, &upstream_);
  upstream_.data = this;
  ++open_handles_;
  upstream_state_ = UpstreamState::kConnecting;
  connect_.data = this;
  const int rc =
      uv_tcp_connect(&connect_, &upstream_, reinterpret_cast<const sockaddr*>(&context_.upstream),
                     &TcpSession::on_connect);
  if (rc != 0) close();
}

void TcpSession::on_connect(uv_connect_t* request, int status) noexcept {
  auto* self = static_cast<TcpSession*>(request->data);
  if (self->closing_) return;
  if (status != 0) {
    self->close();  // the upstream refused: so does the proxy, by closing
    return;
  }
  self->upstream_state_ = UpstreamState::kConnected;
  uv_tcp_nodelay(&self->upstream_, 1);
  auto* stream = reinterpret_cast<uv_stream_t*>(&self->upstream_);
  for (const auto& query : self->pending_) self->write(stream, query);
  self->pending_.clear();
  uv_read_start(stream, &TcpSession::on_alloc, &TcpSession::on_upstream_read);
}

void TcpSession::on_upstream_read(uv_stream_t* stream, ssize_t nread,
                                  const uv_buf_t* buf) noexcept {
  auto* self = static_cast<TcpSession*>(stream->data);
  if (nread < 0) {
    self->close();
    return;
  }
  if (nread == 0 || self->closing_) return;
  self->touch();
  frame(self->upstream_in_, buf, nread, [self](dns::MutableBytes message) {
    if (!self->closing_) self->handle_answer(message);
  });
  self->maybe_finish();
}

void TcpSession::handle_answer(dns::MutableBytes message) noexcept {
  context_.stats.upstream_answers.fetch_add(1, std::memory_order_relaxed);
  if (message.size() < dns::kHeaderSize) return;
  const std::uint16_t id = dns::read_u16(message.data());
  auto post =
      std::find_if(posts_.begin(), posts_.end(), [id](const PostAction& p) { return p.id == id; });
  if (post == posts_.end()) return;
  std::size_t len = message.size();
  if (post->kind == ActionKind::kTtl) rewrite_ttls(message, post->ttl_seconds);
  if (post->kind == ActionKind::kGarble) len = garble_response(message, post->garble);
  posts_.erase(post);
  write(reinterpret_cast<uv_stream_t*>(&client_), dns::Bytes(message.data(), len));
  context_.stats.responses_sent.fetch_add(1, std::memory_order_relaxed);
}

void TcpSession::write(uv_stream_t* stream, dns::Bytes message) noexcept {
  auto* request = new WriteRequest;
  request->request.data = request;
  request->bytes.resize(2 + message.size());
  dns::write_u16(request->bytes.data(), static_cast<std::uint16_t>(message.size()));
  std::memcpy(request->bytes.data() + 2, message.data(), message.size());
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()),
                             static_cast<unsigned>(request->bytes.size()));
  const int rc = uv_write(&request->request, stream, &buf, 1, [](uv_write_t* r, int) noexcept {
    delete static_cast<WriteRequest*>(r->data);
  });
  if (rc != 0) {
    delete request;
    context_.stats.send_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void TcpSession::maybe_finish() noexcept {
  if (client_eof_ && posts_.empty() && delayed_ == 0) close();
}

void TcpSession::close(CloseMode mode) noexcept {
  if (closing_) return;
  closing_ = true;
  if (mode == CloseMode::kReset && !uv_is_closing(as_handle(&client_))) {
    // RFC 793 reset: the client's next read or write fails with ECONNRESET.
    if (uv_tcp_close_reset(&client_, &TcpSession::on_closed) != 0) {
      uv_close(as_handle(&client_), &TcpSession::on_closed);
    }
  } else if (!uv_is_closing(as_handle(&client_))) {
    uv_close(as_handle(&client_), &TcpSession::on_closed);
  }
  uv_close(as_handle(&idle_), &TcpSession::on_closed);
  if (upstream_state_ != UpstreamState::kNone)
    uv_close(as_handle(&upstream_), &TcpSession::on_closed);
}

void TcpSession::on_closed(uv_handle_t* handle) noexcept {
  auto* self = static_cast<TcpSession*>(handle->data);
  if (--self->open_handles_ == 0) self->proxy_.session_closed(self);
}

}  // namespace holdfast::dnsfault
