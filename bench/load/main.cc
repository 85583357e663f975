// bench_load: flags -> query set -> UdpLoad::run() -> report. See bench/README.md.
#include <arpa/inet.h>
#include <sched.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "load/load_report.h"
#include "load/proc_stat.h"
#include "load/query_set.h"
#include "load/udp_load.h"

namespace {

using holdfast::bench::LoadOptions;

int pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

}  // namespace

int main(int argc, char** argv) {
  namespace bench = holdfast::bench;
  CLI::App app{"Batched UDP DNS load: closed loop (window) or open loop (--rate), one thread."};
  std::string server = "127.0.0.1";
  std::uint16_t port = 53;
  std::string query_file;
  std::string json_path;
  LoadOptions options;
  int server_pid = 0;
  int cpu = -1;
  bool edns = false;
  app.add_option("-s,--server", server, "server IPv4 address")->capture_default_str();
  app.add_option("-p,--port", port, "server port")->capture_default_str();
  app.add_option("-d,--queries", query_file, "dnsperf-format query file (NAME TYPE per line)")
      ->required();
  app.add_option("--sockets", options.sockets, "connected UDP sockets")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--window", options.window, "closed loop: queries outstanding at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--rate", options.rate_qps,
                 "open loop at this many queries a second (0: closed loop)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration", options.duration_s, "seconds of load")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--timeout-ms", options.timeout_ms, "a query without reply after this is lost")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  app.add_option("--batch", options.batch, "queries per sendmmsg")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--sample-every", options.sample_every, "record the latency of every Nth query")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-queries", options.max_queries,
                 "stop after sending this many queries (0: no limit)");
  app.add_option("--server-pid", server_pid,
                 "report this process's CPU time per answered query (/proc/PID/stat)");
  app.add_option("--cpu", cpu, "pin this process to CPU N")->check(CLI::NonNegativeNumber);
  app.add_flag("--busy-poll", options.busy_poll,
               "closed loop: poll instead of sleeping when the window is full");
  app.add_flag("--edns", edns, "add an OPT record (EDNS0, 1232-byte payload) to every query");
  app.add_option("--json", json_path, "also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  options.server.sin_family = AF_INET;
  options.server.sin_port = htons(port);
  if (inet_pton(AF_INET, server.c_str(), &options.server.sin_addr) != 1) {
    std::fprintf(stderr, "bench_load: not an IPv4 address: %s\n", server.c_str());
    return 2;
  }
  if (cpu >= 0 && pin_to_cpu(cpu) != 0) {
    std::perror("bench_load: sched_setaffinity");
    return 2;
  }
  auto queries = bench::QuerySet::load(query_file, edns ? bench::Edns::kOn : bench::Edns::kOff);
  if (!queries) {
    std::fprintf(stderr, "bench_load: %s\n", queries.error().c_str());
    return 2;
  }
  auto load = bench::UdpLoad::open(options, *queries);
  if (!load) {
    std::fprintf(stderr, "bench_load: %s\n", load.error().c_str());
    return 2;
  }

  bench::RunInfo info;
  info.server = server + ":" + std::to_string(port);
  info.query_file = query_file;
  info.query_count = queries->size();
  info.options = options;
  std::optional<std::uint64_t> server_cpu_before;
  std::optional<bench::Switches> server_switches_before;
  if (server_pid > 0) {
    info.server_pid = server_pid;
    server_switches_before = bench::process_switches(server_pid);
    server_cpu_before = bench::process_cpu_us(server_pid);
    if (!server_cpu_before) {
      std::fprintf(stderr, "bench_load: no process %d\n", server_pid);
      return 2;
    }
  }
  const std::uint64_t load_cpu_before = bench::self_cpu_us();
  const bench::LoadResult result = (*load)->run();
  info.load_cpu_us = bench::self_cpu_us() - load_cpu_before;
  if (server_cpu_before) {
    const auto after = bench::process_cpu_us(server_pid);
    if (after) info.server_cpu_us = *after - *server_cpu_before;
    const auto switches = bench::process_switches(server_pid);
    if (switches && server_switches_before) {
      // Clamped: a thread that exited in between took its counts with it.
      const auto since = [](std::uint64_t now, std::uint64_t then) {
        return now > then ? now - then : 0;
      };
      info.server_switches =
          bench::Switches{since(switches->voluntary, server_switches_before->voluntary),
                          since(switches->involuntary, server_switches_before->involuntary)};
    }
  }

  std::cout << bench::human_report(info, result);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << bench::json_report(info, result);
    if (!out) {
      std::fprintf(stderr, "bench_load: cannot write %s\n", json_path.c_str());
      return 2;
    }
  }
  return 0;
}
