// A finished drill, and the three views of it written to --out: report.json (everything),
// report.md (the summary table) and timeline.svg (the chart).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drill_control.h"
#include "drill_stats.h"
#include "schedule.h"

namespace holdfast::dnsfault {

struct DrillConfig {
  std::string target;
  std::string baseline;       // empty: none
  std::string proxy_control;  // empty: none
  std::string names_file;
  std::size_t names = 0;
  double rate_qps = 0;
  std::uint64_t duration_ms = 0;
  std::uint32_t timeout_ms = 0;
  std::string schedule;  // "dec-2024", a file name, or empty
  std::string scenario_description;
  std::int64_t started_unix_ms = 0;
};

struct UpstreamSecond {
  std::optional<std::uint64_t> received;   // queries reaching the proxy in this second
  std::optional<std::uint64_t> forwarded;  // queries it sent on to the real upstream
  // The resolver's own queries to the upstream path: `received`, less the baseline's queries
  // when the baseline goes through the same proxy.
  std::optional<std::uint64_t> from_target;
};

struct DrillReport {
  DrillConfig config;
  std::vector<Phase> phases;
  std::vector<SwitchRecord> switches;
  Series target;
  Summary target_summary;
  std::optional<Series> baseline;
  std::optional<Summary> baseline_summary;
  bool baseline_through_proxy = false;
  std::vector<UpstreamSecond> upstream;  // empty without --proxy-control
  Recovery recovery;
};

nlohmann::json report_json(const DrillReport& report);
std::string report_markdown(const DrillReport& report);
std::string timeline_svg(const DrillReport& report);

// "12.3" with one decimal; "—" for nullopt.
std::string format_fixed(double value, int decimals);

}  // namespace holdfast::dnsfault
