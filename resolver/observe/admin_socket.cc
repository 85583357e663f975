// Admin socket: the listener, its connections, and the socket file's life cycle.
#include "observe/admin_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/uv_util.h"

namespace holdfast::observe {
namespace {

using nlohmann::json;

constexpr int kBacklog = 16;
// A client that sends requests without reading the answers stops being read past this.
constexpr std::size_t kMaxQueuedBytes = 4 << 20;
constexpr std::uint64_t kForbiddenLogIntervalMs = 60'000;

// Creates the missing directories above the socket, each 0700: only root and the daemon's user
// need to reach it.
Result<void> prepare_directory(const std::string& socket_path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;
  for (fs::path dir = fs::path(socket_path).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return fail("admin socket: " + dir.string() + " is not a directory");
      break;
    }
    if (errno != ENOENT)
      return fail("admin socket: cannot reach " + dir.string() + ": " + std::strerror(errno));
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  // Outermost first. (Not std::views::reverse: clang 14, which runs clang-tidy, cannot compile
  // libstdc++ 12's ranges.)
  std::reverse(missing.begin(), missing.end());
  for (const fs::path& step : missing) {
    if (::mkdir(step.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return fail("admin socket: cannot create " + step.string() + ": " + std::strerror(errno));
    }
    ::chmod(step.c_str(), 0700);  // whatever the umask
  }
  return {};
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());  // length checked by the caller
  return addr;
}

// A socket file left behind by a process that died without unlinking it answers connect() with
// ECONNREFUSED: remove it. One that accepts (or has a full backlog) belongs to a live process.
Result<void> remove_stale_socket(const std::string& path, SocketPathMode mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail("admin socket: cannot inspect " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail("admin socket: " + path +
                " exists and is not a socket; remove it or choose another path");
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(std::string("admin socket: socket(): ") + std::strerror(errno));
  const sockaddr_un addr = unix_address(path);
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  ::close(fd);
  if ((rc == 0 || err == EAGAIN) && mode == SocketPathMode::kTakeOver) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return fail("admin socket: cannot take over " + path + ": " + std::strerror(errno));
    }
    spdlog::info("admin socket: taking {} over from the running instance", path);
    return {};
  }
  if (rc == 0 || err == EAGAIN) {
    return fail("admin socket: another process is already listening on " + path +
                " (is another holdfast running?); stop it or choose another path");
  }
  if (err != ECONNREFUSED) {
    return fail("admin socket: cannot check whether " + path + " is in use: " + std::strerror(err));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail("admin socket: cannot remove the stale socket " + path + ": " +
                std::strerror(errno));
  }
  spdlog::info("admin socket: removed the stale socket file {}", path);
  return {};
}

}  // namespace

struct AdminSocket::Listener {
  uv_pipe_t pipe{};
  AdminSocket* owner = nullptr;
};

// One client connection. Heap-allocated; deletes itself once both its handles have closed.
// `owner_` is valid until close(): callbacks that may run after it check `closing_` first.
class AdminSocket::Connection {
 public:
  Connection(AdminSocket* owner, std::uint64_t id) : owner_(owner), id_(id) {
    uv_pipe_init(owner->loop_, &pipe_, 0);
    uv_timer_init(owner->loop_, &idle_);
    pipe_.data = this;
    idle_.data = this;
  }

  bool accept(uv_stream_t* server) noexcept { return uv_accept(server, stream()) == 0; }

  // The connecting process's uid, as the kernel recorded it at connect() (SO_PEERCRED).
  std::optional<uid_t> peer_uid() noexcept {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&pipe_), &fd) != 0) return std::nullopt;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
    peer_pid_ = cred.pid;
    return cred.uid;
  }
  pid_t peer_pid() const noexcept { return peer_pid_; }

  void start() noexcept {
    start_reading();
    arm_idle();
  }

  // Sends one response, then closes once it has been written.
  void refuse(const json& response) noexcept {
    send(response);
    finish();
  }

  void close() noexcept {
    if (closing_) return;
    closing_ = true;
    owner_->forget(id_);
    owner_ = nullptr;
    auto on_close = [](uv_handle_t* h) noexcept {
      auto* self = static_cast<Connection*>(h->data);
      if (++self->closed_handles_ == 2) delete self;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_close);
  }

 private:
  uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&pipe_); }

  void start_reading() noexcept {
    reading_ = uv_read_start(
                   stream(),
                   [](uv_handle_t* h, std::size_t, uv_buf_t* buf) noexcept {
                     auto* self = static_cast<Connection*>(h->data);
                     *buf = uv_buf_init(self->chunk_, sizeof(self->chunk_));
                   },
                   [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
                     static_cast<Connection*>(s->data)->on_read(nread, buf);
                   }) == 0;
  }

  void arm_idle() noexcept {
    uv_timer_start(
        &idle_,
        [](uv_timer_t* t) noexcept {
          auto* self = static_cast<Connection*>(t->data);
          ++self->owner_->counters_.idle_closed;
          self->close();
        },
        static_cast<std::uint64_t>(owner_->options_.idle_timeout.count()), 0);
  }

  void on_read(ssize_t nread, const uv_buf_t* buf) noexcept {
    if (closing_ || finishing_) return;
    if (nread == UV_EOF) {
      // A client that half-closes after its last request without a newline still gets its answer.
      if (!inbox_.empty()) handle_line(inbox_);
      if (!closing_) finish();
      return;
    }
    if (nread < 0) {
      close();
      return;
    }
    arm_idle();
    inbox_.append(buf->base, static_cast<std::size_t>(nread));
    std::size_t start = 0;
    while (!closing_ && !finishing_) {
      const std::size_t newline = inbox_.find('\n', std::max(start, scanned_));
      if (newline == std::string::npos) break;
      handle_line(std::string_view(inbox_).substr(start, newline - start));
      start = newline + 1;
    }
    if (closing_ || finishing_) return;
    inbox_.erase(0, start);
    scanned_ = inbox_.size();
    if (inbox_.size() > kMaxLineBytes) {
      reject(fmt::format("request line longer than {} bytes", kMaxLineBytes));
      return;
    }
    if (uv_stream_get_write_queue_size(stream()) > kMaxQueuedBytes) {
      uv_read_stop(stream());
      reading_ = false;
    }
  }

  void handle_line(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLineBytes) {
      reject(fmt::format("request line longer than {} bytes", kMaxLineBytes));
      return;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank: no request
    std::optional<json> request = decode_line(line);
    if (!request) {
      reject("request is not valid JSON");
      return;
    }
    if (!request_command(*request)) {
      ++owner_->counters_.bad_requests;  // framing is intact: the connection stays open
      send(make_error(code::kBadRequest, "a request is a JSON object with a string \"cmd\""));
      return;
    }
    ++owner_->counters_.requests;
    json response = owner_->handler_.handle(*request);
    if (closing_) return;  // the handler closed the socket
    if (!response.is_object() || !response.contains(kOkKey)) {
      response = make_error(code::kInternal, "the daemon produced no response");
    }
    send(response);
  }

  // The stream can no longer be trusted to be in step: answer once, then close.
  void reject(const std::string& message) noexcept {
    ++owner_->counters_.bad_requests;
    refuse(make_error(code::kBadRequest, message));
  }

  void send(const json& response) noexcept {
    if (closing_) return;
    struct Write {
      uv_write_t req;
      std::string data;
    };
    auto* w = new Write{{}, encode_line(response)};
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    const int rc = uv_write(&w->req, stream(), &buf, 1, [](uv_write_t* req, int status) noexcept {
      auto* self = static_cast<Connection*>(req->handle->data);
      delete static_cast<Write*>(req->data);
      if (self->closing_) return;
      if (status != 0) {
        self->close();
        return;
      }
      if (self->finishing_) return;
      self->arm_idle();
      if (!self->reading_ && uv_stream_get_write_queue_size(self->stream()) <= kMaxQueuedBytes) {
        self->start_reading();
      }
    });
    if (rc != 0) {
      delete w;
      close();
    }
  }

  // Stops reading and closes once every queued response has been written.
  void finish() noexcept {
    if (closing_ || finishing_) return;
    finishing_ = true;
    uv_read_stop(stream());
    arm_idle();  // a peer that never reads cannot hold the connection forever
    auto* req = new uv_shutdown_t{};
    const int rc = uv_shutdown(req, stream(), [](uv_shutdown_t* r, int) noexcept {
      auto* self = static_cast<Connection*>(r->handle->data);
      delete r;
      self->close();
    });
    if (rc != 0) {
      delete req;
      close();
    }
  }

  AdminSocket* owner_;
  std::uint64_t id_;
  uv_pipe_t pipe_{};
  uv_timer_t idle_{};
  pid_t peer_pid_ = 0;
  char chunk_[8192];
  std::string inbox_;
  std::size_t scanned_ = 0;  // inbox_[0, scanned_) holds no newline
  bool reading_ = false;
  bool finishing_ = false;
  bool closing_ = false;
  int closed_handles_ = 0;
};

AdminSocket::AdminSocket(uv_loop_t* loop, std::string path, AdminHandler& handler,
                         AdminSocketOptions options)
    : loop_(loop), path_(std::move(path)), handler_(handler), options_(options), euid_(geteuid()) {}

Result<std::unique_ptr<AdminSocket>> AdminSocket::open(uv_loop_t* loop, const std::string& path,
                                                       AdminHandler& handler,
                                                       AdminSocketOptions options) {
  std::unique_ptr<AdminSocket> socket(new AdminSocket(loop, path, handler, options));
  if (auto ok = socket->listen(); !ok) return tl::unexpected(ok.error());
  return socket;
}

Result<void> AdminSocket::listen() {
  if (path_.empty()) return fail("admin socket: the path is empty");
  if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return fail(fmt::format("admin socket: path too long ({} bytes, at most {}): {}", path_.size(),
                            sizeof(sockaddr_un::sun_path) - 1, path_));
  }
  if (auto ok = prepare_directory(path_); !ok) return ok;
  if (auto ok = remove_stale_socket(path_, options_.path_mode); !ok) return ok;

  // Bound here rather than by uv_pipe_bind: libuv unlinks the path it bound when the handle
  // closes, whoever's socket is there by then. close() unlinks only the file we created.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("admin socket: socket(): ") + std::strerror(errno));
  const sockaddr_un addr = unix_address(path_);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("admin socket: cannot bind " + path_ + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
  }
  listener_ = new Listener;
  listener_->owner = this;
  uv_pipe_init(loop_, &listener_->pipe, 0);
  listener_->pipe.data = listener_;
  if (const int rc = uv_pipe_open(&listener_->pipe, fd); rc != 0) {
    ::close(fd);
    return fail("admin socket: " + path_ + ": " + uv_strerror(rc));
  }
  // Between bind and chmod the file has the umask's mode; the peer-uid check covers that gap.
  if (::chmod(path_.c_str(), 0600) != 0) {
    return fail("admin socket: cannot chmod 0600 " + path_ + ": " + std::strerror(errno));
  }
  const int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_->pipe), kBacklog,
                           [](uv_stream_t* s, int status) noexcept {
                             static_cast<Listener*>(s->data)->owner->on_connection(status);
                           });
  if (rc != 0) return fail("admin socket: cannot listen on " + path_ + ": " + uv_strerror(rc));
  return {};
}

bool AdminSocket::peer_allowed(uid_t peer_uid) const noexcept {
  return peer_uid == 0 || peer_uid == euid_;
}

void AdminSocket::on_connection(int status) noexcept {
  if (status != 0) return;
  const std::uint64_t id = next_id_++;
  auto* connection = new Connection(this, id);
  connections_.emplace(id, connection);
  if (!connection->accept(reinterpret_cast<uv_stream_t*>(&listener_->pipe))) {
    connection->close();
    return;
  }
  const std::optional<uid_t> uid = connection->peer_uid();
  if (!uid || !peer_allowed(*uid)) {
    ++counters_.forbidden;
    const std::string who = uid ? fmt::format("uid {}", *uid) : std::string("an unknown peer");
    const std::uint64_t now_ms = uv_now(loop_);
    if (counters_.forbidden == 1 || now_ms - last_forbidden_log_ms_ >= kForbiddenLogIntervalMs) {
      last_forbidden_log_ms_ = now_ms;
      spdlog::warn("admin socket: refused {} (pid {}); {} refused so far", who,
                   connection->peer_pid(), counters_.forbidden);
    }
    connection->refuse(make_error(code::kForbidden, who + " may not use this socket"));
    return;
  }
  if (connections_.size() > options_.max_connections) {
    ++counters_.busy;
    connection->refuse(make_error(
        code::kBusy,
        fmt::format("too many admin connections ({}); try again", options_.max_connections)));
    return;
  }
  ++counters_.accepted;
  connection->start();
}

void AdminSocket::forget(std::uint64_t id) noexcept {
  connections_.erase(id);
}

void AdminSocket::close() noexcept {
  // Unlink while our socket still holds its inode, so the check cannot match a newcomer.
  if (socket_ino_ != 0) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
      ::unlink(path_.c_str());
    }
    socket_ino_ = 0;
  }
  if (listener_ != nullptr) {
    close_and_delete<Listener>(reinterpret_cast<uv_handle_t*>(&listener_->pipe));
    listener_ = nullptr;
  }
  while (!connections_.empty()) connections_.begin()->second->close();
}

AdminSocket::~AdminSocket() {
  close();
}

}  // namespace holdfast::observe
