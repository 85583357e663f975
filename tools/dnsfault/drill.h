// `dnsfault drill`: bounded client load against a resolver while a fault schedule plays on the
// proxy, optionally the same load straight at the upstream path (--baseline), then the reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace holdfast::dnsfault {

struct DrillOptions {
  std::string target;  // ADDR:PORT of the resolver under test
  std::string names_file;
  double rate_qps = 0;
  std::optional<double> duration_s;  // required unless a scenario gives it
  std::string schedule_file;
  std::string scenario;       // "dec-2024"
  std::string proxy_control;  // the fault proxy's control API
  std::string baseline;       // ADDR:PORT: the same load without Holdfast
  std::string out_dir;
  std::uint32_t timeout_ms = 2000;
};

inline constexpr double kMaxDrillRate = 20'000;
inline constexpr double kMaxDrillSeconds = 24 * 3600;

// 0 when the reports are written, 2 for bad options or files, 1 for run-time failures.
int run_drill(const DrillOptions& options);

}  // namespace holdfast::dnsfault
