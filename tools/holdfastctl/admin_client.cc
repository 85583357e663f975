// Blocking Unix-socket client with a deadline.
#include "holdfastctl/admin_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"
#include "observe/admin_protocol.h"

namespace holdfast::ctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

tl::unexpected<ClientError> error(ExitCode code, std::string message) {
  return tl::unexpected(ClientError{code, std::move(message)});
}

// Milliseconds left until `deadline` (0 once it has passed), for poll().
int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the following read/write report the error
  }
}

ClientError connect_error(int err, const std::string& path, std::chrono::milliseconds timeout) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return {ExitCode::kNotRunning, "holdfast is not running (no socket at " + path + ")"};
    case ECONNREFUSED:
      return {ExitCode::kNotRunning,
              "holdfast is not running (nothing listens on the socket " + path + ")"};
    case EACCES:
    case EPERM:
      return {ExitCode::kPermissionDenied, permission_message(path)};
    case EAGAIN:
    case EINPROGRESS:
    case ETIMEDOUT:
      return {ExitCode::kTimeout, fmt::format("holdfast did not accept a connection on {} within "
                                              "{} ms (is its loop stuck?)",
                                              path, timeout.count())};
    default:
      return {ExitCode::kNotRunning, "cannot connect to " + path + ": " + std::strerror(err)};
  }
}

}  // namespace

std::string permission_message(const std::string& path) {
  struct stat st {};
  const std::string you = fmt::format("you are uid {}", geteuid());
  if (::stat(path.c_str(), &st) == 0) {
    return fmt::format(
        "permission denied on {}: only root and uid {} (the user holdfast runs as) may use it; {}",
        path, st.st_uid, you);
  }
  return fmt::format(
      "permission denied on {}: only root and the user holdfast runs as may use it; {}", path, you);
}

tl::expected<json, ClientError> call_admin(const std::string& path, const json& request,
                                           std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return error(ExitCode::kUsage, fmt::format("socket path must be 1 to {} bytes long: '{}'",
                                               sizeof(addr.sun_path) - 1, path));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return error(ExitCode::kTimeout, std::string("socket(): ") + strerror(errno));

  // A blocking connect to a Unix socket waits only while the listener's backlog is full;
  // SO_SNDTIMEO bounds that wait.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return tl::unexpected(connect_error(errno, path, timeout));
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);

  const std::string timed_out =
      fmt::format("no answer from holdfast within {} ms", timeout.count());
  const std::string line = observe::encode_line(request);
  for (std::size_t sent = 0; sent < line.size();) {
    if (!wait_for(fd.get(), POLLOUT, deadline)) return error(ExitCode::kTimeout, timed_out);
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) break;  // the daemon may have refused us and closed: read what it said
    sent += static_cast<std::size_t>(n);
  }

  std::string reply;
  char chunk[65536];
  for (std::size_t scanned = 0;;) {
    const std::size_t newline = reply.find('\n', scanned);
    if (newline != std::string::npos) {
      reply.resize(newline);
      break;
    }
    scanned = reply.size();
    if (!wait_for(fd.get(), POLLIN, deadline)) return error(ExitCode::kTimeout, timed_out);
    const ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      return error(ExitCode::kTimeout,
                   n == 0 ? "holdfast closed the connection without answering"
                          : std::string("reading the answer: ") + std::strerror(errno));
    }
    reply.append(chunk, static_cast<std::size_t>(n));
  }
  std::optional<json> response = observe::decode_line(reply);
  if (!response || !response->is_object() || !response->contains(observe::kOkKey) ||
      !(*response)[observe::kOkKey].is_boolean()) {
    return error(ExitCode::kTimeout,
                 "holdfast answered something that is not a response: " + reply.substr(0, 200));
  }
  return std::move(*response);
}

}  // namespace holdfast::ctl
