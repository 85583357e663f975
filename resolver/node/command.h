// Runs an external program (iptables) and collects what it prints. Safe in a multi-threaded
// process (posix_spawn); blocks the calling thread, so call it from a worker, never the loop.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace holdfast::node {

struct CommandResult {
  int exit_code = -1;  // -1: could not be started or was killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// argv[0] is looked up in PATH; /usr/sbin and /sbin are appended to PATH for the search. The
// program reads `input` on its standard input (at most 64 KiB: it is written into the pipe before
// the program starts; longer input fails with exit code -1), else /dev/null.
CommandResult run_command(const std::vector<std::string>& argv, std::string_view input = {});

}  // namespace holdfast::node
