// What bench_load prints: a human summary and a JSON document of the same figures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <sys/types.h>

#include "load/proc_stat.h"
#include "load/udp_load.h"

namespace holdfast::bench {

struct RunInfo {
  std::string server;  // "127.0.0.1:5353"
  std::string query_file;
  std::size_t query_count = 0;
  LoadOptions options;
  std::optional<pid_t> server_pid;
  std::optional<std::uint64_t> server_cpu_us;  // over run(), when --server-pid was given
  std::optional<Switches> server_switches;     // over run(), when --server-pid was given
  std::uint64_t load_cpu_us = 0;               // this process, over run()
};

std::string human_report(const RunInfo& info, const LoadResult& result);
std::string json_report(const RunInfo& info, const LoadResult& result);

}  // namespace holdfast::bench
