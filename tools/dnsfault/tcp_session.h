// One client's TCP connection through the proxy: length-prefixed messages in (RFC 1035 §4.2.2,
// pipelined), each classified and answered, dropped, delayed or written to this session's own
// upstream connection (opened on first use); answers go back as they arrive. Loop thread only.
#pragma once

#include <cstdint>
#include <vector>

#include <uv.h>

#include "proxy_context.h"

namespace holdfast::dnsfault {

class TcpProxy;

// How an answer coming back for a forwarded query is rewritten on its way to the client.
struct PostAction {
  std::uint16_t id = 0;
  ActionKind kind = ActionKind::kPass;  // kTtl or kGarble, else untouched
  std::uint32_t ttl_seconds = 0;
  GarbleMode garble = GarbleMode::kWrongId;
};

class TcpSession {
 public:
  static constexpr std::uint64_t kIdleTimeoutMs = 30'000;
  static constexpr std::size_t kMaxOutstanding = 256;  // per connection

  TcpSession(TcpProxy& proxy, ProxyContext& context, std::uint64_t id);
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  // Accepts the pending connection on `server` and starts reading. On failure the session
  // closes itself (and is deleted by the proxy once its handles are closed).
  void accept(uv_stream_t* server) noexcept;
  // Sends a held query upstream (called at once, or when its delay is up).
  void forward(std::vector<std::uint8_t> query, const PostAction& post) noexcept;
  // The same for a query the proxy held in its delay queue on this session's behalf.
  void forward_delayed(std::vector<std::uint8_t> query, const PostAction& post) noexcept;
  enum class CloseMode : std::uint8_t { kGraceful, kReset };
  void close(CloseMode mode = CloseMode::kGraceful) noexcept;
  std::uint64_t id() const noexcept { return id_; }

 private:
  enum class UpstreamState : std::uint8_t { kNone, kConnecting, kConnected };

  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_upstream_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_connect(uv_connect_t* request, int status) noexcept;
  static void on_idle(uv_timer_t* timer) noexcept;
  static void on_closed(uv_handle_t* handle) noexcept;

  void handle_query(dns::MutableBytes message) noexcept;
  void handle_answer(dns::MutableBytes message) noexcept;
  void write(uv_stream_t* stream, dns::Bytes message) noexcept;
  void connect_upstream() noexcept;
  void touch() noexcept;
  void maybe_finish() noexcept;

  TcpProxy& proxy_;
  ProxyContext& context_;
  std::uint64_t id_;
  uv_tcp_t client_;
  uv_tcp_t upstream_;
  uv_timer_t idle_;
  uv_connect_t connect_;
  UpstreamState upstream_state_ = UpstreamState::kNone;
  std::vector<std::uint8_t> client_in_;
  std::vector<std::uint8_t> upstream_in_;
  std::vector<std::vector<std::uint8_t>> pending_;  // written once connected
  std::vector<PostAction> posts_;                   // forwarded, not yet answered
  std::size_t delayed_ = 0;                         // held in the proxy's delay queue
  int open_handles_ = 0;
  bool closing_ = false;
  bool client_eof_ = false;
};

}  // namespace holdfast::dnsfault
