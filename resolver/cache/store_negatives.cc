// The store's negative budget (persist negative_max): what a record costs it, the count of what
// the negative answers take, and the purge that makes room without touching a positive answer.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cache/persistent_store.h"

namespace holdfast::cache {

bool is_negative_value(std::string_view value) {
  const std::optional<EntryTimes> times = peek_entry_times(value);
  return times && times->kind != EntryKind::kSuccess;
}

std::uint64_t negative_record_bytes(std::string_view key, std::string_view value) {
  return key.size() + value.size() + kRecordOverhead;
}

void PersistentStore::count_negatives() {
  std::uint64_t bytes = 0;
  LmdbTxn txn(env_, LmdbTxn::Mode::kRead);
  if (!txn.ok()) return;
  txn.for_each(env_.answers(), [&](std::string_view key, std::string_view value) {
    if (is_negative_value(value)) bytes += negative_record_bytes(key, value);
    return true;
  });
  counters_.negative_bytes.store(bytes);
}

// Makes room under negative_max without touching a positive answer: the negatives past their TTL
// go (a stale NXDOMAIN is worth little; the junk of a flood expires within the denial TTL).
void PersistentStore::purge_expired_negatives() {
  negative_purged_ms_ = clock_.monotonic_ms();
  negative_refusing_ = false;
  const std::int64_t now = clock_.wall_seconds();
  std::uint64_t freed = 0;
  std::uint64_t purged = 0;
  const LmdbError err = delete_matching(
      env_, env_.answers(),
      [&](std::string_view key, std::string_view value) {
        if (pinned(key)) return false;
        const std::optional<EntryTimes> times = peek_entry_times(value);
        if (!times || times->kind == EntryKind::kSuccess ||
            now <= times->stored_at_seconds + times->ttl_seconds) {
          return false;
        }
        freed += negative_record_bytes(key, value);
        return true;
      },
      kDeletesPerTxn, purged);
  counters_.negative_purged.fetch_add(purged, std::memory_order_relaxed);
  if (err.status == LmdbStatus::kOk) {
    counters_.negative_bytes.fetch_sub(std::min(freed, counters_.negative_bytes.load()));
  } else {
    count_negatives();
  }
  if (purged > 0) {
    spdlog::info("persist {}: deleted {} expired negative answers to make room under negative_max",
                 options_.dir, purged);
  }
}

}  // namespace holdfast::cache
