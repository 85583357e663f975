// Formatting the results.
#include "load/load_report.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace holdfast::bench {

namespace {

const char* rcode_name(std::size_t rcode) {
  static const char* const kNames[16] = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
  return kNames[rcode & 0x0f];
}

double answered_qps(const LoadResult& r) {
  return r.elapsed_s > 0 ? static_cast<double>(r.counters.answered) / r.elapsed_s : 0;
}

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

}  // namespace

std::string human_report(const RunInfo& info, const LoadResult& r) {
  const auto& c = r.counters;
  std::string out;
  if (info.options.rate_qps > 0) {
    out += format("bench_load: open loop at %.0f q/s", info.options.rate_qps);
  } else {
    out += format("bench_load: closed loop, window %d", info.options.window);
  }
  out += format(", %d sockets, %.2f s (+%.3f s drain), %s, %zu queries from %s\n",
                info.options.sockets, r.elapsed_s, r.drain_s, info.server.c_str(), info.query_count,
                info.query_file.c_str());
  const double lost_pct =
      c.sent ? 100.0 * static_cast<double>(c.lost) / static_cast<double>(c.sent) : 0;
  out += format(
      "  sent %llu  answered %llu  lost %llu (%.3f %%)  late %llu  unexpected %llu  truncated "
      "%llu\n",
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.answered),
      static_cast<unsigned long long>(c.lost), lost_pct, static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.unexpected), static_cast<unsigned long long>(c.truncated));
  if (c.send_blocked || c.send_errors || c.behind) {
    out += format("  send: blocked %llu  errors %llu  behind schedule at the end %llu\n",
                  static_cast<unsigned long long>(c.send_blocked),
                  static_cast<unsigned long long>(c.send_errors),
                  static_cast<unsigned long long>(c.behind));
  }
  out += format("  answered q/s %.0f\n", answered_qps(r));
  const auto& l = r.latency;
  out += format(
      "  latency µs (%zu samples): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
      l.samples, l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us, l.mean_us);
  out += "  rcodes:";
  for (std::size_t i = 0; i < c.rcodes.size(); ++i) {
    if (c.rcodes[i])
      out += format(" %s %llu", rcode_name(i), static_cast<unsigned long long>(c.rcodes[i]));
  }
  out += "\n";
  if (info.server_cpu_us) {
    const double cpu_s = static_cast<double>(*info.server_cpu_us) / 1e6;
    out += format(
        "  server pid %d: CPU %.2f s (%.1f %% of one core), %.3f µs per answered query\n",
        static_cast<int>(*info.server_pid), cpu_s, 100.0 * cpu_s / (r.elapsed_s + r.drain_s),
        c.answered ? static_cast<double>(*info.server_cpu_us) / static_cast<double>(c.answered)
                   : 0.0);
  }
  if (info.server_switches) {
    const auto& sw = *info.server_switches;
    out += format(
        "  server slept %llu times (%.2f per answered query), was preempted %llu times (%.0f/s)\n",
        static_cast<unsigned long long>(sw.voluntary),
        c.answered ? static_cast<double>(sw.voluntary) / static_cast<double>(c.answered) : 0.0,
        static_cast<unsigned long long>(sw.involuntary),
        static_cast<double>(sw.involuntary) / (r.elapsed_s + r.drain_s));
  }
  const double load_s = static_cast<double>(info.load_cpu_us) / 1e6;
  out += format("  load CPU %.2f s (%.1f %% of one core)\n", load_s,
                100.0 * load_s / (r.elapsed_s + r.drain_s));
  return out;
}

std::string json_report(const RunInfo& info, const LoadResult& r) {
  const auto& c = r.counters;
  nlohmann::json rcodes = nlohmann::json::object();
  for (std::size_t i = 0; i < c.rcodes.size(); ++i) {
    if (c.rcodes[i]) rcodes[rcode_name(i)] = c.rcodes[i];
  }
  nlohmann::json j = {
      {"server", info.server},
      {"query_file", info.query_file},
      {"queries_in_file", info.query_count},
      {"mode", info.options.rate_qps > 0 ? "open" : "closed"},
      {"rate_qps", info.options.rate_qps},
      {"window", info.options.window},
      {"sockets", info.options.sockets},
      {"timeout_ms", info.options.timeout_ms},
      {"elapsed_s", r.elapsed_s},
      {"drain_s", r.drain_s},
      {"sent", c.sent},
      {"answered", c.answered},
      {"lost", c.lost},
      {"late", c.late},
      {"unexpected", c.unexpected},
      {"truncated", c.truncated},
      {"send_blocked", c.send_blocked},
      {"send_errors", c.send_errors},
      {"behind", c.behind},
      {"answered_qps", answered_qps(r)},
      {"rcodes", rcodes},
      {"latency_us",
       {{"samples", r.latency.samples},
        {"samples_dropped", r.samples_dropped},
        {"p50", r.latency.p50_us},
        {"p90", r.latency.p90_us},
        {"p99", r.latency.p99_us},
        {"p99_9", r.latency.p999_us},
        {"max", r.latency.max_us},
        {"mean", r.latency.mean_us}}},
      {"load_cpu_s", static_cast<double>(info.load_cpu_us) / 1e6},
  };
  if (info.server_cpu_us) {
    j["server_pid"] = *info.server_pid;
    j["server_cpu_s"] = static_cast<double>(*info.server_cpu_us) / 1e6;
    j["server_cpu_us_per_answer"] =
        c.answered ? static_cast<double>(*info.server_cpu_us) / static_cast<double>(c.answered)
                   : 0.0;
  }
  if (info.server_switches) {
    // Each sleep is a wake-up: at a fixed rate far below the server's max, its CPU per query is
    // mostly what a wake-up costs, so this says why two servers differ there.
    const auto& sw = *info.server_switches;
    j["server_wakeups"] = sw.voluntary;
    j["server_wakeups_per_answer"] =
        c.answered ? static_cast<double>(sw.voluntary) / static_cast<double>(c.answered) : 0.0;
    j["server_preemptions"] = sw.involuntary;
    j["server_preemptions_per_s"] = static_cast<double>(sw.involuntary) / (r.elapsed_s + r.drain_s);
  }
  return j.dump(2) + "\n";
}

}  // namespace holdfast::bench
