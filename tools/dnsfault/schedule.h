// Fault schedules: a timeline of rule sets, with `repeat` for flapping. Parsed once; walked by a
// cursor (the proxy's timer, the drill's control thread, the report's phases).
//
//   # comment
//   at OFFSET [LABEL:] RULE [; RULE ...]     switch to this rule set OFFSET after the start
//   repeat every PERIOD [times N]             repeat the `at` lines since the previous `repeat`
//                                             (or the top): forever, or N times in all
//
//   at 0s pass
//   at 10s outage: blackhole
//   at 70s delay 800 200
//   at 130s pass
//   at 140s up: pass
//   at 145s down: blackhole
//   repeat every 10s times 6                  flapping: 5 s up / 5 s down, until 200s
//   at 200s pass
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "rule.h"

namespace holdfast::dnsfault {

struct ScheduleEntry {
  std::uint64_t offset_ms = 0;
  std::string label;  // from "LABEL:", else empty
  RuleSetPtr rules;   // never null; shared by the copies a `repeat ... times N` makes
  std::string text;   // the rule set in canonical text form
  std::size_t line = 0;
};

struct Schedule {
  std::vector<ScheduleEntry> entries;  // offsets strictly increasing
  // An endless `repeat`: entries[loop_first..] come back every loop_period_ms, forever.
  std::optional<std::size_t> loop_first;
  std::uint64_t loop_period_ms = 0;
};

inline constexpr std::size_t kMaxScheduleEntries = 10'000;

// Errors read "SOURCE:LINE: ...".
Result<Schedule> parse_schedule(std::string_view text, std::string_view source);

// The switches of a schedule in time order, through its repeats.
class ScheduleCursor {
 public:
  struct Step {
    std::uint64_t at_ms = 0;
    const ScheduleEntry* entry = nullptr;  // points into the schedule, which must outlive this
  };

  explicit ScheduleCursor(const Schedule& schedule) noexcept : schedule_(&schedule) {}
  // The next switch; nullopt once a schedule without an endless repeat is used up.
  std::optional<Step> next() noexcept;

 private:
  const Schedule* schedule_;
  std::size_t index_ = 0;
  std::uint64_t cycle_ = 0;
};

struct Phase {
  std::uint64_t start_ms = 0;
  std::uint64_t end_ms = 0;
  std::string label;  // the entry's label, else its rule text
  std::string text;   // rule set text
  bool fault = false;
};

// The phases in [0, duration_ms): a pass-through phase before the first switch when it is not at
// 0, then one per switch, the last clipped at duration_ms. At most kMaxPhases.
inline constexpr std::size_t kMaxPhases = 100'000;
std::vector<Phase> schedule_phases(const Schedule& schedule, std::uint64_t duration_ms);

}  // namespace holdfast::dnsfault
