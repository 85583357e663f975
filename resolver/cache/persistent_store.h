// The LMDB-backed answer store: warm after restart, written off the hot path by one writer
// thread in batches, bounded in size by eviction, and never a reason for the daemon to stop
// answering (corrupt → moved aside and recreated; unwritable → memory-only).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "cache/entry.h"
#include "cache/entry_codec.h"
#include "cache/lmdb_env.h"
#include "cache/snapshot.h"
#include "config/config.h"

namespace holdfast::cache {

struct StoreOptions {
  std::string dir;
  // Defaults: the Corefile's (config::PersistConfig, config::ServeStaleConfig), defined there once.
  std::size_t size_bytes = config::PersistConfig{}.size_bytes;
  std::chrono::milliseconds flush_interval = config::PersistConfig{}.flush;
  std::chrono::milliseconds sync_interval = config::PersistConfig{}.sync;
  std::size_t batch_max = 1000;
  std::size_t queue_capacity = 50'000;
  // Past expiry + this, an entry is garbage.
  std::uint32_t max_stale_seconds =
      static_cast<std::uint32_t>(config::ServeStaleConfig{}.max_stale.count());
  double evict_high_water = 0.80;
  double evict_low_water = 0.70;
  // The most negative answers (NXDOMAIN, NODATA, SERVFAIL) may take, counted as key + value +
  // kRecordOverhead per record; past it new negatives are refused (counted). nullopt: no cap.
  std::optional<std::size_t> negative_max_bytes;
  // While negatives are refused, those past their TTL are deleted at most this often.
  std::chrono::milliseconds negative_purge_interval{60'000};
};

// LMDB's bytes per record besides key and value (node header and page index), for the negative
// budget. Page slack is not counted: negatives' pages may take somewhat more than the cap.
inline constexpr std::size_t kRecordOverhead = 10;

// A stored value that holds a negative answer (NXDOMAIN, NODATA, SERVFAIL); an unreadable one
// counts as positive (it is deleted when read or evicted anyway). And what a record costs the
// negative budget. Both in store_negatives.cc.
bool is_negative_value(std::string_view value);
std::uint64_t negative_record_bytes(std::string_view key, std::string_view value);

enum class StoreState : std::uint8_t {
  kOpen,
  kReadOnly,    // the directory cannot be written, or its disk is full: what the store holds is
                // read, nothing written (a full disk: until the writer finds room again)
  kMemoryOnly,  // could not open or write: the daemon runs without persistence
  kClosed,
};

struct StoreCounters {
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> read_hits{0};
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> evicted_expired{0};
  std::atomic<std::uint64_t> evicted_lru{0};
  std::atomic<std::uint64_t> invalid_deleted{0};
  std::atomic<std::uint64_t> map_full{0};
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<std::uint64_t> moved_aside{0};
  std::atomic<std::uint64_t> negative_bytes{0};    // what negatives take (negative_max)
  std::atomic<std::uint64_t> negative_refused{0};  // negatives not stored: over negative_max
  std::atomic<std::uint64_t> negative_purged{0};   // negatives past their TTL deleted for room
  std::atomic<std::uint64_t> flush_micros{0};      // time spent committing batches
  std::atomic<std::uint64_t> queue_length{0};      // writes waiting for the writer thread
  std::atomic<std::int64_t> last_commit_ms{0};     // Clock::monotonic_ms of the last batch
};

class PersistentStore {
 public:
  // Opens or creates the store, recovering from what it can; never fails: check state().
  // Start-up only (it may fork a child to verify the file). `clock` must outlive the store.
  static std::unique_ptr<PersistentStore> open(const StoreOptions& options, const Clock& clock);
  ~PersistentStore();
  PersistentStore(const PersistentStore&) = delete;
  PersistentStore& operator=(const PersistentStore&) = delete;

  // Any thread. The stored entry for `key`, validated; a value that fails validation is deleted
  // (counted) and reported as a miss.
  std::optional<Entry> get(std::string_view key);

  // Any thread, never blocks on disk: queues the entry for the writer; dropped (counted) when the
  // queue is full.
  void put(std::string_view key, const Entry& entry);

  // Writes everything queued, syncs, stops the writer. Idempotent.
  void close();

  // Blocks until everything queued before the call is committed (tests, shutdown).
  void flush();

  // Writes every stored answer to `file` atomically (export_answers in snapshot.h: one read
  // transaction, a consistent view while the writer thread keeps committing). Blocks for the
  // copy and the file I/O; any thread, not concurrently with close(). Errors name the file.
  Result<SnapshotStats> export_snapshot(const std::string& file);

  // Validates the whole of `file`, then writes it in one write transaction of its own, keeping
  // fresher entries (import_answers in snapshot.h): all or nothing. It bypasses the writer
  // queue (no drops); the writer thread's next batch waits for LMDB's writer lock meanwhile.
  // Blocks for the file I/O and the commit; any thread, not concurrently with close().
  Result<ImportStats> import_snapshot(const std::string& file);

  // Any thread, not concurrently with close(). Calls visit(key, times) for every valid stored
  // answer through one read transaction (a consistent view), cheaply: nothing is copied. Stops
  // early when visit returns false.
  void scan_times(const std::function<bool(std::string_view, const EntryTimes&)>& visit);
  // Same, decoding each answer: visit(key, decoded) may move the entry out.
  void scan_entries(const std::function<bool(std::string_view, DecodedEntry&)>& visit);

  StoreState state() const noexcept { return state_.load(); }
  // Why the store runs memory-only (empty while it is open). Any thread.
  std::string problem() const;
  // A pinned key is never evicted (expired or least recently used). Any thread.
  void set_pinned(std::string_view key, bool pinned);
  // Deletes (through the writer, at its next batch) every stored answer whose key `match`
  // accepts; returns how many. Admin only: it walks the whole store.
  std::size_t erase_matching(const std::function<bool(std::string_view)>& match);
  const StoreCounters& counters() const noexcept { return counters_; }
  std::size_t entry_count() const noexcept { return env_.entry_count(); }
  std::size_t used_bytes() const noexcept { return env_.used_bytes(); }
  // Any thread. True when the whole store is in the page cache: a get() will not wait for the
  // disk (LmdbEnv::pages_resident). False when it cannot tell, or the store is not open.
  bool pages_resident() const noexcept { return env_.pages_resident(); }
  const StoreOptions& options() const noexcept { return options_; }

 private:
  struct Write {
    std::string key;
    std::string value;  // empty = delete
  };

  // Deletions per write transaction, so none outgrows LMDB's dirty-page limit.
  static constexpr std::size_t kDeletesPerTxn = 64;

  PersistentStore(StoreOptions options, const Clock& clock);
  void open_or_recover();
  bool verify_in_child();
  void move_aside(const std::string& why);
  bool check_format();
  void writer_loop();
  bool commit_batch(std::span<const Write> batch);
  // The negative budget (writer thread; store_negatives.cc): recount from the store; delete
  // negatives past their TTL.
  void count_negatives();
  void purge_expired_negatives();
  // Evicts down to `low_water` of the map when past the high-water mark, or always if `force`
  // (store_eviction.cc).
  void evict_if_needed(bool force, double low_water);
  void degrade(const std::string& why);
  // A commit failed for want of disk space: stop writing, keep reading; the writer thread then
  // tries again every kSpaceRetryMs (writer thread only).
  void pause_for_space(const LmdbError& err);
  void resume_if_room();

  StoreOptions options_;
  const Clock& clock_;
  LmdbEnv env_;
  LmdbReader reader_{env_};  // get()'s transaction, reused (before any env_.close())
  std::mutex reader_mutex_;
  void release_reader() noexcept;
  bool open_read_only(const std::string& why);
  std::atomic<StoreState> state_{StoreState::kClosed};
  StoreCounters counters_;

  mutable std::mutex mutex_;
  std::string problem_;  // guarded by mutex_
  mutable std::mutex pins_mutex_;
  std::set<std::string, std::less<>> pins_;  // guarded by pins_mutex_
  bool pinned(std::string_view key) const;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<Write> queue_;
  std::uint64_t enqueued_seq_ = 0;
  std::uint64_t committed_seq_ = 0;
  // Writer thread only: the cap was reached (logged once), and when expired negatives were last
  // purged to make room.
  bool negative_cap_logged_ = false;
  bool negative_refusing_ = false;
  std::atomic<bool> recount_negatives_{false};  // an import wrote past the writer
  std::int64_t negative_purged_ms_ = 0;
  bool stopping_ = false;
  bool flush_requested_ = false;
  bool out_of_space_ = false;             // writer thread only
  std::int64_t next_space_check_ms_ = 0;  // writer thread only
  std::thread writer_;
};

}  // namespace holdfast::cache
