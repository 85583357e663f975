// The only file that speaks LMDB: an environment with two named databases, transactions that
// abort unless committed, and every MDB_* error mapped to a LmdbStatus in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

// LMDB's handle types, declared as lmdb.h declares them, so that this header (which the store's
// header and through it server/ includes) does not pull in lmdb.h.
struct MDB_env;
struct MDB_txn;
using MDB_dbi = unsigned int;

namespace holdfast::cache {

enum class LmdbStatus : std::uint8_t {
  kOk,
  kNotFound,
  kMapFull,   // MDB_MAP_FULL / MDB_TXN_FULL: evict, then retry
  kCorrupt,   // MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH, ...
  kReadOnly,  // EACCES, EROFS, EPERM: degrade to memory-only
  kNoSpace,   // ENOSPC, EDQUOT: degrade to memory-only
  kOtherError,
};

struct LmdbError {
  LmdbStatus status = LmdbStatus::kOk;
  int code = 0;
  std::string what() const;
};

LmdbError map_lmdb_error(int rc) noexcept;

class LmdbTxn;

// One MDB_env per directory per process. Thread-safe as LMDB is (MDB_NOTLS: read transactions
// are not tied to threads).
class LmdbEnv {
 public:
  LmdbEnv() = default;
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  // Opens (creating) the environment in `dir` with a map of `map_bytes`, clears stale reader
  // slots left by crashed processes, and opens the "meta" and "answers" databases.
  LmdbError open(const std::string& dir, std::size_t map_bytes) noexcept;
  // Opens an existing store without writing anything (a read-only directory or file system):
  // kNotFound when it has no answers database.
  LmdbError open_read_only(const std::string& dir) noexcept;
  void close() noexcept;
  bool is_open() const noexcept { return env_ != nullptr; }

  // Bytes used by the databases' pages, and the map size: the fill ratio eviction watches.
  std::size_t used_bytes() const noexcept;
  std::size_t map_bytes() const noexcept;
  std::size_t entry_count() const noexcept;
  LmdbError sync() noexcept;
  // Drops the store file's pages from this process's resident set: after a scan of the whole
  // store (promotion at start, eviction) every page of the file is mapped and counts in VmRSS,
  // though nothing reads most of them again. They stay in the page cache, so a later read maps
  // them back without I/O. Any thread; views held by readers meanwhile stay valid (the map is a
  // read-only shared file mapping). Returns the bytes of map released (0 when closed or unknown).
  std::size_t release_pages() const noexcept;

  MDB_env* env() const noexcept { return env_; }
  // True when every page of the file LMDB has written so far is in the page cache, so a read
  // will not wait for the disk (mincore over the map; tens of µs for a 165 MiB store). False
  // when it cannot tell.
  bool pages_resident() const noexcept;
  MDB_dbi meta() const noexcept { return meta_; }
  MDB_dbi answers() const noexcept { return answers_; }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0;
  MDB_dbi answers_ = 0;
};

// A transaction; aborted in the destructor unless committed.
class LmdbTxn {
 public:
  enum class Mode { kRead, kWrite };
  LmdbTxn(const LmdbEnv& env, Mode mode) noexcept;
  ~LmdbTxn();
  LmdbTxn(const LmdbTxn&) = delete;
  LmdbTxn& operator=(const LmdbTxn&) = delete;

  const LmdbError& error() const noexcept { return error_; }
  bool ok() const noexcept { return txn_ != nullptr; }

  // The view is valid only until the transaction ends: copy out first.
  LmdbError get(MDB_dbi dbi, std::string_view key, std::string_view& value) noexcept;
  LmdbError put(MDB_dbi dbi, std::string_view key, std::string_view value) noexcept;
  LmdbError del(MDB_dbi dbi, std::string_view key) noexcept;
  LmdbError commit() noexcept;
  // Calls visit(key, value) for every record in key order, through one cursor of this
  // transaction; stops when visit returns false. The views are valid only during that call (copy
  // out what you keep); a read transaction sees one consistent version of the store, whatever
  // other writers commit meanwhile. visit must not throw (this function is noexcept) and must
  // not write to `dbi` through this transaction.
  LmdbError for_each(MDB_dbi dbi,
                     const std::function<bool(std::string_view, std::string_view)>& visit) noexcept;
  // Empties the database (the last resort when even deletes cannot find a free page).
  LmdbError drop_all(MDB_dbi dbi) noexcept;

 private:
  MDB_txn* txn_ = nullptr;
  LmdbError error_;
};

// A read-only transaction kept for reuse: reset after each read, renewed before the next (as
// Knot Resolver's cdb_lmdb.c does), so a read takes no lock on LMDB's reader table and allocates
// nothing. Not thread-safe: one reader per thread that reads (the loop). Must be destroyed (or
// release()d) before its environment closes.
class LmdbReader {
 public:
  explicit LmdbReader(const LmdbEnv& env) noexcept : env_(env) {}
  ~LmdbReader() { release(); }
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  // Looks `key` up and, when found, calls use(value) while the view is valid (copy out there).
  template <class Use>
  LmdbError read(MDB_dbi dbi, std::string_view key, Use&& use) noexcept {
    return read_with(
        dbi, key,
        [](void* context, std::string_view value) noexcept {
          (*static_cast<std::remove_reference_t<Use>*>(context))(value);
        },
        &use);
  }
  void release() noexcept;

 private:
  using Visit = void (*)(void* context, std::string_view value) noexcept;
  LmdbError read_with(MDB_dbi dbi, std::string_view key, Visit visit, void* context) noexcept;
  LmdbError begin() noexcept;
  const LmdbEnv& env_;
  MDB_txn* txn_ = nullptr;
};

// Deletes every record for which `doomed(key, value)` is true, committing every `per_txn`
// deletions so no transaction grows past LMDB's dirty-page limit. `deleted` counts them.
LmdbError delete_matching(const LmdbEnv& env, MDB_dbi dbi,
                          const std::function<bool(std::string_view, std::string_view)>& doomed,
                          std::size_t per_txn, std::uint64_t& deleted) noexcept;

}  // namespace holdfast::cache
