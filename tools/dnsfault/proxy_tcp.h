// The TCP side of the proxy: the listening socket, the live sessions (bounded) and the queries
// held back by `delay`, which refer to their session by ID so a closed session is never touched.
// Loop thread only.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <uv.h>

#include "base/result.h"
#include "delay_queue.h"
#include "tcp_session.h"

namespace holdfast::dnsfault {

class TcpProxy {
 public:
  static constexpr std::size_t kMaxSessions = 512;

  explicit TcpProxy(ProxyContext& context);
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;
  ~TcpProxy();

  Result<void> start(const sockaddr* listen);
  // Closes the listener and every session; the object must live until the loop has run the
  // close callbacks.
  void close() noexcept;

  // For sessions.
  bool delay(std::uint64_t session_id, std::uint32_t delay_ms, std::vector<std::uint8_t> query,
             const PostAction& post) noexcept;
  void session_closed(TcpSession* session) noexcept;
  std::array<std::uint8_t, 65536>& read_buffer() noexcept { return read_buffer_; }

 private:
  struct Delayed {
    std::uint64_t session_id = 0;
    std::vector<std::uint8_t> query;
    PostAction post;
  };

  static void on_connection(uv_stream_t* server, int status) noexcept;
  static void on_delay_due(void* self, std::uint64_t token) noexcept;

  ProxyContext& context_;
  uv_tcp_t listener_;
  DelayQueue delays_;
  std::unordered_map<std::uint64_t, TcpSession*> sessions_;
  std::unordered_map<std::uint64_t, Delayed> delayed_;
  std::uint64_t next_session_id_ = 1;
  std::uint64_t next_delay_token_ = 1;
  std::array<std::uint8_t, 65536> read_buffer_;
  bool started_ = false;
  bool closing_ = false;
};

}  // namespace holdfast::dnsfault
