// The store's eviction past its high-water mark: what may no longer be served first, then the
// least recently used, negative answers before positive ones, down to the low-water mark.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "cache/entry_codec.h"
#include "cache/persistent_store.h"

namespace holdfast::cache {

void PersistentStore::evict_if_needed(bool force, double low_water) {
  const std::size_t map = env_.map_bytes();
  const std::size_t used = env_.used_bytes();
  const double high_water_bytes = options_.evict_high_water * static_cast<double>(map);
  if (map == 0 || (!force && static_cast<double>(used) < high_water_bytes)) return;
  const std::int64_t now = clock_.wall_seconds();
  const std::int64_t max_stale = options_.max_stale_seconds;

  // First what nobody may be served any more: past expiry + max stale, or unreadable.
  std::uint64_t expired = 0;
  std::uint64_t negative_freed = 0;
  LmdbError err = delete_matching(
      env_, env_.answers(),
      [&](std::string_view key, std::string_view value) {
        if (pinned(key)) return false;
        auto times = peek_entry_times(value);
        const bool doomed =
            !times || now > times->stored_at_seconds + times->ttl_seconds + max_stale;
        if (doomed && times && times->kind != EntryKind::kSuccess) {
          negative_freed += negative_record_bytes(key, value);
        }
        return doomed;
      },
      kDeletesPerTxn, expired);
  counters_.evicted_expired.fetch_add(expired, std::memory_order_relaxed);

  // Then the least recently used, down to the low-water mark — negative answers (NXDOMAIN,
  // NODATA, SERVFAIL) before any positive one, so a flood of junk names (water torture) cannot
  // push out the names that resolve. The order key: kind class first, then the last use.
  std::uint64_t evicted_lru = 0;
  std::uint64_t evicted_negative = 0;
  const double target = low_water * static_cast<double>(map);
  const std::size_t used_now = env_.used_bytes();
  auto order = [](const EntryTimes& times) {
    const std::uint64_t positive = times.kind == EntryKind::kSuccess ? 1 : 0;
    const auto last_used =
        static_cast<std::uint64_t>(std::max<std::int64_t>(times.last_used_seconds, 0));
    return (positive << 62) | (last_used & ((std::uint64_t{1} << 62) - 1));
  };
  if (err.status == LmdbStatus::kOk && static_cast<double>(used_now) > target) {
    std::vector<std::uint64_t> ranks;
    {
      LmdbTxn txn(env_, LmdbTxn::Mode::kRead);
      txn.for_each(env_.answers(), [&](std::string_view, std::string_view value) {
        if (auto times = peek_entry_times(value)) ranks.push_back(order(*times));
        return true;
      });
    }
    if (!ranks.empty()) {
      const double keep = target / static_cast<double>(used_now);
      std::size_t drop =
          ranks.size() - static_cast<std::size_t>(keep * static_cast<double>(ranks.size()));
      drop = std::clamp<std::size_t>(drop, 1, ranks.size());
      std::nth_element(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                       ranks.end());
      const std::uint64_t cutoff = ranks[drop - 1];
      std::uint64_t lru = 0;
      std::uint64_t budget = drop;
      err = delete_matching(
          env_, env_.answers(),
          [&](std::string_view key, std::string_view value) {
            if (budget == 0 || pinned(key)) return false;
            auto times = peek_entry_times(value);
            if (times && order(*times) > cutoff) return false;
            if (times && times->kind != EntryKind::kSuccess) {
              ++evicted_negative;
              negative_freed += negative_record_bytes(key, value);
            }
            --budget;
            return true;
          },
          kDeletesPerTxn, lru);
      counters_.evicted_lru.fetch_add(lru, std::memory_order_relaxed);
      evicted_lru = lru;
    }
  }
  if (err.status == LmdbStatus::kOk) {
    counters_.negative_bytes.fetch_sub(std::min(negative_freed, counters_.negative_bytes.load()));
  } else {
    count_negatives();  // a transaction that failed kept some of what was counted as freed
  }
  env_.release_pages();  // both passes read every record
  if (expired + evicted_lru > 0) {
    spdlog::info(
        "persist {}: evicted {} expired and {} least recently used answers ({} of them "
        "negative; {} of {} KiB were in use)",
        options_.dir, expired, evicted_lru, evicted_negative, used / 1024, map / 1024);
  }
  if (err.status == LmdbStatus::kMapFull) {
    // Even deletes found no free page: empty the store rather than stop serving.
    LmdbTxn txn(env_, LmdbTxn::Mode::kWrite);
    if (txn.ok() && txn.drop_all(env_.answers()).status == LmdbStatus::kOk &&
        txn.commit().status == LmdbStatus::kOk) {
      spdlog::error("persist {}: store full and eviction impossible; emptied it", options_.dir);
      counters_.negative_bytes.store(0);
      return;
    }
    degrade("store full and cannot be emptied");
  } else if (err.status != LmdbStatus::kOk) {
    spdlog::warn("persist {}: eviction stopped early ({})", options_.dir, err.what());
  }
}

}  // namespace holdfast::cache
