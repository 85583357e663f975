// holdfastctl's side of the admin socket: one blocking request, one response, one deadline.
// Plain POSIX: the client has no loop, and must work with the network down.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace holdfast::ctl {

// holdfastctl's exit codes (also in its --help footer and resolver/observe/README.md).
enum class ExitCode : int {
  kOk = 0,
  kDaemonError = 1,       // the daemon answered {"ok": false, ...}
  kUsage = 2,             // bad command line
  kNotRunning = 3,        // no socket, or nobody listening on it
  kPermissionDenied = 4,  // EACCES on connect, or the daemon said "forbidden"
  kTimeout = 5,           // no answer in time, or an answer that is not a response
};

struct ClientError {
  ExitCode exit_code;
  std::string message;  // one line for stderr, without the program name
};

// Sends `request` as one line to the Unix socket at `path` and returns the first line of the
// reply as JSON: a response object, ok or not. Everything (connect, write, read) must finish
// within `timeout`.
tl::expected<nlohmann::json, ClientError> call_admin(const std::string& path,
                                                     const nlohmann::json& request,
                                                     std::chrono::milliseconds timeout);

// "permission denied on PATH: only root and uid N (the owner of the socket) may use it".
std::string permission_message(const std::string& path);

}  // namespace holdfast::ctl
