// Accepting TCP clients into sessions, bounding them, and releasing delayed queries.
#include "proxy_tcp.h"

#include "base/uv_util.h"

namespace holdfast::dnsfault {

TcpProxy::TcpProxy(ProxyContext& context)
    : context_(context), delays_(context.loop, &TcpProxy::on_delay_due, this) {}

TcpProxy::~TcpProxy() {
  // Sessions still here were never closed (the loop did not run their close callbacks).
  for (auto& [id, session] : sessions_) delete session;
}

Result<void> TcpProxy::start(const sockaddr* listen) {
  uv_tcp_init(context_.loop, &listener_);
  listener_.data = this;
  started_ = true;
  if (int rc = uv_tcp_bind(&listener_, listen, 0); rc != 0) {
    return fail("cannot listen on TCP " + format_address(listen) + ": " + uv_strerror(rc));
  }
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, &TcpProxy::on_connection);
      rc != 0) {
    return fail("cannot listen on TCP " + format_address(listen) + ": " + uv_strerror(rc));
  }
  return {};
}

void TcpProxy::close() noexcept {
  if (!started_) return;
  closing_ = true;
  delays_.close();
  delayed_.clear();
  close_member(reinterpret_cast<uv_handle_t*>(&listener_));
  // close() may finish synchronously for nothing, but session_closed always runs from a close
  // callback, so iterating over a copy is enough.
  std::vector<TcpSession*> sessions;
  for (auto& [id, session] : sessions_) sessions.push_back(session);
  for (TcpSession* session : sessions) session->close();
}

void TcpProxy::on_connection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<TcpProxy*>(server->data);
  if (status != 0 || self->closing_) return;
  if (self->sessions_.size() >= kMaxSessions) {
    self->context_.stats.tcp_rejected.fetch_add(1, std::memory_order_relaxed);
    auto* spare = new uv_tcp_t;
    uv_tcp_init(self->context_.loop, spare);
    uv_accept(server, reinterpret_cast<uv_stream_t*>(spare));
    uv_close(reinterpret_cast<uv_handle_t*>(spare),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    return;
  }
  self->context_.stats.tcp_connections.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t id = self->next_session_id_++;
  auto* session = new TcpSession(*self, self->context_, id);
  self->sessions_.emplace(id, session);
  session->accept(server);
}

bool TcpProxy::delay(std::uint64_t session_id, std::uint32_t delay_ms,
                     std::vector<std::uint8_t> query, const PostAction& post) noexcept {
  const std::uint64_t token = next_delay_token_++;
  if (!delays_.push(delay_ms, token)) return false;
  delayed_.emplace(token, Delayed{session_id, std::move(query), post});
  return true;
}

void TcpProxy::on_delay_due(void* self, std::uint64_t token) noexcept {
  auto* proxy = static_cast<TcpProxy*>(self);
  auto item = proxy->delayed_.find(token);
  if (item == proxy->delayed_.end()) return;
  Delayed delayed = std::move(item->second);
  proxy->delayed_.erase(item);
  auto session = proxy->sessions_.find(delayed.session_id);
  if (session == proxy->sessions_.end()) return;  // the client went away meanwhile
  session->second->forward_delayed(std::move(delayed.query), delayed.post);
}

void TcpProxy::session_closed(TcpSession* session) noexcept {
  sessions_.erase(session->id());
  delete session;
}

}  // namespace holdfast::dnsfault
