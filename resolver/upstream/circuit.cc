// Server health by transport, the circuit breaker and its probe budget.
#include "upstream/circuit.h"

#include <algorithm>

namespace holdfast::upstream {

Circuit::Circuit(std::size_t servers, const CircuitOptions& options, std::uint64_t seed)
    : options_(options), servers_(servers), rng_(seed) {
  options_.probes = std::max(1, options_.probes);
  options_.probe_interval_ms = std::max<std::int64_t>(1, options_.probe_interval_ms);
}

void Circuit::on_sent(std::size_t server, std::int64_t now_ms) noexcept {
  Server& s = servers_[server];
  ++s.outstanding;
  if (s.first_sent_since_answer_ms < 0) s.first_sent_since_answer_ms = now_ms;
  if (s.sent_since_answer < kSilenceQueries) ++s.sent_since_answer;
}

void Circuit::on_abandoned(std::size_t server) noexcept {
  Server& s = servers_[server];
  if (s.outstanding > 0) --s.outstanding;
}

CircuitChange Circuit::on_answer(std::size_t server, std::int64_t now_ms) noexcept {
  Server& s = servers_[server];
  on_abandoned(server);
  if (s.forced) return CircuitChange::kNone;
  s.consecutive_fails = 0;
  s.down = false;
  s.last_answer_ms = now_ms;
  s.first_sent_since_answer_ms = -1;
  s.sent_since_answer = 0;
  return update_open(now_ms);
}

CircuitChange Circuit::on_failure(std::size_t server, std::int64_t now_ms,
                                  std::int64_t sent_ms) noexcept {
  Server& s = servers_[server];
  on_abandoned(server);
  if (sent_ms < s.last_answer_ms) return CircuitChange::kNone;  // it has answered since
  ++s.consecutive_fails;
  if (options_.max_fails <= 0 || s.consecutive_fails < options_.max_fails)
    return CircuitChange::kNone;
  return mark_down(server, now_ms);
}

CircuitChange Circuit::force(std::size_t server, bool down, std::int64_t now_ms) noexcept {
  Server& s = servers_[server];
  if (down) {
    if (!any_down()) next_timed_ms_ = now_ms + jittered_interval_ms();
    s.forced = true;
    s.down = true;
    return update_open(now_ms);
  }
  s.forced = false;
  s.down = false;
  s.consecutive_fails = 0;
  s.first_sent_since_answer_ms = -1;
  s.sent_since_answer = 0;
  return update_open(now_ms);
}

CircuitChange Circuit::mark_down(std::size_t server, std::int64_t now_ms) noexcept {
  Server& s = servers_[server];
  if (options_.max_fails <= 0) return CircuitChange::kNone;  // health checking is off
  s.consecutive_fails = std::max(s.consecutive_fails, options_.max_fails);
  if (!s.down && !any_down()) next_timed_ms_ = now_ms + jittered_interval_ms();
  s.down = true;
  // Silence so far is now accounted for: detecting it again needs new silence.
  s.first_sent_since_answer_ms = -1;
  return update_open(now_ms);
}

CircuitChange Circuit::update_open(std::int64_t now_ms) noexcept {
  const bool all_down =
      std::all_of(servers_.begin(), servers_.end(), [](const Server& s) { return s.down; });
  if (all_down == open_) return CircuitChange::kNone;
  open_ = all_down;
  if (open_) {
    opened_at_ms_ = now_ms;
    return CircuitChange::kOpened;
  }
  probe_slots_.clear();  // probes belong to the outage
  return CircuitChange::kClosed;
}

std::optional<std::size_t> Circuit::silent_server(std::int64_t now_ms,
                                                  std::int64_t silence_ms) const noexcept {
  if (silence_ms < 0 || options_.max_fails <= 0) return std::nullopt;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    const Server& s = servers_[i];
    if (s.down || s.outstanding == 0 || s.first_sent_since_answer_ms < 0 ||
        s.sent_since_answer < kSilenceQueries) {
      continue;
    }
    // Silent since the later of its last answer and the first query sent after it.
    const std::int64_t since = std::max(s.last_answer_ms, s.first_sent_since_answer_ms);
    if (now_ms - since >= silence_ms) return i;
  }
  return std::nullopt;
}

bool Circuit::any_down() const noexcept {
  return std::any_of(servers_.begin(), servers_.end(), [](const Server& s) { return s.down; });
}

bool Circuit::all_forced_down() const noexcept {
  return std::all_of(servers_.begin(), servers_.end(), [](const Server& s) { return s.forced; });
}

std::size_t Circuit::outstanding() const noexcept {
  std::size_t total = 0;
  for (const Server& s : servers_) total += s.outstanding;
  return total;
}

bool Circuit::claim_probe(std::int64_t now_ms) noexcept {
  std::erase_if(probe_slots_, [&](std::int64_t frees_at) { return frees_at <= now_ms; });
  if (probe_slots_.size() >= static_cast<std::size_t>(options_.probes)) return false;
  probe_slots_.push_back(now_ms + options_.probe_interval_ms);
  return true;
}

std::optional<std::size_t> Circuit::timed_probe(std::int64_t now_ms) noexcept {
  if (!any_down() || now_ms < next_timed_ms_) return std::nullopt;
  if (!claim_probe(now_ms)) return std::nullopt;
  next_timed_ms_ = now_ms + jittered_interval_ms();
  // The down servers in turn.
  for (std::size_t step = 0; step < servers_.size(); ++step) {
    const std::size_t i = (next_probe_server_ + step) % servers_.size();
    if (servers_[i].down && !servers_[i].forced) {
      next_probe_server_ = i + 1;
      return i;
    }
  }
  return std::nullopt;
}

std::int64_t Circuit::jittered_interval_ms() noexcept {
  // ±20 %: nodes that lost their upstream together do not all probe it in the same instant.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<std::int64_t>(static_cast<double>(options_.probe_interval_ms) * jitter(rng_));
}

}  // namespace holdfast::upstream
