// LMDB handles and error mapping.
#include "cache/lmdb_env.h"

#include <lmdb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

namespace holdfast::cache {
namespace {

MDB_val to_val(std::string_view s) noexcept {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view from_val(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

}  // namespace

LmdbError map_lmdb_error(int rc) noexcept {
  switch (rc) {
    case MDB_SUCCESS:
      return {LmdbStatus::kOk, rc};
    case MDB_NOTFOUND:
      return {LmdbStatus::kNotFound, rc};
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
      return {LmdbStatus::kMapFull, rc};
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_BAD_TXN:
    case MDB_BAD_VALSIZE:
    case MDB_INCOMPATIBLE:
      return {LmdbStatus::kCorrupt, rc};
    case EACCES:
    case EROFS:
    case EPERM:
      return {LmdbStatus::kReadOnly, rc};
    case ENOSPC:
    case EDQUOT:
    case EIO:  // LMDB reports a short write to a full disk as EIO
      return {LmdbStatus::kNoSpace, rc};
    default:
      return {LmdbStatus::kOtherError, rc};
  }
}

std::string LmdbError::what() const {
  return mdb_strerror(code);
}

LmdbEnv::~LmdbEnv() {
  close();
}

LmdbError LmdbEnv::open(const std::string& dir, std::size_t map_bytes) noexcept {
  close();
  int rc = mdb_env_create(&env_);
  if (rc == 0) rc = mdb_env_set_maxdbs(env_, 4);
  if (rc == 0) rc = mdb_env_set_mapsize(env_, map_bytes);
  if (rc == 0) rc = mdb_env_set_maxreaders(env_, 512);
  // NOSYNC: commits reach the OS at once (a kill -9 loses nothing committed); the disk is synced
  // by the writer every `sync` interval. NOTLS: read transactions may move between threads.
  if (rc == 0) rc = mdb_env_open(env_, dir.c_str(), MDB_NOSYNC | MDB_NOTLS, 0640);
  if (rc != 0) {
    close();
    return map_lmdb_error(rc);
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);  // readers left by a crashed predecessor
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_);
  if (rc == 0) rc = mdb_dbi_open(txn, "answers", MDB_CREATE, &answers_);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) {
    close();
    return map_lmdb_error(rc);
  }
  return {};
}

LmdbError LmdbEnv::open_read_only(const std::string& dir) noexcept {
  close();
  // LMDB still writes its lock file in read-only mode, except on a read-only file system; a
  // directory we may not write gets no locks at all (nobody can be writing there either).
  for (unsigned flags : {MDB_RDONLY | MDB_NOTLS, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK}) {
    int rc = mdb_env_create(&env_);
    if (rc == 0) rc = mdb_env_set_maxdbs(env_, 4);
    if (rc == 0) rc = mdb_env_set_maxreaders(env_, 512);
    if (rc == 0) rc = mdb_env_open(env_, dir.c_str(), flags, 0640);
    MDB_txn* txn = nullptr;
    if (rc == 0) rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, "meta", 0, &meta_);
    if (rc == 0) rc = mdb_dbi_open(txn, "answers", 0, &answers_);
    if (rc == 0) {
      rc = mdb_txn_commit(txn);  // keeps the database handles (an abort would close them)
    } else if (txn != nullptr) {
      mdb_txn_abort(txn);
    }
    if (rc == 0) return {};
    close();
    if (rc == MDB_NOTFOUND) return map_lmdb_error(rc);
    if (map_lmdb_error(rc).status != LmdbStatus::kReadOnly) return map_lmdb_error(rc);
  }
  return {LmdbStatus::kReadOnly, EACCES};
}

void LmdbEnv::close() noexcept {
  if (env_ != nullptr) {
    mdb_env_close(env_);
    env_ = nullptr;
  }
}

bool LmdbEnv::pages_resident() const noexcept {
  // The page cache is per file: a mapping of our own answers for LMDB's (whose address LMDB
  // does not give unless the map is fixed). Mapping and mincore() touch no page.
  if (env_ == nullptr) return false;
  int fd = -1;
  struct stat st {};
  if (mdb_env_get_fd(env_, &fd) != 0 || ::fstat(fd, &st) != 0 || st.st_size <= 0) return false;
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return false;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core;
  bool resident = false;
  try {
    in_core.resize((size + page - 1) / page);
    resident =
        ::mincore(map, size, in_core.data()) == 0 &&
        std::all_of(in_core.begin(), in_core.end(), [](unsigned char c) { return (c & 1) != 0; });
  } catch (...) {
    resident = false;
  }
  ::munmap(map, size);
  return resident;
}

std::size_t LmdbEnv::used_bytes() const noexcept {
  if (env_ == nullptr) return 0;
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return 0;
  std::size_t pages = 0;
  std::size_t page_size = 4096;
  for (MDB_dbi dbi : {MDB_dbi{0}, meta_, answers_}) {  // 0 = the free-page database
    MDB_stat stat{};
    if (mdb_stat(txn, dbi, &stat) == 0) {
      pages += stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
      page_size = stat.ms_psize;
    }
  }
  mdb_txn_abort(txn);
  return pages * page_size;
}

std::size_t LmdbEnv::map_bytes() const noexcept {
  if (env_ == nullptr) return 0;
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

std::size_t LmdbEnv::entry_count() const noexcept {
  if (env_ == nullptr) return 0;
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return 0;
  MDB_stat stat{};
  const std::size_t count = mdb_stat(txn, answers_, &stat) == 0 ? stat.ms_entries : 0;
  mdb_txn_abort(txn);
  return count;
}

LmdbError LmdbEnv::sync() noexcept {
  if (env_ == nullptr) return {};
  return map_lmdb_error(mdb_env_sync(env_, 1));
}

std::size_t LmdbEnv::release_pages() const noexcept {
  if (env_ == nullptr) return 0;
  // LMDB 0.9 reports the map's address (mdb_env_info's me_mapaddr) only with MDB_FIXEDMAP, so
  // the map is found as the kernel lists it: every mapping of data.mdb's device and inode in
  // /proc/self/maps (one, unless the kernel split it). The lock file is another inode.
  int fd = -1;
  struct stat file {};
  if (mdb_env_get_fd(env_, &fd) != 0 || fstat(fd, &file) != 0) return 0;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> maps(std::fopen("/proc/self/maps", "re"),
                                                             &std::fclose);
  if (!maps) return 0;
  std::size_t released = 0;
  char line[512];
  while (std::fgets(line, sizeof line, maps.get()) != nullptr) {
    unsigned long start = 0;
    unsigned long end = 0;
    unsigned long long offset = 0;
    unsigned int dev_major = 0;
    unsigned int dev_minor = 0;
    unsigned long long inode = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s %llx %x:%x %llu", &start, &end, perms, &offset, &dev_major,
                    &dev_minor, &inode) != 7) {
      continue;
    }
    if (inode != static_cast<unsigned long long>(file.st_ino) || dev_major != major(file.st_dev) ||
        dev_minor != minor(file.st_dev) || end <= start) {
      continue;
    }
    // A read-only shared file mapping (no MDB_WRITEMAP): MADV_DONTNEED only unmaps its pages.
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address is read from /proc/self/maps text
    if (madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) == 0) {
      released += end - start;
    }
  }
  return released;
}

LmdbTxn::LmdbTxn(const LmdbEnv& env, Mode mode) noexcept {
  if (env.env() == nullptr) {
    error_ = {LmdbStatus::kOtherError, EINVAL};
    return;
  }
  const int rc = mdb_txn_begin(env.env(), nullptr, mode == Mode::kRead ? MDB_RDONLY : 0u, &txn_);
  if (rc != 0) {
    txn_ = nullptr;
    error_ = map_lmdb_error(rc);
  }
}

LmdbTxn::~LmdbTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

LmdbError LmdbTxn::get(MDB_dbi dbi, std::string_view key, std::string_view& value) noexcept {
  MDB_val k = to_val(key);
  MDB_val v{};
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == 0) value = from_val(v);
  return map_lmdb_error(rc);
}

LmdbError LmdbTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value) noexcept {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  return map_lmdb_error(mdb_put(txn_, dbi, &k, &v, 0));
}

LmdbError LmdbTxn::del(MDB_dbi dbi, std::string_view key) noexcept {
  MDB_val k = to_val(key);
  const int rc = mdb_del(txn_, dbi, &k, nullptr);
  return map_lmdb_error(rc == MDB_NOTFOUND ? 0 : rc);
}

LmdbError LmdbTxn::commit() noexcept {
  const int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // committed or not, the handle is gone
  return map_lmdb_error(rc);
}

LmdbError LmdbTxn::for_each(
    MDB_dbi dbi, const std::function<bool(std::string_view, std::string_view)>& visit) noexcept {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, dbi, &cursor);
  if (rc != 0) return map_lmdb_error(rc);
  MDB_val k{};
  MDB_val v{};
  rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == 0) {
    if (!visit(from_val(k), from_val(v))) break;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  return map_lmdb_error(rc == MDB_NOTFOUND ? 0 : rc);
}

LmdbError LmdbTxn::drop_all(MDB_dbi dbi) noexcept {
  return map_lmdb_error(mdb_drop(txn_, dbi, 0));
}

static_assert(std::is_same_v<MDB_dbi, unsigned int>, "lmdb_env.h declares MDB_dbi as lmdb.h does");

LmdbError LmdbReader::read_with(MDB_dbi dbi, std::string_view key, Visit visit,
                                void* context) noexcept {
  LmdbError err = begin();
  if (err.status != LmdbStatus::kOk) return err;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{};
  const int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == 0) visit(context, std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  mdb_txn_reset(txn_);
  return map_lmdb_error(rc);
}

LmdbError LmdbReader::begin() noexcept {
  if (env_.env() == nullptr) return {LmdbStatus::kOtherError, EINVAL};
  int rc =
      txn_ != nullptr ? mdb_txn_renew(txn_) : mdb_txn_begin(env_.env(), nullptr, MDB_RDONLY, &txn_);
  if (rc == MDB_READERS_FULL) {
    int dead = 0;
    mdb_reader_check(env_.env(), &dead);  // slots of crashed processes
    rc = txn_ != nullptr ? mdb_txn_renew(txn_)
                         : mdb_txn_begin(env_.env(), nullptr, MDB_RDONLY, &txn_);
  }
  if (rc != 0) {
    release();
    return map_lmdb_error(rc);
  }
  return {};
}

void LmdbReader::release() noexcept {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

LmdbError delete_matching(const LmdbEnv& env, MDB_dbi dbi,
                          const std::function<bool(std::string_view, std::string_view)>& doomed,
                          std::size_t per_txn, std::uint64_t& deleted) noexcept {
  std::string resume;  // first key not yet examined, between transactions
  bool started = false;
  for (;;) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env.env(), nullptr, 0, &txn);
    if (rc != 0) return map_lmdb_error(rc);
    MDB_cursor* cursor = nullptr;
    rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return map_lmdb_error(rc);
    }
    MDB_val k = to_val(resume);
    MDB_val v{};
    rc = mdb_cursor_get(cursor, &k, &v, started ? MDB_SET_RANGE : MDB_FIRST);
    started = true;
    std::size_t in_txn = 0;
    bool more = false;
    while (rc == 0) {
      if (in_txn >= per_txn) {
        resume.assign(static_cast<const char*>(k.mv_data), k.mv_size);
        more = true;
        break;
      }
      if (doomed(from_val(k), from_val(v))) {
        rc = mdb_cursor_del(cursor, 0);
        if (rc != 0) break;
        ++in_txn;
        // After a delete the cursor already points at the next record.
        rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT);
        if (rc == EINVAL) rc = MDB_NOTFOUND;
        continue;
      }
      rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      mdb_txn_abort(txn);
      return map_lmdb_error(rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return map_lmdb_error(rc);
    deleted += in_txn;
    if (!more) return {};
  }
}

}  // namespace holdfast::cache
