// Parsing schedule files into a flat timeline (finite repeats expanded) and walking it.
#include "schedule.h"

#include <algorithm>
#include <memory>
#include <span>

#include "text.h"

namespace holdfast::dnsfault {
namespace {

struct Parser {
  std::string_view source;
  Schedule schedule;
  std::size_t group_first = 0;        // first entry of the group the next `repeat` repeats
  std::uint64_t min_next_offset = 0;  // an `at` must not be earlier (after a repeat: its end)
  bool endless = false;
  std::size_t line_number = 0;

  tl::unexpected<Error> error(const std::string& message) const {
    return tl::unexpected<Error>(
        Error{std::string(source) + ":" + std::to_string(line_number) + ": " + message});
  }

  Result<void> at(const std::vector<std::string>& tokens) {
    if (endless) return error("nothing can follow an endless 'repeat' (add 'times N')");
    if (tokens.size() < 3) return error("expected 'at OFFSET [LABEL:] RULE [; RULE ...]'");
    auto offset = parse_duration_ms(tokens[1]);
    if (!offset) return error(offset.error().message);
    if (!schedule.entries.empty() && *offset <= schedule.entries.back().offset_ms) {
      return error("offset " + tokens[1] + " is not after the previous entry (" +
                   format_duration_ms(schedule.entries.back().offset_ms) + ")");
    }
    if (*offset < min_next_offset) {
      return error("offset " + tokens[1] + " falls inside the repeat above, which ends at " +
                   format_duration_ms(min_next_offset));
    }
    ScheduleEntry entry;
    entry.offset_ms = *offset;
    entry.line = line_number;
    std::size_t skip = 2;
    if (tokens[2].size() > 1 && tokens[2].back() == ':') {
      entry.label = tokens[2].substr(0, tokens[2].size() - 1);
      skip = 3;
      if (tokens.size() < 4) return error("label '" + entry.label + "' has no rule after it");
    }
    auto rules = parse_rule_list(std::span<const std::string>(tokens).subspan(skip));
    if (!rules) return error(rules.error().message);
    entry.text = rule_set_to_text(*rules);
    entry.rules = std::make_shared<const RuleSet>(std::move(*rules));
    schedule.entries.push_back(std::move(entry));
    return {};
  }

  Result<void> repeat(const std::vector<std::string>& tokens) {
    if (endless) return error("only one endless 'repeat' is allowed, at the end");
    if (tokens.size() < 3 || tokens[1] != "every" || (tokens.size() != 3 && tokens.size() != 5) ||
        (tokens.size() == 5 && tokens[3] != "times")) {
      return error("expected 'repeat every PERIOD [times N]'");
    }
    auto period = parse_duration_ms(tokens[2]);
    if (!period) return error(period.error().message);
    if (group_first >= schedule.entries.size())
      return error("'repeat' has no 'at' lines to repeat");
    const std::uint64_t first = schedule.entries[group_first].offset_ms;
    const std::uint64_t last = schedule.entries.back().offset_ms;
    if (*period == 0 || last - first >= *period) {
      return error("period " + tokens[2] + " must be longer than the repeated lines span (" +
                   format_duration_ms(last - first) + ")");
    }
    if (tokens.size() == 3) {
      endless = true;
      schedule.loop_first = group_first;
      schedule.loop_period_ms = *period;
      return {};
    }
    auto times = parse_uint(tokens[4], kMaxScheduleEntries);
    if (!times || *times == 0) return error("'times' expects a count >= 1");
    const std::size_t group_end = schedule.entries.size();
    const std::size_t group_size = group_end - group_first;
    if (schedule.entries.size() + group_size * (*times - 1) > kMaxScheduleEntries) {
      return error("the repeat makes more than " + std::to_string(kMaxScheduleEntries) +
                   " entries");
    }
    for (std::uint64_t k = 1; k < *times; ++k) {
      for (std::size_t i = group_first; i < group_end; ++i) {
        ScheduleEntry copy = schedule.entries[i];
        copy.offset_ms += k * *period;
        schedule.entries.push_back(std::move(copy));
      }
    }
    min_next_offset = first + *times * *period;
    group_first = schedule.entries.size();
    return {};
  }
};

}  // namespace

Result<Schedule> parse_schedule(std::string_view text, std::string_view source) {
  Parser parser{source, {}, 0, 0, false, 0};
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++parser.line_number;
    auto tokens = tokenize(line);
    if (!tokens) return parser.error(tokens.error().message);
    if (tokens->empty()) continue;
    Result<void> ok;
    if ((*tokens)[0] == "at") {
      ok = parser.at(*tokens);
    } else if ((*tokens)[0] == "repeat") {
      ok = parser.repeat(*tokens);
    } else {
      ok = parser.error("unknown directive '" + (*tokens)[0] + "' (expected 'at' or 'repeat')");
    }
    if (!ok) return tl::unexpected(ok.error());
  }
  if (parser.schedule.entries.empty()) {
    return fail(std::string(source) + ": the schedule has no 'at' lines");
  }
  return std::move(parser.schedule);
}

std::optional<ScheduleCursor::Step> ScheduleCursor::next() noexcept {
  const auto& entries = schedule_->entries;
  if (index_ >= entries.size()) {
    if (!schedule_->loop_first) return std::nullopt;
    index_ = *schedule_->loop_first;
    ++cycle_;
  }
  const ScheduleEntry& entry = entries[index_++];
  return Step{entry.offset_ms + cycle_ * schedule_->loop_period_ms, &entry};
}

std::vector<Phase> schedule_phases(const Schedule& schedule, std::uint64_t duration_ms) {
  std::vector<Phase> phases;
  ScheduleCursor cursor(schedule);
  auto step = cursor.next();
  if (step && step->at_ms > 0) {
    phases.push_back(Phase{0, step->at_ms, "before schedule", "pass", false});
  }
  while (step && step->at_ms < duration_ms && phases.size() < kMaxPhases) {
    const ScheduleEntry& entry = *step->entry;
    Phase phase{step->at_ms, duration_ms, entry.label.empty() ? entry.text : entry.label,
                entry.text, is_fault(*entry.rules)};
    step = cursor.next();
    if (step && step->at_ms < duration_ms) phase.end_ms = step->at_ms;
    phases.push_back(std::move(phase));
  }
  for (Phase& phase : phases) phase.end_ms = std::min(phase.end_ms, duration_ms);
  return phases;
}

}  // namespace holdfast::dnsfault
