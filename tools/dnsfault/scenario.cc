// The dec-2024 scenario: the 11 December 2024 incident in which a telemetry service overloaded
// the Kubernetes API servers and cluster DNS failed with them, compressed 60x (1 min -> 1 s).
#include "scenario.h"

namespace holdfast::dnsfault {
namespace {

// Offsets are minutes after 15:16 (first impact) read as seconds, plus a 30 s healthy lead-in
// so that caches are warm when the trouble starts, as they were:
//   15:16 first impact        +0   -> 30s   light degradation: slow answers, 10 % SERVFAIL
//   15:40 full impact         +24  -> 54s   full outage: the upstream takes queries, never answers
//   16:36 first recovery      +80  -> 110s  partial: half the queries still vanish, slow answers
//   17:36 substantial         +140 -> 170s  most answers back, some slow
//   17:45                     +149 -> 179s  stragglers: 2 % SERVFAIL
//   19:38 full recovery       +262 -> 292s  pass; 30 s tail to watch the refresh stampede
constexpr std::string_view kDec2024 = R"(# dec-2024: 11 December 2024, compressed 60x
at 0s healthy: pass
at 30s degraded: rcode SERVFAIL --probability 0.1; delay 300 100
at 54s outage: blackhole
at 110s "partial recovery": blackhole --probability 0.5; delay 400 200 pareto
at 170s "substantial recovery": blackhole --probability 0.05; delay 100 50
at 179s stragglers: rcode SERVFAIL --probability 0.02
at 292s recovered: pass
)";

constexpr Scenario kScenarios[] = {
    {"dec-2024",
     "11 December 2024 (15:16 first impact, 15:40 full impact, 16:36 first recovery, 17:36/17:45 "
     "substantial recovery, 19:38 full recovery), compressed 60x after a 30 s healthy lead-in",
     kDec2024, 322'000},
};

}  // namespace

const Scenario* find_scenario(std::string_view name) noexcept {
  for (const Scenario& s : kScenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string_view> scenario_names() {
  std::vector<std::string_view> out;
  for (const Scenario& s : kScenarios) out.push_back(s.name);
  return out;
}

}  // namespace holdfast::dnsfault
