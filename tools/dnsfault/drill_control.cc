// Timed schedule switches and per-second stats reads against the proxy's control API.
#include "drill_control.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <chrono>

#include "text.h"

namespace holdfast::dnsfault {
namespace {

std::uint64_t elapsed_ms(std::uint64_t t0_ns) noexcept {
  return (uv_hrtime() - t0_ns) / 1'000'000;
}

}  // namespace

DrillControl::DrillControl(ControlClient client, const Schedule* schedule,
                           std::uint64_t duration_ms)
    : client_(std::move(client)), schedule_(schedule), duration_ms_(duration_ms) {
  samples_.assign((duration_ms + 999) / 1000 + 1, std::nullopt);
}

DrillControl::~DrillControl() {
  stop();
}

void DrillControl::start(std::uint64_t t0_ns) {
  t0_ns_ = t0_ns;
  thread_ = std::thread([this] { run(); });
}

void DrillControl::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (schedule_) {
    if (auto ok = client_.delete_rules(); ok) {
      spdlog::info("drill: proxy rules back to pass-through");
    } else {
      spdlog::warn("drill: could not reset the proxy's rules: {}", ok.error().message);
    }
  }
}

void DrillControl::run() noexcept {
  // uv_hrtime() and steady_clock are both CLOCK_MONOTONIC on Linux.
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t0_ns_));
  std::optional<ScheduleCursor> cursor;
  std::optional<ScheduleCursor::Step> step;
  if (schedule_) {
    cursor.emplace(*schedule_);
    step = cursor->next();
  }
  std::size_t next_sample = 0;
  for (;;) {
    const bool switch_pending = step && step->at_ms < duration_ms_;
    const bool sample_pending = next_sample < samples_.size();
    if (!switch_pending && !sample_pending) return;
    const std::uint64_t sample_at = next_sample * 1000;
    const bool switch_first = switch_pending && (!sample_pending || step->at_ms <= sample_at);
    const std::uint64_t due_ms = switch_first ? step->at_ms : sample_at;
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, t0 + std::chrono::milliseconds(due_ms),
                           [this] { return stop_; })) {
        return;
      }
    }
    if (switch_first) {
      const ScheduleEntry& entry = *step->entry;
      SwitchRecord record{step->at_ms, elapsed_ms(t0_ns_),
                          entry.label.empty() ? entry.text : entry.label, ""};
      auto reply = client_.put_rules(*entry.rules);
      if (!reply) {
        record.error = reply.error().message;
        spdlog::error("drill: switch at +{} failed: {}", format_duration_ms(step->at_ms),
                      record.error);
      } else {
        spdlog::info("drill: t=+{:.3f}s (planned +{}) -> {}",
                     static_cast<double>(record.actual_ms) / 1000.0,
                     format_duration_ms(step->at_ms), entry.text);
      }
      switches_.push_back(std::move(record));
      step = cursor->next();
    } else {
      auto stats = client_.get_stats();
      if (stats && stats->contains("queries_received") && stats->contains("forwarded_upstream")) {
        samples_[next_sample] = StatsSample{(*stats)["queries_received"].get<std::uint64_t>(),
                                            (*stats)["forwarded_upstream"].get<std::uint64_t>()};
      } else if (!stats) {
        spdlog::warn("drill: stats at +{}s unreadable: {}", next_sample, stats.error().message);
      }
      ++next_sample;
    }
  }
}

}  // namespace holdfast::dnsfault
