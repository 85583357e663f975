// Admin protocol helpers.
#include "observe/admin_protocol.h"

#include <unistd.h>

#include <cstdlib>

namespace holdfast::observe {

using nlohmann::json;

json make_ok(json result) {
  json response = json::object();
  response[kOkKey] = true;
  response[kResultKey] = std::move(result);
  return response;
}

json make_error(std::string_view code, std::string_view message) {
  json response = json::object();
  response[kOkKey] = false;
  response[kCodeKey] = code;
  response[kErrorKey] = message;
  return response;
}

json make_unknown_command(std::string_view cmd) {
  return make_error(code::kUnknownCommand, "unknown command '" + std::string(cmd) + "'");
}

json make_request(std::string_view cmd) {
  json request = json::object();
  request[kCmdKey] = cmd;
  return request;
}

std::string encode_line(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

std::optional<json> decode_line(std::string_view line) {
  json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::optional<std::string> request_command(const json& request) {
  if (!request.is_object()) return std::nullopt;
  const auto found = request.find(kCmdKey);
  if (found == request.end() || !found->is_string()) return std::nullopt;
  return found->get<std::string>();
}

std::string default_socket_path(std::string_view state_dir) {
  return default_socket_path(state_dir, geteuid(), std::getenv("XDG_RUNTIME_DIR"));
}

std::string default_socket_path(std::string_view state_dir, unsigned euid,
                                const char* runtime_dir) {
  if (euid == 0) return std::string(kRootSocketPath);
  if (runtime_dir != nullptr && *runtime_dir == '/') {
    return std::string(runtime_dir) + "/holdfast/" + std::string(kSocketFileName);
  }
  std::string path(state_dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  return path + std::string(kSocketFileName);
}

}  // namespace holdfast::observe
