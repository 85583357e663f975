// holdfastctl: command line -> one request on the admin socket -> a table (or JSON) and an exit
// code. Exit codes: admin_client.h, ExitCode.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <variant>

#include "holdfastctl/admin_client.h"
#include "holdfastctl/command_line.h"
#include "holdfastctl/render.h"
#include "holdfastctl/table.h"
#include "observe/admin_protocol.h"

namespace {

using nlohmann::json;
using namespace holdfast::ctl;
namespace observe = holdfast::observe;

// A user looking for their own daemon may be on a host where it runs as root.
std::string root_hint() {
  if (geteuid() == 0) return "";
  const std::string root_path(observe::kRootSocketPath);
  struct stat st {};
  const std::string dir = root_path.substr(0, root_path.rfind('/'));
  if (::stat(dir.c_str(), &st) != 0) return "";
  return "; a holdfast running as root listens on " + root_path + ": run holdfastctl as root";
}

int fail(ExitCode code, const std::string& message) {
  std::fprintf(stderr, "holdfastctl: %s\n", message.c_str());
  return static_cast<int>(code);
}

int run(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const Invocation& invocation = std::get<Invocation>(parsed);

  auto response = call_admin(invocation.socket_path, invocation.request, invocation.timeout);
  if (!response) {
    std::string message = response.error().message;
    if (response.error().exit_code == ExitCode::kNotRunning && !invocation.socket_given) {
      message += root_hint();
    }
    return fail(response.error().exit_code, message);
  }
  const json& reply = *response;
  if (!reply.at(observe::kOkKey).get<bool>()) {
    if (invocation.json_output) std::printf("%s\n", reply.dump(2).c_str());
    const std::string code = text(reply, observe::kCodeKey);
    if (code == observe::code::kForbidden) {
      return fail(ExitCode::kPermissionDenied,
                  "permission denied: " + text(reply, observe::kErrorKey) +
                      " (only root and the user holdfast runs as may use " +
                      invocation.socket_path + ")");
    }
    return fail(ExitCode::kDaemonError, text(reply, observe::kErrorKey) + " (" + code + ")");
  }
  const json& result = object_field(reply, observe::kResultKey);
  const std::string command = invocation.request.at(observe::kCmdKey).get<std::string>();
  const std::string out = invocation.json_output
                              ? result.dump(2, ' ', false, json::error_handler_t::replace) + "\n"
                              : render_result(command, result);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

// What escapes run() is, in practice, a reply whose JSON lacks a field or has another type
// (nlohmann::json throws): an answer that is not a response, exit code 5.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(ExitCode::kTimeout, std::string("unexpected answer: ") + e.what());
  } catch (...) {
    return fail(ExitCode::kTimeout, "unexpected answer");
  }
}
