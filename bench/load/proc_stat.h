// CPU time of a process, from /proc: the server's cost, measured from outside.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>

namespace holdfast::bench {

// utime + stime of every thread of `pid` (/proc/PID/stat), in µs; nullopt when it is gone.
// The kernel counts in clock ticks (usually 10 ms), so use windows of seconds.
std::optional<std::uint64_t> process_cpu_us(pid_t pid);

// Context switches of every thread of `pid` (/proc/PID/task/*/status), summed; nullopt when it is
// gone. Voluntary ones are sleeps (each a wake-up later: an event loop's epoll_wait, a blocking
// recvmmsg), involuntary ones are preemptions (another task took the core: the host's stalls).
// A thread that exits between two readings takes its counts with it.
struct Switches {
  std::uint64_t voluntary = 0;
  std::uint64_t involuntary = 0;
};
std::optional<Switches> process_switches(pid_t pid);

// This process's own user + system CPU time (getrusage), in µs.
std::uint64_t self_cpu_us();

}  // namespace holdfast::bench
