// report.json: configuration, phases, switches, per-second records and summaries.
#include <cmath>
#include <cstdio>

#include "report.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

json optional_json(const std::optional<std::uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

json latency_json(const LatencySummary& l) {
  return json{{"samples", l.samples},
              {"p50_ms", round3(l.p50_ms)},
              {"p99_ms", round3(l.p99_ms)},
              {"max_ms", round3(l.max_ms)}};
}

json counts_json(const SecondCounts& c) {
  return json{{"sent", c.sent},
              {"answered", c.answered()},
              {"failed", c.failed()},
              {"timeouts", c.timeouts},
              {"noerror_data", c.noerror_data},
              {"nodata", c.nodata},
              {"nxdomain", c.nxdomain},
              {"stale", c.stale},
              {"servfail", c.servfail},
              {"other_rcode", c.other_rcode},
              {"truncated", c.truncated},
              {"malformed", c.malformed}};
}

json series_json(const Series& series, const Summary& summary,
                 const std::vector<UpstreamSecond>& upstream) {
  json seconds = json::array();
  for (std::size_t k = 0; k < series.seconds.size(); ++k) {
    json s = counts_json(series.seconds[k]);
    s["t"] = k;
    const LatencySummary& l = summary.per_second[k];
    s["latency_p50_ms"] = round3(l.p50_ms);
    s["latency_p99_ms"] = round3(l.p99_ms);
    s["latency_max_ms"] = round3(l.max_ms);
    if (k < upstream.size()) s["upstream_qps"] = optional_json(upstream[k].from_target);
    seconds.push_back(std::move(s));
  }
  json out{{"role", series.role},
           {"address", series.address},
           {"ignored_responses", series.ignored_responses},
           {"totals", counts_json(summary.totals)},
           {"availability_pct", round3(summary.availability_pct)},
           {"stale_pct", round3(summary.stale_pct)},
           {"latency", latency_json(summary.latency)},
           {"outage_latency", latency_json(summary.outage_latency)},
           {"outage_is_whole_run", summary.outage_is_whole_run},
           {"seconds", seconds}};
  out["worst_second"] = summary.worst_second
                            ? json{{"t", *summary.worst_second},
                                   {"availability_pct", round3(summary.worst_availability_pct)}}
                            : json(nullptr);
  return out;
}

}  // namespace

json report_json(const DrillReport& r) {
  const DrillConfig& c = r.config;
  json phases = json::array();
  for (const Phase& p : r.phases) {
    phases.push_back({{"start_ms", p.start_ms},
                      {"end_ms", p.end_ms},
                      {"label", p.label},
                      {"rules", p.text},
                      {"fault", p.fault}});
  }
  json switches = json::array();
  for (const SwitchRecord& s : r.switches) {
    switches.push_back({{"planned_ms", s.planned_ms},
                        {"actual_ms", s.actual_ms},
                        {"label", s.label},
                        {"error", s.error.empty() ? json(nullptr) : json(s.error)}});
  }
  json upstream = json::array();
  for (std::size_t k = 0; k < r.upstream.size(); ++k) {
    const UpstreamSecond& u = r.upstream[k];
    upstream.push_back({{"t", k},
                        {"received", optional_json(u.received)},
                        {"forwarded", optional_json(u.forwarded)},
                        {"from_target", optional_json(u.from_target)}});
  }
  json out{
      {"config",
       {{"target", c.target},
        {"baseline", c.baseline.empty() ? json(nullptr) : json(c.baseline)},
        {"proxy_control", c.proxy_control.empty() ? json(nullptr) : json(c.proxy_control)},
        {"names_file", c.names_file},
        {"names", c.names},
        {"rate_qps", c.rate_qps},
        {"duration_ms", c.duration_ms},
        {"timeout_ms", c.timeout_ms},
        {"schedule", c.schedule.empty() ? json(nullptr) : json(c.schedule)},
        {"scenario_description", c.scenario_description},
        {"started_unix_ms", c.started_unix_ms}}},
      {"phases", phases},
      {"switches", switches},
      {"target", series_json(r.target, r.target_summary, r.upstream)},
      {"baseline", r.baseline ? series_json(*r.baseline, *r.baseline_summary, {}) : json(nullptr)},
      {"baseline_through_proxy", r.baseline_through_proxy},
      {"upstream", upstream},
      {"recovery",
       {{"start_ms", optional_json(r.recovery.start_ms)},
        {"peak_upstream_qps", optional_json(r.recovery.peak_qps)},
        {"peak_t", r.recovery.peak_second ? json(*r.recovery.peak_second) : json(nullptr)}}},
  };
  return out;
}

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

}  // namespace holdfast::dnsfault
