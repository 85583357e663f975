// The admin socket: a Unix stream socket on the daemon's loop that answers JSON-line requests
// from holdfastctl (and only from root or the daemon's own user), with no network involved.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "observe/admin_protocol.h"

namespace holdfast::observe {

// kTakeOver (a hand-over): a live socket at the path belongs to the instance being replaced; the
// new one takes the path over (the old one's close() leaves a file that is no longer its own).
enum class SocketPathMode : std::uint8_t { kExclusive, kTakeOver };

struct AdminSocketOptions {
  std::size_t max_connections = 16;  // one more gets a "busy" error and is closed
  std::chrono::milliseconds idle_timeout{30'000};
  SocketPathMode path_mode = SocketPathMode::kExclusive;
};

struct AdminSocketCounters {
  std::uint64_t accepted = 0;
  std::uint64_t forbidden = 0;     // peer uid neither root nor ours
  std::uint64_t busy = 0;          // over max_connections
  std::uint64_t requests = 0;      // lines handed to the handler
  std::uint64_t bad_requests = 0;  // not JSON, too long, or no "cmd"
  std::uint64_t idle_closed = 0;
};

class AdminSocket {
 public:
  // Listens on `path` (a Unix socket, mode 0600). Creates the parent directory (0700) when it is
  // missing; replaces a socket file nobody answers on (a dead predecessor's); refuses when a live
  // process answers on it. `handler` must outlive the AdminSocket. Call on the loop's thread,
  // before or while it runs.
  static Result<std::unique_ptr<AdminSocket>> open(uv_loop_t* loop, const std::string& path,
                                                   AdminHandler& handler,
                                                   AdminSocketOptions options = {});

  // Closes the listener and every connection and unlinks the socket file (if it is still ours).
  // Idempotent. The handles' memory is freed in their close callbacks, so the loop must run once
  // more (shutdown = close everything, then run the loop until it returns); the AdminSocket
  // object itself may be destroyed at once.
  void close() noexcept;
  ~AdminSocket();

  AdminSocket(const AdminSocket&) = delete;
  AdminSocket& operator=(const AdminSocket&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::size_t connections() const noexcept { return connections_.size(); }
  const AdminSocketCounters& counters() const noexcept { return counters_; }

 private:
  class Connection;
  struct Listener;

  AdminSocket(uv_loop_t* loop, std::string path, AdminHandler& handler, AdminSocketOptions options);
  Result<void> listen();
  void on_connection(int status) noexcept;
  bool peer_allowed(uid_t peer_uid) const noexcept;
  void forget(std::uint64_t id) noexcept;

  uv_loop_t* loop_;
  std::string path_;
  AdminHandler& handler_;
  AdminSocketOptions options_;
  uid_t euid_;
  Listener* listener_ = nullptr;  // owned by its handle: freed in the close callback
  dev_t socket_dev_ = 0;          // the socket file we bound, so close() unlinks only ours
  ino_t socket_ino_ = 0;
  std::uint64_t last_forbidden_log_ms_ = 0;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Connection*> connections_;
  AdminSocketCounters counters_;
};

}  // namespace holdfast::observe
