// Plays a schedule on the proxy's loop: one uv_timer_t re-armed for each switch, which swaps the
// rule set in the store, logs the switch with its planned and actual offsets and records it in
// the stats. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>

#include <uv.h>

#include "rule_store.h"
#include "schedule.h"
#include "stats.h"

namespace holdfast::dnsfault {

class SchedulePlayer {
 public:
  // `schedule` must outlive the player.
  SchedulePlayer(uv_loop_t* loop, const Schedule& schedule, RuleStore& store, Stats& stats);
  SchedulePlayer(const SchedulePlayer&) = delete;
  SchedulePlayer& operator=(const SchedulePlayer&) = delete;

  // Time 0 is now.
  void start() noexcept;
  // The object must live until the loop has run the close callback.
  void close() noexcept;

 private:
  static void on_timer(uv_timer_t* timer) noexcept;
  void play_due() noexcept;

  uv_timer_t timer_;
  const Schedule& schedule_;
  RuleStore& store_;
  Stats& stats_;
  ScheduleCursor cursor_;
  std::optional<ScheduleCursor::Step> next_;
  std::uint64_t start_ns_ = 0;
  bool started_ = false;
};

}  // namespace holdfast::dnsfault
