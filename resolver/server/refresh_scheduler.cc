// Background refresh bookkeeping.
#include "server/refresh_scheduler.h"

#include <algorithm>

namespace holdfast::server {

RefreshScheduler::Added RefreshScheduler::add(std::string key, Pending pending, std::int64_t now_ms,
                                              std::optional<std::int64_t> not_after_ms) {
  if (pending_.contains(key)) return Added::kAlreadyPending;
  if (pending_.size() >= capacity_) return Added::kFull;
  pending.awaiting_recovery = !not_after_ms.has_value();
  auto [at, inserted] = pending_.emplace(key, std::move(pending));
  (void)at;
  (void)inserted;
  if (not_after_ms) {
    std::uniform_int_distribution<std::int64_t> spread(now_ms, std::max(now_ms, *not_after_ms));
    schedule(spread(rng_), std::move(key));
  }
  return Added::kScheduled;
}

std::size_t RefreshScheduler::on_recovery(const void* upstream, std::int64_t now_ms) {
  std::size_t released = 0;
  for (auto& [key, pending] : pending_) {
    if (!pending.awaiting_recovery || pending.upstream != upstream) continue;
    pending.awaiting_recovery = false;
    // Clients asking a name refresh it at once; the rest trickle in over recheck, so a fleet of
    // nodes that lost the upstream together does not refresh in the same second.
    std::uniform_int_distribution<std::int64_t> spread(now_ms, now_ms + pending.recheck_ms);
    schedule(spread(rng_), key);
    ++released;
  }
  return released;
}

void RefreshScheduler::take_due(
    std::int64_t now_ms,
    const std::function<Outcome(const std::string& key, Pending& pending)>& visit) {
  std::vector<std::string> retry;
  while (!due_.empty() && due_.begin()->first <= now_ms) {
    std::string key = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    auto found = pending_.find(key);
    if (found == pending_.end() || found->second.awaiting_recovery) continue;
    switch (visit(key, found->second)) {
      case Outcome::kDone:
        pending_.erase(found);
        break;
      case Outcome::kAwaitRecovery:
        found->second.awaiting_recovery = true;
        break;
      case Outcome::kRetrySoon:
        retry.push_back(std::move(key));  // after the loop, or it would be due again at once
        break;
    }
  }
  for (std::string& key : retry) schedule(now_ms + kRetryMs, std::move(key));
}

std::optional<std::int64_t> RefreshScheduler::next_due_ms() const noexcept {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

void RefreshScheduler::retarget(const Zone* retired, Zone* replacement,
                                const void* replacement_upstream) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.zone != retired) {
      ++it;
    } else if (replacement != nullptr) {
      it->second.zone = replacement;
      it->second.upstream = replacement_upstream;
      ++it;
    } else {
      it = pending_.erase(it);  // its due_ entry finds nothing and is skipped
    }
  }
}

void RefreshScheduler::forget(std::string_view key) noexcept {
  if (auto found = pending_.find(key); found != pending_.end()) pending_.erase(found);
}

void RefreshScheduler::clear() noexcept {
  due_.clear();
  pending_.clear();
}

void RefreshScheduler::schedule(std::int64_t due_ms, std::string key) {
  due_.emplace(due_ms, std::move(key));
}

}  // namespace holdfast::server
