// `dnsfault proxy`: wires the listeners, the rule store, the schedule, the control API and the
// signals onto one libuv loop and runs it until SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace holdfast::dnsfault {

struct ProxyOptions {
  std::string listen;    // ADDR:PORT, UDP and TCP
  std::string upstream;  // ADDR:PORT
  std::string control;   // loopback ADDR:PORT, empty for none
  std::string rules_file;
  std::string schedule_file;
  std::optional<std::uint64_t> seed;  // random (and logged) when absent
  std::uint32_t upstream_timeout_ms = 5000;
};

// Returns the process exit status: 0 after a clean stop, 2 for bad options or files (one line
// on stderr naming the problem), 1 when a socket cannot be opened.
int run_proxy(const ProxyOptions& options);

}  // namespace holdfast::dnsfault
