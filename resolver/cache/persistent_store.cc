// The LMDB answer store: open and recovery, reads, the batched writer thread, a full disk.
#include "cache/persistent_store.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "cache/entry_codec.h"

namespace holdfast::cache {
namespace {

constexpr std::string_view kFormatKey = "format";
// After ENOSPC: how often the writer looks for room, and how much free space counts as room (a
// few batches' worth, so that a disk with a few pages free does not flap open/full every try).
constexpr std::int64_t kSpaceRetryMs = 5000;
constexpr std::uint64_t kResumeFreeBytes = std::uint64_t{1} << 20;

std::string format_value() {
  return std::to_string(kEntryFormatVersion);
}

// Bytes an unprivileged writer may still use on the filesystem holding `dir` (none when statvfs
// cannot tell).
std::optional<std::uint64_t> free_bytes(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

// Opens the store in a child process and reads every record, so that a file damaged badly
// enough to crash LMDB crashes the child, not the daemon. True when the store is sound (or absent).
bool store_is_sound(const std::string& dir, std::size_t map_bytes) {
  if (!std::filesystem::exists(std::filesystem::path(dir) / "data.mdb")) return true;
  const pid_t child = fork();
  if (child < 0) return true;  // cannot check: trust it, reads validate every value anyway
  if (child == 0) {
    LmdbEnv env;
    LmdbError err = env.open(dir, map_bytes);
    if (err.status != LmdbStatus::kOk) _exit(err.status == LmdbStatus::kCorrupt ? 3 : 0);
    LmdbTxn txn(env, LmdbTxn::Mode::kRead);
    if (!txn.ok()) _exit(3);
    bool values_ok = true;
    err = txn.for_each(env.answers(), [&](std::string_view, std::string_view value) {
      values_ok = peek_entry_times(value).has_value();
      return values_ok;
    });
    _exit(err.status == LmdbStatus::kOk && values_ok ? 0 : 3);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string not_open(const std::string& file, StoreState state, const std::string& problem) {
  return "snapshot " + file + ": " +
         (state == StoreState::kMemoryOnly ? "the store runs memory-only (" + problem + ")"
                                           : std::string("the store is closed"));
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

PersistentStore::PersistentStore(StoreOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

std::unique_ptr<PersistentStore> PersistentStore::open(const StoreOptions& options,
                                                       const Clock& clock) {
  std::unique_ptr<PersistentStore> store(new PersistentStore(options, clock));
  store->open_or_recover();
  if (store->state() == StoreState::kOpen) {
    store->writer_ = std::thread([raw = store.get()] { raw->writer_loop(); });
  }
  return store;
}

PersistentStore::~PersistentStore() {
  close();
}

void PersistentStore::degrade(const std::string& why) {
  spdlog::error("persist {}: {}; continuing memory-only", options_.dir, why);
  {
    std::lock_guard lock(mutex_);
    problem_ = why;
  }
  state_ = StoreState::kMemoryOnly;
}

std::size_t PersistentStore::erase_matching(const std::function<bool(std::string_view)>& match) {
  if (state_.load() != StoreState::kOpen) return 0;
  std::vector<std::string> keys;
  {
    LmdbTxn txn(env_, LmdbTxn::Mode::kRead);
    if (!txn.ok()) return 0;
    txn.for_each(env_.answers(), [&](std::string_view key, std::string_view) {
      if (match(key)) keys.emplace_back(key);
      return true;
    });
  }
  env_.release_pages();
  std::lock_guard lock(mutex_);
  for (std::string& key : keys) {
    queue_.push_back(Write{std::move(key), std::string()});
    ++enqueued_seq_;
  }
  counters_.queue_length.store(queue_.size(), std::memory_order_relaxed);
  wake_.notify_one();
  return keys.size();
}

void PersistentStore::set_pinned(std::string_view key, bool pinned) {
  std::lock_guard lock(pins_mutex_);
  if (pinned) {
    pins_.emplace(key);
  } else if (auto found = pins_.find(key); found != pins_.end()) {
    pins_.erase(found);
  }
}

bool PersistentStore::pinned(std::string_view key) const {
  std::lock_guard lock(pins_mutex_);
  return !pins_.empty() && pins_.find(key) != pins_.end();
}

void PersistentStore::release_reader() noexcept {
  std::lock_guard lock(reader_mutex_);
  reader_.release();
}

std::string PersistentStore::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

void PersistentStore::move_aside(const std::string& why) {
  release_reader();
  env_.close();
  const auto aside =
      std::filesystem::path(options_.dir) / ("corrupt-" + std::to_string(clock_.wall_seconds()));
  std::error_code ec;
  std::filesystem::create_directories(aside, ec);
  for (const char* file : {"data.mdb", "lock.mdb"}) {
    const auto from = std::filesystem::path(options_.dir) / file;
    if (std::filesystem::exists(from, ec)) std::filesystem::rename(from, aside / file, ec);
  }
  counters_.moved_aside.fetch_add(1);
  spdlog::error("persist {}: {}; moved it aside to {} and starting with an empty store",
                options_.dir, why, aside.string());
}

bool PersistentStore::check_format() {
  std::string_view value;
  {
    LmdbTxn read(env_, LmdbTxn::Mode::kRead);
    if (!read.ok()) return false;
    LmdbError err = read.get(env_.meta(), kFormatKey, value);
    if (err.status == LmdbStatus::kOk) return value == format_value();
    if (err.status != LmdbStatus::kNotFound) return false;
  }
  // No version yet: a new store (or one with answers of unknown origin, which is not trusted).
  if (env_.entry_count() > 0) return false;
  LmdbTxn write(env_, LmdbTxn::Mode::kWrite);
  if (!write.ok()) {
    degrade("cannot write: " + write.error().what());
    return true;
  }
  if (auto err = write.put(env_.meta(), kFormatKey, format_value());
      err.status != LmdbStatus::kOk) {
    degrade("cannot write: " + err.what());
    return true;
  }
  if (auto err = write.commit(); err.status != LmdbStatus::kOk) {
    degrade("cannot write: " + err.what());
  }
  return true;
}

// The directory or its file system refuses writes, but a store may be there: serve what it holds.
bool PersistentStore::open_read_only(const std::string& why) {
  if (env_.open_read_only(options_.dir).status != LmdbStatus::kOk) return false;
  std::string_view version;
  bool same_format = false;
  {
    LmdbTxn read(env_, LmdbTxn::Mode::kRead);
    same_format = read.ok() &&
                  read.get(env_.meta(), kFormatKey, version).status == LmdbStatus::kOk &&
                  version == format_value();
  }
  if (!same_format) {
    env_.close();
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    problem_ = "read-only (" + why + ")";
  }
  state_ = StoreState::kReadOnly;
  spdlog::error(
      "persist {}: opened read-only ({}); serving the {} answers it holds, writing nothing",
      options_.dir, why, env_.entry_count());
  return true;
}

void PersistentStore::open_or_recover() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) {
    if (open_read_only("cannot create the directory: " + ec.message())) return;
    degrade("cannot create the directory: " + ec.message());
    return;
  }
  if (::access(options_.dir.c_str(), W_OK) != 0 && errno != ENOENT) {
    const std::string why = std::string("the directory cannot be written: ") + std::strerror(errno);
    if (open_read_only(why)) return;
    degrade(why);
    return;
  }
  if (!store_is_sound(options_.dir, options_.size_bytes)) move_aside("the store is damaged");
  for (int attempt = 0; attempt < 2; ++attempt) {
    LmdbError err = env_.open(options_.dir, options_.size_bytes);
    if (err.status == LmdbStatus::kCorrupt) {
      move_aside("cannot open the store (" + err.what() + ")");
      continue;
    }
    if (err.status == LmdbStatus::kReadOnly &&
        open_read_only("cannot open the store for writing (" + err.what() + ")")) {
      return;
    }
    if (err.status != LmdbStatus::kOk) {
      degrade("cannot open the store (" + err.what() + ")");
      return;
    }
    state_ = StoreState::kOpen;
    if (!check_format()) {
      state_ = StoreState::kClosed;
      move_aside("the store has another format version (want " + format_value() + ")");
      continue;
    }
    if (state_ == StoreState::kOpen) {
      count_negatives();
      spdlog::info("persist {}: {} entries, {} KiB of {} KiB used ({} KiB by negative answers)",
                   options_.dir, env_.entry_count(), env_.used_bytes() / 1024,
                   env_.map_bytes() / 1024, counters_.negative_bytes.load() / 1024);
    }
    return;
  }
  degrade("cannot recover the store");
}

std::optional<Entry> PersistentStore::get(std::string_view key) {
  const StoreState state = state_.load();
  if (state != StoreState::kOpen && state != StoreState::kReadOnly) return std::nullopt;
  counters_.reads.fetch_add(1, std::memory_order_relaxed);
  std::optional<DecodedEntry> decoded;
  bool found = false;
  {
    std::lock_guard lock(reader_mutex_);  // uncontended: reads come from the loop
    const LmdbError err = reader_.read(env_.answers(), key, [&](std::string_view value) {
      found = true;
      decoded = decode_entry(value);  // copies out before the transaction is reset
    });
    if (err.status != LmdbStatus::kOk) return std::nullopt;
  }
  if (found && !decoded) {
    counters_.invalid_deleted.fetch_add(1, std::memory_order_relaxed);
    if (state == StoreState::kReadOnly) return std::nullopt;  // cannot delete it: skip it
    std::lock_guard lock(mutex_);
    queue_.push_back(Write{std::string(key), std::string()});
    ++enqueued_seq_;
    return std::nullopt;
  }
  counters_.read_hits.fetch_add(1, std::memory_order_relaxed);
  return std::move(decoded->entry);
}

void PersistentStore::scan_times(
    const std::function<bool(std::string_view, const EntryTimes&)>& visit) {
  const StoreState state = state_.load();
  if (state != StoreState::kOpen && state != StoreState::kReadOnly) return;
  {
    LmdbTxn txn(env_, LmdbTxn::Mode::kRead);
    if (!txn.ok()) return;
    txn.for_each(env_.answers(), [&](std::string_view key, std::string_view value) {
      auto times = peek_entry_times(value);
      return !times || visit(key, *times);
    });
  }
  env_.release_pages();  // the scan mapped the whole file (bench/persist: 173 B an entry)
}

void PersistentStore::scan_entries(
    const std::function<bool(std::string_view, DecodedEntry&)>& visit) {
  const StoreState state = state_.load();
  if (state != StoreState::kOpen && state != StoreState::kReadOnly) return;
  {
    LmdbTxn txn(env_, LmdbTxn::Mode::kRead);
    if (!txn.ok()) return;
    txn.for_each(env_.answers(), [&](std::string_view key, std::string_view value) {
      try {
        auto decoded = decode_entry(value);
        return !decoded || visit(key, *decoded);
      } catch (...) {
        return false;  // out of memory: stop here
      }
    });
  }
  env_.release_pages();
}

void PersistentStore::put(std::string_view key, const Entry& entry) {
  if (state_.load() != StoreState::kOpen || entry.kind == EntryKind::kUncacheable) return;
  std::string value = encode_entry(entry, clock_.wall_seconds());
  std::lock_guard lock(mutex_);
  if (queue_.size() >= options_.queue_capacity) {
    counters_.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(Write{std::string(key), std::move(value)});
  counters_.queue_length.store(queue_.size(), std::memory_order_relaxed);
  ++enqueued_seq_;
  counters_.queued.fetch_add(1, std::memory_order_relaxed);
  if (queue_.size() >= options_.batch_max) wake_.notify_one();
}

void PersistentStore::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = enqueued_seq_;
  flush_requested_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] {
    return committed_seq_ >= target || state_.load() != StoreState::kOpen || !writer_.joinable();
  });
}

void PersistentStore::close() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  env_.sync();
  release_reader();
  env_.close();
  if (state_.load() == StoreState::kOpen) state_ = StoreState::kClosed;
}

void PersistentStore::writer_loop() {
  std::int64_t last_sync_ms = clock_.monotonic_ms();
  for (;;) {
    std::deque<Write> batch;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.flush_interval, [&] {
        return stopping_ || queue_.size() >= options_.batch_max || flush_requested_;
      });
      flush_requested_ = false;
      const std::size_t take = std::min(queue_.size(), options_.batch_max);
      batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      counters_.queue_length.store(queue_.size(), std::memory_order_relaxed);
      stop = stopping_ && queue_.empty();
    }
    if (!batch.empty() && state_.load() == StoreState::kOpen) {
      std::vector<Write> writes(std::make_move_iterator(batch.begin()),
                                std::make_move_iterator(batch.end()));
      const auto started = std::chrono::steady_clock::now();
      if (recount_negatives_.exchange(false)) count_negatives();
      commit_batch(writes);
      evict_if_needed(false, options_.evict_low_water);
      if (negative_refusing_ &&
          clock_.monotonic_ms() - negative_purged_ms_ >= options_.negative_purge_interval.count()) {
        purge_expired_negatives();
      }
      counters_.flush_micros.fetch_add(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count()),
          std::memory_order_relaxed);
      counters_.last_commit_ms.store(clock_.monotonic_ms(), std::memory_order_relaxed);
    }
    {
      std::lock_guard lock(mutex_);
      committed_seq_ += batch.size();
    }
    flushed_.notify_all();
    const std::int64_t now_ms = clock_.monotonic_ms();
    if (out_of_space_ && !stop && now_ms >= next_space_check_ms_) {
      next_space_check_ms_ = now_ms + kSpaceRetryMs;
      resume_if_room();
    }
    if (now_ms - last_sync_ms >= options_.sync_interval.count()) {
      env_.sync();
      last_sync_ms = now_ms;
    }
    if (stop) break;
  }
  std::lock_guard lock(mutex_);
  committed_seq_ = enqueued_seq_;
  flushed_.notify_all();
}

bool PersistentStore::commit_batch(std::span<const Write> batch) {
  // The negative budget moves only when the transaction commits.
  std::int64_t negative_delta = 0;
  std::uint64_t refused = 0;
  const std::uint64_t cap = options_.negative_max_bytes.value_or(UINT64_MAX);
  auto write_all = [&]() -> LmdbError {
    negative_delta = 0;
    refused = 0;
    LmdbTxn txn(env_, LmdbTxn::Mode::kWrite);  // aborted on return unless committed
    if (!txn.ok()) return txn.error();
    for (const Write& write : batch) {
      // What the record replaced counts no more (a view: read before the next write).
      std::string_view old;
      const bool had = txn.get(env_.answers(), write.key, old).status == LmdbStatus::kOk;
      const std::int64_t old_negative =
          had && is_negative_value(old)
              ? static_cast<std::int64_t>(negative_record_bytes(write.key, old))
              : 0;
      LmdbError err;
      if (write.value.empty()) {
        err = txn.del(env_.answers(), write.key);
        negative_delta -= old_negative;
      } else if (is_negative_value(write.value)) {
        const auto bytes = static_cast<std::int64_t>(negative_record_bytes(write.key, write.value));
        const std::int64_t after = static_cast<std::int64_t>(counters_.negative_bytes.load()) +
                                   negative_delta - old_negative + bytes;
        if (static_cast<std::uint64_t>(std::max<std::int64_t>(after, 0)) > cap) {
          // Over the budget: not stored. An older answer for the name would be wrong now.
          ++refused;
          if (had) err = txn.del(env_.answers(), write.key);
          negative_delta -= had ? old_negative : 0;
        } else {
          err = txn.put(env_.answers(), write.key, write.value);
          negative_delta += bytes - old_negative;
        }
      } else {
        err = txn.put(env_.answers(), write.key, write.value);
        negative_delta -= old_negative;
      }
      if (err.status != LmdbStatus::kOk) return err;
    }
    return txn.commit();
  };
  auto committed = [&] {
    if (negative_delta >= 0) {
      counters_.negative_bytes.fetch_add(static_cast<std::uint64_t>(negative_delta));
    } else {
      counters_.negative_bytes.fetch_sub(static_cast<std::uint64_t>(-negative_delta));
    }
    if (refused == 0) return;
    negative_refusing_ = true;  // until the next purge of expired negatives
    counters_.negative_refused.fetch_add(refused, std::memory_order_relaxed);
    if (!negative_cap_logged_) {
      negative_cap_logged_ = true;
      spdlog::warn(
          "persist {}: negative answers reached negative_max ({} KiB); further ones are not "
          "stored until room is made (counted in holdfast_store_negative_refused_total)",
          options_.dir, cap / 1024);
    }
  };
  // On a full map: evict to the low-water mark, then to half of it, then commit the batch in
  // halves (a batch can be larger than what a small map has free).
  for (int attempt = 0; attempt < 3; ++attempt) {
    const LmdbError err = write_all();
    if (err.status == LmdbStatus::kOk) {
      committed();
      counters_.written.fetch_add(batch.size(), std::memory_order_relaxed);
      counters_.batches.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (err.status == LmdbStatus::kMapFull) {
      // The write transaction is gone (it held LMDB's writer lock): evict, then retry.
      counters_.map_full.fetch_add(1, std::memory_order_relaxed);
      if (attempt < 2) {
        evict_if_needed(true, options_.evict_low_water / (attempt + 1));
        continue;
      }
      if (batch.size() > 1) {
        const std::size_t half = batch.size() / 2;
        const bool first = commit_batch(batch.first(half));
        return commit_batch(batch.subspan(half)) && first;
      }
    }
    counters_.write_errors.fetch_add(1, std::memory_order_relaxed);
    if (err.status == LmdbStatus::kNoSpace) {
      pause_for_space(err);
    } else if (err.status == LmdbStatus::kReadOnly) {
      degrade("write failed (" + err.what() + ")");
    } else {
      spdlog::warn("persist {}: dropped a batch of {} entries ({})", options_.dir, batch.size(),
                   err.what());
    }
    return false;
  }
  return false;
}

void PersistentStore::pause_for_space(const LmdbError& err) {
  // The committed store is intact (LMDB wrote no meta page for the failed transaction): keep
  // serving it, as a read-only store, and write again once there is room.
  if (out_of_space_) return;  // the other half of a split batch: said once
  {
    std::lock_guard lock(mutex_);
    problem_ = "full (write failed: " + err.what() + ")";
  }
  out_of_space_ = true;
  next_space_check_ms_ = clock_.monotonic_ms() + kSpaceRetryMs;
  state_ = StoreState::kReadOnly;
  // What the filesystem says, beside the error: LMDB reports a write cut short by a full disk as
  // EIO ("Input/output error"), which alone would read like a failing disk.
  const std::optional<std::uint64_t> available = free_bytes(options_.dir);
  const std::string free_space = available ? fmt::format("; {} KiB free", *available / 1024) : "";
  spdlog::error(
      "persist {}: write failed ({}{}): the disk is full; serving the answers it holds, writing "
      "nothing until there is room (checked every {} s)",
      options_.dir, err.what(), free_space, kSpaceRetryMs / 1000);
}

void PersistentStore::resume_if_room() {
  const std::optional<std::uint64_t> available = free_bytes(options_.dir);
  if (available && *available < kResumeFreeBytes) return;
  // A write of our own proves it: the format key again, one small transaction.
  LmdbTxn txn(env_, LmdbTxn::Mode::kWrite);
  if (!txn.ok() || txn.put(env_.meta(), kFormatKey, format_value()).status != LmdbStatus::kOk ||
      txn.commit().status != LmdbStatus::kOk) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    problem_.clear();
  }
  out_of_space_ = false;
  state_ = StoreState::kOpen;
  spdlog::info("persist {}: {} MiB free again; persistence is back", options_.dir,
               available.value_or(0) >> 20);
}

Result<SnapshotStats> PersistentStore::export_snapshot(const std::string& file) {
  if (state_.load() != StoreState::kOpen) return fail(not_open(file, state_.load(), problem()));
  const auto started = std::chrono::steady_clock::now();
  auto stats = export_answers(env_, file, clock_.wall_seconds());
  if (stats) {
    spdlog::info("persist {}: exported {} entries to {} ({} bytes, {} invalid left out) in {} ms",
                 options_.dir, stats->entries, file, stats->bytes, stats->skipped_invalid,
                 elapsed_ms(started));
  }
  return stats;
}

Result<ImportStats> PersistentStore::import_snapshot(const std::string& file) {
  if (state_.load() != StoreState::kOpen) return fail(not_open(file, state_.load(), problem()));
  const auto started = std::chrono::steady_clock::now();
  auto stats = import_answers(env_, file, options_.size_bytes);
  recount_negatives_ = true;  // by the writer, before its next batch
  if (stats) {
    spdlog::info("persist {}: imported {} entries from {} ({} kept as fresher) in {} ms",
                 options_.dir, stats->imported, file, stats->skipped_fresher, elapsed_ms(started));
  }
  return stats;
}

}  // namespace holdfast::cache
