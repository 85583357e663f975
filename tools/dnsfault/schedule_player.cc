// Timed rule-set switches on the loop.
#include "schedule_player.h"

#include <spdlog/spdlog.h>

#include "base/uv_util.h"
#include "text.h"

namespace holdfast::dnsfault {

SchedulePlayer::SchedulePlayer(uv_loop_t* loop, const Schedule& schedule, RuleStore& store,
                               Stats& stats)
    : schedule_(schedule), store_(store), stats_(stats), cursor_(schedule) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

void SchedulePlayer::start() noexcept {
  started_ = true;
  start_ns_ = uv_hrtime();
  const std::int64_t started_unix_ms = unix_ms();
  stats_.schedule_started(started_unix_ms, schedule_.entries.size(),
                          schedule_.loop_first.has_value());
  spdlog::info("schedule: started ({} entries{}), t=0 at unix {} ms", schedule_.entries.size(),
               schedule_.loop_first ? ", repeating" : "", started_unix_ms);
  next_ = cursor_.next();
  play_due();
}

void SchedulePlayer::close() noexcept {
  close_member(reinterpret_cast<uv_handle_t*>(&timer_));
}

void SchedulePlayer::on_timer(uv_timer_t* timer) noexcept {
  static_cast<SchedulePlayer*>(timer->data)->play_due();
}

void SchedulePlayer::play_due() noexcept {
  std::uint64_t elapsed_ms = (uv_hrtime() - start_ns_) / 1'000'000;
  while (next_ && next_->at_ms <= elapsed_ms) {
    const ScheduleEntry& entry = *next_->entry;
    store_.replace(entry.rules);
    const std::string label = entry.label.empty() ? entry.text : entry.label + ": " + entry.text;
    spdlog::info("schedule: t=+{:.3f}s (planned +{}, line {}) -> {}",
                 static_cast<double>(uv_hrtime() - start_ns_) / 1e9,
                 format_duration_ms(next_->at_ms), entry.line, label);
    stats_.schedule_switched(ScheduleSwitch{next_->at_ms, elapsed_ms, unix_ms(), label});
    next_ = cursor_.next();
    elapsed_ms = (uv_hrtime() - start_ns_) / 1'000'000;
  }
  if (!next_) {
    spdlog::info("schedule: finished; the last rule set stays");
    return;
  }
  uv_update_time(timer_.loop);  // the timer counts from the loop's cached time
  uv_timer_start(&timer_, &SchedulePlayer::on_timer, next_->at_ms - elapsed_ms, 0);
}

}  // namespace holdfast::dnsfault
