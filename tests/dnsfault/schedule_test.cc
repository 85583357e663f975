// Schedules: entries, labels, repeats (finite and endless), the cursor, phases, and errors that
// name the line. Also the built-in dec-2024 scenario.
#include "schedule.h"

#include <gtest/gtest.h>

#include "scenario.h"

namespace holdfast::dnsfault {
namespace {

Schedule parse_ok(std::string_view text) {
  auto s = parse_schedule(text, "s.txt");
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? std::move(*s) : Schedule{};
}

std::string parse_error(std::string_view text) {
  auto s = parse_schedule(text, "s.txt");
  EXPECT_FALSE(s);
  return s ? "" : s.error().message;
}

std::vector<std::pair<std::uint64_t, std::string>> steps(const Schedule& s, std::size_t n) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  ScheduleCursor cursor(s);
  for (std::size_t i = 0; i < n; ++i) {
    auto step = cursor.next();
    if (!step) break;
    out.emplace_back(step->at_ms, step->entry->text);
  }
  return out;
}

TEST(ScheduleParse, ReadsTheIssueExample) {
  const Schedule s =
      parse_ok("at 0s pass\nat 10s blackhole\n# comment\nat 70s delay 800 200\nat 130s pass\n");
  ASSERT_EQ(s.entries.size(), 4u);
  EXPECT_EQ(s.entries[1].offset_ms, 10'000u);
  EXPECT_EQ(s.entries[1].text, "blackhole");
  EXPECT_EQ(s.entries[2].text, "delay 800 200");
  EXPECT_EQ(s.entries[2].line, 4u);
  EXPECT_TRUE(s.entries[3].rules->empty());
  EXPECT_FALSE(s.loop_first);
}

TEST(ScheduleParse, ReadsLabelsAndSeveralRulesPerEntry) {
  const Schedule s =
      parse_ok("at 500ms \"light degradation\": rcode SERVFAIL --probability 0.1; delay 300 100\n");
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].label, "light degradation");
  EXPECT_EQ(s.entries[0].offset_ms, 500u);
  EXPECT_EQ(s.entries[0].rules->size(), 2u);
}

TEST(ScheduleRepeat, EndlessRepeatFlapsForever) {
  const Schedule s = parse_ok("at 0s pass\nat 5s blackhole\nrepeat every 10s\n");
  EXPECT_EQ(steps(s, 5), (std::vector<std::pair<std::uint64_t, std::string>>{{0, "pass"},
                                                                             {5'000, "blackhole"},
                                                                             {10'000, "pass"},
                                                                             {15'000, "blackhole"},
                                                                             {20'000, "pass"}}));
}

TEST(ScheduleRepeat, FiniteRepeatExpandsAndTheTimelineGoesOn) {
  const Schedule s = parse_ok(
      "at 0s pass\nrepeat every 2s times 1\nat 2s up: pass\nat 3s down: blackhole\n"
      "repeat every 2s times 3\nat 8s pass\n");
  EXPECT_EQ(steps(s, 20), (std::vector<std::pair<std::uint64_t, std::string>>{{0, "pass"},
                                                                              {2'000, "pass"},
                                                                              {3'000, "blackhole"},
                                                                              {4'000, "pass"},
                                                                              {5'000, "blackhole"},
                                                                              {6'000, "pass"},
                                                                              {7'000, "blackhole"},
                                                                              {8'000, "pass"}}));
  EXPECT_EQ(s.entries[2].label, "down");
}

TEST(ScheduleParse, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error("at 0s pass\nat 5s explode\n").rfind("s.txt:2: ", 0), 0u);
  EXPECT_NE(parse_error("at 0s pass\nat 5s explode\n").find("unknown action 'explode'"),
            std::string::npos);
  EXPECT_EQ(
      parse_error("at 10s pass\nat 5s blackhole\n").rfind("s.txt:2: offset 5s is not after", 0),
      0u);
  EXPECT_EQ(parse_error("at soon pass\n").rfind("s.txt:1: bad duration", 0), 0u);
  EXPECT_EQ(parse_error("after 5s pass\n").rfind("s.txt:1: unknown directive 'after'", 0), 0u);
  EXPECT_EQ(parse_error("repeat every 5s\n").rfind("s.txt:1: 'repeat' has no 'at' lines", 0), 0u);
  EXPECT_EQ(
      parse_error("at 0s pass\nat 5s blackhole\nrepeat every 5s\n").rfind("s.txt:3: period 5s", 0),
      0u);
  EXPECT_EQ(parse_error("at 0s pass\nrepeat every 5s\nat 9s pass\n")
                .rfind("s.txt:3: nothing can follow", 0),
            0u);
  EXPECT_EQ(parse_error("at 0s pass\nrepeat every 5s times 2\nat 9s pass\n")
                .rfind("s.txt:3: offset 9s falls inside", 0),
            0u);
  EXPECT_EQ(parse_error("at 0s pass\nrepeat every 5s times 0\n").rfind("s.txt:2: 'times'", 0), 0u);
  EXPECT_EQ(parse_error("at 0s\n").rfind("s.txt:1: expected 'at OFFSET", 0), 0u);
  EXPECT_EQ(parse_error("# nothing\n"), "s.txt: the schedule has no 'at' lines");
}

TEST(SchedulePhases, CoverTheRunAndMarkFaults) {
  const Schedule s = parse_ok("at 2s outage: blackhole\nat 5s pass\n");
  const auto phases = schedule_phases(s, 8'000);
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[0].label, "before schedule");
  EXPECT_FALSE(phases[0].fault);
  EXPECT_EQ(phases[1].start_ms, 2'000u);
  EXPECT_EQ(phases[1].end_ms, 5'000u);
  EXPECT_EQ(phases[1].label, "outage");
  EXPECT_TRUE(phases[1].fault);
  EXPECT_EQ(phases[2].end_ms, 8'000u);
}

TEST(SchedulePhases, ClipEndlessRepeatsAtTheDuration) {
  const Schedule s = parse_ok("at 0s pass\nat 5s blackhole\nrepeat every 10s\n");
  const auto phases = schedule_phases(s, 22'000);
  ASSERT_EQ(phases.size(), 5u);
  EXPECT_EQ(phases.back().start_ms, 20'000u);
  EXPECT_EQ(phases.back().end_ms, 22'000u);
}

TEST(Dec2024Scenario, FollowsThePublishedTimelineCompressedSixtyTimes) {
  const Scenario* scenario = find_scenario("dec-2024");
  ASSERT_NE(scenario, nullptr);
  auto s = parse_schedule(scenario->schedule, "dec-2024");
  ASSERT_TRUE(s) << s.error().message;
  const auto phases = schedule_phases(*s, scenario->duration_ms);
  ASSERT_EQ(phases.size(), 7u);
  // Minutes after 15:16 become seconds after the 30 s lead-in.
  const std::uint64_t lead_in = 30'000;
  auto at_minute = [&](std::uint64_t minutes) { return lead_in + minutes * 1000; };
  EXPECT_EQ(phases[1].start_ms, at_minute(0));    // 15:16 first impact
  EXPECT_EQ(phases[2].start_ms, at_minute(24));   // 15:40 full impact
  EXPECT_EQ(phases[3].start_ms, at_minute(80));   // 16:36 first recovery
  EXPECT_EQ(phases[4].start_ms, at_minute(140));  // 17:36 substantial recovery
  EXPECT_EQ(phases[5].start_ms, at_minute(149));  // 17:45
  EXPECT_EQ(phases[6].start_ms, at_minute(262));  // 19:38 full recovery
  EXPECT_EQ(phases[2].label, "outage");
  EXPECT_EQ(phases[2].text, "blackhole");
  EXPECT_NE(phases[1].text.find("rcode SERVFAIL --probability 0.1"), std::string::npos);
  EXPECT_NE(phases[1].text.find("delay"), std::string::npos);
  EXPECT_FALSE(phases[6].fault);
  EXPECT_EQ(find_scenario("nope"), nullptr);
}

}  // namespace
}  // namespace holdfast::dnsfault
