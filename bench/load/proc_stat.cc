// Reading /proc/PID/stat and /proc/PID/task/*/status.
#include "load/proc_stat.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace holdfast::bench {

std::optional<std::uint64_t> process_cpu_us(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // FORMAT: proc(5): "pid (comm) state ..."; comm may hold spaces and ')', so parse after the
  // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after comm.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i) {
    if (i == 12) utime = std::stoull(field);
    if (i == 13) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  const auto ticks_per_s = static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
  return (utime + stime) * 1'000'000 / ticks_per_s;
}

std::optional<Switches> process_switches(pid_t pid) {
  // FORMAT: proc(5): "voluntary_ctxt_switches:\t<n>" and "nonvoluntary_ctxt_switches:\t<n>".
  // /proc/PID/status counts the thread-group leader alone, so every task is read.
  std::error_code error;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", error);
  if (error) return std::nullopt;
  Switches total;
  for (const auto& task : tasks) {
    std::ifstream in(task.path() / "status");
    std::string key;
    std::uint64_t value = 0;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      if (!(fields >> key >> value)) continue;
      if (key == "voluntary_ctxt_switches:") total.voluntary += value;
      if (key == "nonvoluntary_ctxt_switches:") total.involuntary += value;
    }
  }
  return total;
}

std::uint64_t self_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto us = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

}  // namespace holdfast::bench
