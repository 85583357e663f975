// Counters, the per-second upstream rate window and the GET /stats document.
#include "stats.h"

#include <chrono>

#include <uv.h>

namespace holdfast::dnsfault {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

}  // namespace

std::int64_t monotonic_ms() noexcept {
  return static_cast<std::int64_t>(uv_hrtime() / 1'000'000);
}

std::int64_t unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RateWindow::add(std::int64_t now_ms) noexcept {
  const std::int64_t second = floor_div(now_ms, 1000);
  const std::size_t slot = static_cast<std::size_t>(second % static_cast<std::int64_t>(kSlots));
  if (second_[slot].load(std::memory_order_relaxed) != second) {
    count_[slot].store(0, std::memory_order_relaxed);
    second_[slot].store(second, std::memory_order_release);
  }
  count_[slot].fetch_add(1, std::memory_order_relaxed);
}

std::array<std::uint64_t, RateWindow::kSeconds> RateWindow::last_seconds(
    std::int64_t now_ms) const noexcept {
  std::array<std::uint64_t, kSeconds> out{};
  const std::int64_t current = floor_div(now_ms, 1000);
  for (std::size_t i = 0; i < kSeconds; ++i) {
    const std::int64_t second =
        current - static_cast<std::int64_t>(kSeconds) + static_cast<std::int64_t>(i);
    if (second < 0) continue;
    const std::size_t slot = static_cast<std::size_t>(second % static_cast<std::int64_t>(kSlots));
    if (second_[slot].load(std::memory_order_acquire) == second) {
      out[i] = count_[slot].load(std::memory_order_relaxed);
    }
  }
  return out;
}

void Stats::count_forwarded(std::int64_t now_ms) noexcept {
  forwarded_upstream.fetch_add(1, std::memory_order_relaxed);
  upstream_rate_.add(now_ms);
}

void Stats::count_received(std::int64_t now_ms, bool tcp) noexcept {
  received.fetch_add(1, std::memory_order_relaxed);
  (tcp ? received_tcp : received_udp).fetch_add(1, std::memory_order_relaxed);
  received_rate_.add(now_ms);
}

void Stats::schedule_started(std::int64_t started_unix_ms, std::size_t entries, bool endless) {
  std::lock_guard lock(schedule_mutex_);
  schedule_active_ = true;
  schedule_endless_ = endless;
  schedule_entries_ = entries;
  schedule_started_unix_ms_ = started_unix_ms;
}

void Stats::schedule_switched(ScheduleSwitch change) {
  std::lock_guard lock(schedule_mutex_);
  ++schedule_switch_count_;
  switches_.push_back(std::move(change));
  if (switches_.size() > kMaxSwitchLog) switches_.pop_front();
}

nlohmann::json Stats::to_json(std::int64_t now_ms, std::uint64_t rules_version) const {
  using nlohmann::json;
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  json actions_json = json::object();
  for (std::size_t i = 0; i < kActionKindCount; ++i) {
    actions_json[std::string(action_name(static_cast<ActionKind>(i)))] = get(actions[i]);
  }
  const auto rate = upstream_rate_.last_seconds(now_ms);
  const auto received_rate = received_rate_.last_seconds(now_ms);
  json out = {
      {"uptime_ms", now_ms - start_ms_},
      {"queries_received", get(received)},
      {"queries_received_udp", get(received_udp)},
      {"queries_received_tcp", get(received_tcp)},
      {"forwarded_upstream", get(forwarded_upstream)},
      {"upstream_answers", get(upstream_answers)},
      {"upstream_timeouts", get(upstream_timeouts)},
      {"responses_sent", get(responses_sent)},
      {"unparseable", get(unparseable)},
      {"dropped_invalid", get(dropped_invalid)},
      {"inflight_full", get(inflight_full)},
      {"send_errors", get(send_errors)},
      {"tcp_connections", get(tcp_connections)},
      {"tcp_rejected", get(tcp_rejected)},
      {"icmp_sent", get(icmp_sent)},
      {"inflight", inflight.load(std::memory_order_relaxed)},
      {"actions", actions_json},
      {"upstream_rate_per_second", rate},
      {"upstream_rate_last_second", rate.back()},
      {"received_rate_per_second", received_rate},
      {"rules_version", rules_version},
  };
  std::lock_guard lock(schedule_mutex_);
  json switches = json::array();
  for (const ScheduleSwitch& s : switches_) {
    switches.push_back({{"planned_ms", s.planned_ms},
                        {"actual_ms", s.actual_ms},
                        {"unix_ms", s.unix_ms},
                        {"label", s.label}});
  }
  out["schedule"] = {{"active", schedule_active_},
                     {"endless", schedule_endless_},
                     {"entries", schedule_entries_},
                     {"started_unix_ms", schedule_started_unix_ms_},
                     {"switch_count", schedule_switch_count_},
                     {"switches", switches}};
  return out;
}

}  // namespace holdfast::dnsfault
