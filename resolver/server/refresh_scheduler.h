// The background refreshes of stale names: each name remembered once, due at a random moment of
// a window (so a trickle reaches the upstream, not every stale name at once) or, while its
// upstream is down, held until that upstream recovers and then spread over the zone's `recheck`.
// Pure bookkeeping: times are passed in and randomness comes from a seeded generator; the
// pipeline owns the timer and starts the flights (tests/server/refresh_scheduler_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/string_hash.h"

namespace holdfast::server {

struct Zone;

class RefreshScheduler {
 public:
  struct Pending {
    Zone* zone = nullptr;
    const void* upstream = nullptr;  // whose recovery releases it (the zone's forwarder)
    std::int64_t recheck_ms = 0;     // the spread after that recovery
    std::vector<std::uint8_t> upstream_query;
    bool awaiting_recovery = false;  // no due time until `upstream` recovers
  };
  enum class Added : std::uint8_t { kScheduled, kAlreadyPending, kFull };
  // What the pipeline did with a due refresh (take_due's visitor).
  enum class Outcome : std::uint8_t {
    kDone,           // started, or no longer needed: forgotten
    kAwaitRecovery,  // its upstream is down again: held until on_recovery
    kRetrySoon,      // the upstream's budget said not now: due again after kRetryMs
  };
  static constexpr std::int64_t kRetryMs = 100;

  RefreshScheduler(std::size_t capacity, std::uint64_t seed) : capacity_(capacity), rng_(seed) {}

  // Remembers `key` unless it is already pending or `capacity` names are. With `not_after_ms`,
  // due at a random time in [now_ms, not_after_ms]; without, held until on_recovery.
  Added add(std::string key, Pending pending, std::int64_t now_ms,
            std::optional<std::int64_t> not_after_ms);
  // `upstream` answered again: the names held for it become due at random times in
  // [now_ms, now_ms + their recheck_ms]. Returns how many.
  std::size_t on_recovery(const void* upstream, std::int64_t now_ms);
  // Hands every refresh due by `now_ms` to `visit` (earliest first) and files it by the outcome.
  // The visitor may take `pending.upstream_query` when it returns kDone.
  void take_due(std::int64_t now_ms,
                const std::function<Outcome(const std::string& key, Pending& pending)>& visit);
  // When the next refresh is due, if any is.
  std::optional<std::int64_t> next_due_ms() const noexcept;
  // A reload retired `retired`: its refreshes move to `replacement`, or are forgotten.
  void retarget(const Zone* retired, Zone* replacement, const void* replacement_upstream);
  // The name was answered fresh meanwhile: no refresh needed.
  void forget(std::string_view key) noexcept;
  void clear() noexcept;
  std::size_t size() const noexcept { return pending_.size(); }
  bool contains(std::string_view key) const noexcept { return pending_.contains(key); }

 private:
  void schedule(std::int64_t due_ms, std::string key);

  std::size_t capacity_;
  std::mt19937_64 rng_;
  std::multimap<std::int64_t, std::string> due_;  // may name keys forgotten since: skipped
  std::unordered_map<std::string, Pending, StringHash, std::equal_to<>> pending_;
};

}  // namespace holdfast::server
