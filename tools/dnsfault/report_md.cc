// report.md: what happened, in one table a reader can take in at once.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <sstream>

#include "report.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

std::string utc_time(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string pct(double value) {
  return format_fixed(value, 1) + " %";
}

std::string ms(double value) {
  return format_fixed(value, value < 10 ? 2 : 0) + " ms";
}

std::string worst(const Summary& s) {
  if (!s.worst_second) return "—";
  return cat(
      {"t=", std::to_string(*s.worst_second), " s: ", pct(s.worst_availability_pct), " answered"});
}

std::string outage_p99(const Summary& s) {
  if (s.outage_latency.samples == 0) return "—";
  return ms(s.outage_latency.p99_ms) +
         (s.outage_is_whole_run ? " (no fault phase: whole run)" : "");
}

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

void write_header(std::ostringstream& md, const DrillConfig& c) {
  md << "# dnsfault drill report\n\n";
  md << "- target: `" << c.target << "`";
  if (!c.baseline.empty()) md << " · baseline (without Holdfast): `" << c.baseline << "`";
  const bool whole = c.rate_qps == std::floor(c.rate_qps);
  md << "\n- load: " << format_fixed(c.rate_qps, whole ? 0 : 1) << " queries/s over " << c.names
     << " names (" << c.names_file << "), UDP, " << c.timeout_ms << " ms timeout, "
     << format_duration_ms(c.duration_ms) << "\n";
  md << "- schedule: "
     << (c.schedule.empty() ? "none (measure only)" : cat({"`", c.schedule, "`"}));
  if (!c.scenario_description.empty()) md << " — " << c.scenario_description;
  md << "\n";
  if (!c.proxy_control.empty()) md << "- fault proxy control API: `" << c.proxy_control << "`\n";
  md << "- started: " << utc_time(c.started_unix_ms) << "\n\n";
}

std::string recovery_peak(const DrillReport& r) {
  if (r.recovery.peak_qps) {
    return cat({std::to_string(*r.recovery.peak_qps),
                " queries/s at t=", std::to_string(*r.recovery.peak_second), " s (recovery from t=",
                format_fixed(static_cast<double>(*r.recovery.start_ms) / 1000.0, 1), " s)"});
  }
  if (r.upstream.empty()) return "— (no --proxy-control)";
  if (!r.recovery.start_ms) return "— (no fault phase)";
  return "—";
}

void write_summary(std::ostringstream& md, const DrillReport& r) {
  const Summary* b = r.baseline_summary ? &*r.baseline_summary : nullptr;
  md << "## Summary\n\n| | with Holdfast (target)" << (b ? " | without Holdfast (baseline)" : "")
     << " |\n|---|---:" << (b ? "|---:" : "") << "|\n";
  auto row = [&](std::string_view name, std::string (*cell)(const Summary&)) {
    md << "| " << name << " | " << cell(r.target_summary);
    if (b) md << " | " << cell(*b);
    md << " |\n";
  };
  row("queries sent", [](const Summary& s) { return std::to_string(s.totals.sent); });
  row("**availability** (answered / sent)", [](const Summary& s) {
    return cat({"**", pct(s.availability_pct), "**"});
  });
  row("stale answers (EDE 3/19) / sent", [](const Summary& s) { return pct(s.stale_pct); });
  row("answered / failed / timeouts", [](const Summary& s) {
    return cat({std::to_string(s.totals.answered()), " / ", std::to_string(s.totals.failed()),
                " / ", std::to_string(s.totals.timeouts)});
  });
  row("SERVFAIL", [](const Summary& s) { return std::to_string(s.totals.servfail); });
  row("worst second", worst);
  row("p99 latency during the outage", outage_p99);
  row("p50 / p99 latency, whole run", [](const Summary& s) {
    return s.latency.samples ? cat({ms(s.latency.p50_ms), " / ", ms(s.latency.p99_ms)})
                             : std::string("—");
  });
  md << "| peak upstream rate during recovery | " << recovery_peak(r) << (b ? " | —" : "")
     << " |\n\n";
}

void write_phases(std::ostringstream& md, const DrillReport& r) {
  if (!r.phases.empty()) {
    md << "## Phases\n\n| from | to | phase | rules |\n|---:|---:|---|---|\n";
    for (const Phase& p : r.phases) {
      md << "| " << format_fixed(static_cast<double>(p.start_ms) / 1000.0, 1) << " s | "
         << format_fixed(static_cast<double>(p.end_ms) / 1000.0, 1) << " s | "
         << markdown_cell(p.label) << (p.fault ? " (fault)" : "") << " | `" << markdown_cell(p.text)
         << "` |\n";
    }
    md << "\n";
  }
  if (!r.switches.empty()) {
    std::uint64_t worst_lag = 0;
    std::size_t errors = 0;
    for (const SwitchRecord& s : r.switches) {
      worst_lag = std::max(worst_lag, s.actual_ms > s.planned_ms ? s.actual_ms - s.planned_ms : 0);
      errors += s.error.empty() ? 0 : 1;
    }
    md << "Schedule switches sent to the proxy: " << r.switches.size() << ", latest " << worst_lag
       << " ms after its planned time, " << errors << " failed.\n\n";
  }
}

void write_notes(std::ostringstream& md, const DrillReport& r) {
  md << "## Timeline\n\n"
        "![per-second answered, stale and failed queries and upstream rate](timeline.svg)\n\n"
        "## How to read this\n\n"
        "- Each query counts in the second it was sent: sent = answered + failed + timeouts.\n"
        "- answered: NOERROR (with or without data), NXDOMAIN, or any answer marked stale "
        "(EDE 3 or 19); failed: SERVFAIL, other error rcodes, TC=1, malformed; timeouts: no "
        "answer within "
     << r.config.timeout_ms
     << " ms.\n"
        "- Latency percentiles count a timeout as the timeout itself.\n"
        "- The outage is every phase whose rules do more than pass; recovery starts at the end "
        "of the longest such phase.\n"
        "- The upstream rate is the queries reaching the fault proxy per second"
     << (r.baseline_through_proxy
             ? ", less the baseline's own queries (it goes through the same proxy)"
             : "")
     << ": how hard the resolver leans on its upstream.\n"
        "- report.json holds every per-second record.\n";
}

}  // namespace

std::string report_markdown(const DrillReport& report) {
  std::ostringstream md;
  write_header(md, report.config);
  write_summary(md, report);
  write_phases(md, report);
  write_notes(md, report);
  return md.str();
}

}  // namespace holdfast::dnsfault
