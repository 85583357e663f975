// holdfastctl's command line: global options and one command, turned into the request to send.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

namespace holdfast::ctl {

struct Invocation {
  std::string socket_path;
  bool socket_given = false;  // --socket, rather than the default
  bool json_output = false;
  std::chrono::milliseconds timeout{5000};
  nlohmann::json request;  // {"cmd": ..., args}; files already made absolute
};

// Parses argv. Returns the invocation, or the exit code to leave with at once: 0 after
// --help, 2 after a usage error (CLI11 has printed the message).
std::variant<Invocation, int> parse_command_line(int argc, const char* const* argv);

// The text of `holdfastctl --help`'s footer: the exit codes.
extern const char* const kExitCodesHelp;

}  // namespace holdfast::ctl
