// CoreDNS's -pidfile: the daemon's process ID in a file, for scripts and supervisors.
#pragma once

#include <string>

#include "base/result.h"

namespace holdfast {

// Writes "PID\n" to `path` (replacing it atomically). Error: "pidfile PATH: REASON".
Result<void> write_pidfile(const std::string& path);

// Removes `path` if it still holds this process's ID (a successor may have replaced it).
void remove_pidfile(const std::string& path) noexcept;

}  // namespace holdfast
