// The admin socket's wire format, shared by the daemon (AdminSocket) and holdfastctl: JSON lines,
// request and response shapes, error codes, and where the socket lives by default.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace holdfast::observe {

// FORMAT: one JSON object per line ('\n'), one response line per request, in order.
inline constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;

// Where a daemon running as root listens.
inline constexpr std::string_view kRootSocketPath = "/run/holdfast/admin.sock";
inline constexpr std::string_view kSocketFileName = "admin.sock";

// FORMAT: request and response keys.
inline constexpr std::string_view kCmdKey = "cmd";
inline constexpr std::string_view kOkKey = "ok";
inline constexpr std::string_view kResultKey = "result";
inline constexpr std::string_view kCodeKey = "code";
inline constexpr std::string_view kErrorKey = "error";

// FORMAT: the commands (README.md, "Admin socket protocol", has every argument and result).
namespace cmd {
inline constexpr std::string_view kStats = "stats";
inline constexpr std::string_view kLookup = "lookup";
inline constexpr std::string_view kDump = "dump";
inline constexpr std::string_view kFlush = "flush";
inline constexpr std::string_view kPin = "pin";
inline constexpr std::string_view kUnpin = "unpin";
inline constexpr std::string_view kStaleMode = "stale-mode";
inline constexpr std::string_view kUpstream = "upstream";
inline constexpr std::string_view kSnapshotExport = "snapshot-export";
inline constexpr std::string_view kSnapshotImport = "snapshot-import";
}  // namespace cmd

// FORMAT: the error codes of {"ok": false, "code": ...}.
namespace code {
inline constexpr std::string_view kBadRequest = "bad_request";  // not JSON, too long, no "cmd"
inline constexpr std::string_view kForbidden = "forbidden";     // peer uid not allowed
inline constexpr std::string_view kBusy = "busy";               // too many admin connections
inline constexpr std::string_view kUnknownCommand = "unknown_command";
inline constexpr std::string_view kInvalidArgument = "invalid_argument";  // missing or bad arg
inline constexpr std::string_view kNotFound = "not_found";  // e.g. no such upstream address
inline constexpr std::string_view kFailed = "failed";       // understood, but could not be done
inline constexpr std::string_view kInternal = "internal";   // a bug in the daemon
}  // namespace code

// {"ok": true, "result": result}.
nlohmann::json make_ok(nlohmann::json result);
// {"ok": false, "code": code, "error": message}.
nlohmann::json make_error(std::string_view code, std::string_view message);
// {"ok": false, "code": "unknown_command", ...} naming `cmd`.
nlohmann::json make_unknown_command(std::string_view cmd);

// {"cmd": cmd}; add arguments with request["name"] = ...
nlohmann::json make_request(std::string_view cmd);

// Serialises one request or response as a line (newline included). Strings that are not valid
// UTF-8 (a hostile name) are replaced, never thrown on.
std::string encode_line(const nlohmann::json& message);

// Parses one line (without its newline); nullopt when it is not JSON. Never throws.
std::optional<nlohmann::json> decode_line(std::string_view line);

// The "cmd" of a request, or nullopt when the request is not an object with a string "cmd".
std::optional<std::string> request_command(const nlohmann::json& request);

// What the daemon does with a request. Called on the loop that owns the AdminSocket, once per
// request line, in order; it returns the whole response object (make_ok / make_error), and
// make_unknown_command for a "cmd" it does not know. It must not block the loop for long: the
// admin socket shares the loop with DNS traffic.
class AdminHandler {
 public:
  virtual ~AdminHandler() = default;
  virtual nlohmann::json handle(const nlohmann::json& request) noexcept = 0;
};

// The default socket path: /run/holdfast/admin.sock when the effective uid is 0, else
// $XDG_RUNTIME_DIR/holdfast/admin.sock (when set and absolute), else STATE_DIR/admin.sock.
std::string default_socket_path(std::string_view state_dir);
// The same for a given euid and $XDG_RUNTIME_DIR (nullptr: unset).
std::string default_socket_path(std::string_view state_dir, unsigned euid, const char* runtime_dir);

}  // namespace holdfast::observe
