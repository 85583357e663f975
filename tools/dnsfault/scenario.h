// Built-in drill scenarios: published incidents replayed as schedules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::dnsfault {

struct Scenario {
  std::string_view name;
  std::string_view description;
  std::string_view schedule;  // schedule-file text (see schedule.h)
  std::uint64_t duration_ms;  // the whole replay, tail included
};

// nullptr when there is no such scenario.
const Scenario* find_scenario(std::string_view name) noexcept;
std::vector<std::string_view> scenario_names();

}  // namespace holdfast::dnsfault
