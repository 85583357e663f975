#include "cache/persistent_store.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cache/response_fixtures.h"

namespace holdfast::cache {
namespace {

namespace fs = std::filesystem;

class PersistentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("holdfast-store-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.dir = dir_.string();
    options_.size_bytes = 4 << 20;
    options_.flush_interval = std::chrono::milliseconds(10);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Entry entry(std::uint32_t ttl = 300) {
    return *make_entry(testing::a_response(false, ttl, ttl), TtlPolicy{}, clock_.wall_seconds());
  }
  static std::string key(int i) { return "key-" + std::to_string(i); }

  // Opens the store while `child` runs in another process that starts once it is open; returns
  // the store and sets `exit_code` to the child's (-1: it did not exit). The child is forked
  // before the store opens, while this process has one thread: a child of a process whose store
  // thread runs may only call async-signal-safe functions, and opening a store there (threads,
  // malloc) hung once for 300 s under ASan.
  template <typename Child>
  auto open_beside(Child child, int& exit_code) {
    exit_code = -1;
    int ready[2];
    if (pipe(ready) != 0) return decltype(PersistentStore::open(options_, clock_)){};
    const pid_t pid = fork();
    if (pid == 0) {
      close(ready[1]);
      char byte = 0;
      _exit(read(ready[0], &byte, 1) == 1 ? child() : 100);
    }
    close(ready[0]);
    auto store = PersistentStore::open(options_, clock_);
    const char go = 'g';
    if (pid > 0 && write(ready[1], &go, 1) == 1) {
      close(ready[1]);
      int status = 0;
      if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) exit_code = WEXITSTATUS(status);
    } else {
      close(ready[1]);
      if (pid > 0) waitpid(pid, nullptr, 0);
    }
    return store;
  }

  fs::path dir_;
  StoreOptions options_;
  ManualClock clock_{1'700'000'000};
};

TEST_F(PersistentStoreTest, AStoreJustWrittenIsAllInThePageCache) {
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 200; ++i) store->put(key(i), entry());
  store->flush();
  EXPECT_TRUE(store->pages_resident());  // a read cannot wait for the disk: read in place
  store->close();
  EXPECT_FALSE(store->pages_resident());  // closed: cannot tell
}

TEST_F(PersistentStoreTest, PutThenGetAfterFlush) {
  auto store = PersistentStore::open(options_, clock_);
  ASSERT_EQ(store->state(), StoreState::kOpen);
  store->put(key(1), entry());
  store->flush();
  auto got = store->get(key(1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->wire, entry().wire);
  EXPECT_FALSE(store->get(key(2)));
}

// Kilobytes of the store file mapped into this process and resident (/proc/self/smaps).
std::size_t resident_store_kib(const fs::path& dir) {
  std::ifstream smaps("/proc/self/smaps");
  const std::string file = (dir / "data.mdb").string();
  std::size_t kib = 0;
  bool in_store = false;
  for (std::string line; std::getline(smaps, line);) {
    if (line.size() > file.size() &&
        line.compare(line.size() - file.size(), file.size(), file) == 0) {
      in_store = true;
    } else if (line.rfind("Rss:", 0) == 0) {
      if (in_store) kib += std::stoul(line.substr(4));
      in_store = false;
    }
  }
  return kib;
}

TEST_F(PersistentStoreTest, AScanOfTheWholeStoreLeavesNoneOfItsPagesResident) {
  options_.size_bytes = 16 << 20;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 5000; ++i) store->put(key(i), entry());
  store->flush();
  std::size_t visited = 0;
  store->scan_entries([&](std::string_view, DecodedEntry&) {
    ++visited;
    return true;
  });
  EXPECT_EQ(visited, 5000u);
  EXPECT_EQ(resident_store_kib(dir_), 0u);
  // The pages are still the store's: reads map them back.
  auto got = store->get(key(4321));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->wire, entry().wire);
}

TEST_F(PersistentStoreTest, EntriesSurviveAReopenWithTheirStoreTime) {
  {
    auto store = PersistentStore::open(options_, clock_);
    store->put(key(1), entry());
    store->close();
  }
  clock_.advance_seconds(1000);
  auto store = PersistentStore::open(options_, clock_);
  auto got = store->get(key(1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->stored_at_seconds, 1'700'000'000);  // a restart never makes data look fresh
  EXPECT_EQ(store->entry_count(), 1u);
}

TEST_F(PersistentStoreTest, UncacheableEntriesAreNotWritten) {
  auto store = PersistentStore::open(options_, clock_);
  Entry e = entry();
  e.kind = EntryKind::kUncacheable;
  store->put(key(1), e);
  store->flush();
  EXPECT_EQ(store->entry_count(), 0u);
}

TEST_F(PersistentStoreTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  options_.queue_capacity = 5;
  options_.flush_interval = std::chrono::milliseconds(1000);
  options_.batch_max = 1000;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 50; ++i) store->put(key(i), entry());
  EXPECT_GE(store->counters().dropped_queue_full.load(), 40u);
}

TEST_F(PersistentStoreTest, FillingFarBeyondTheSizeKeepsWorkingAndUnderTheSize) {
  options_.size_bytes = 1 << 20;  // 1 MiB: a few thousand entries
  options_.queue_capacity = 100'000;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 20'000; ++i) {
    store->put(key(i), entry());
    if (i % 1000 == 0) clock_.advance_seconds(1);
  }
  store->flush();
  EXPECT_EQ(store->state(), StoreState::kOpen);
  EXPECT_GT(store->counters().evicted_lru.load() + store->counters().evicted_expired.load(), 0u);
  EXPECT_LE(store->used_bytes(), options_.size_bytes);
  const auto& c = store->counters();
  EXPECT_TRUE(store->get(key(19'999)))  // the newest survive
      << "written " << c.written << " batches " << c.batches << " map_full " << c.map_full
      << " errors " << c.write_errors << " lru " << c.evicted_lru << " entries "
      << store->entry_count() << " used " << store->used_bytes();
  const auto size = fs::file_size(dir_ / "data.mdb");
  EXPECT_LE(size, options_.size_bytes);
}

TEST_F(PersistentStoreTest, AFloodOfNegativeAnswersCannotEvictThePositiveOnes) {
  // Water torture: 500 names that resolve, then 60,000 junk NXDOMAINs into an 8 MiB store. The
  // junk is newer, but negative answers go first: every positive answer stays.
  options_.size_bytes = 8 << 20;
  options_.queue_capacity = 100'000;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 500; ++i) store->put("good-" + std::to_string(i), entry());
  store->flush();
  ASSERT_TRUE(store->get("good-0"));
  const Entry junk =
      *make_entry(testing::negative_response(3, 300, 300), TtlPolicy{}, clock_.wall_seconds());
  ASSERT_EQ(junk.kind, EntryKind::kDenial);
  for (int i = 0; i < 60'000; ++i) {
    store->put("junk-" + std::to_string(i), junk);
    if (i % 1000 == 0) clock_.advance_seconds(1);
    // In steps the writer keeps up with (one burst of 20,000 into a small map reaches the last
    // resort, which empties the store).
    if (i % 100 == 99) store->flush();
  }
  store->flush();
  EXPECT_GT(store->counters().evicted_lru.load(), 0u);
  int kept = 0;
  for (int i = 0; i < 500; ++i) kept += store->get("good-" + std::to_string(i)) ? 1 : 0;
  int scanned = 0;
  store->scan_times([&](std::string_view key, const EntryTimes&) {
    scanned += key.substr(0, 5) == "good-" ? 1 : 0;
    return true;
  });
  EXPECT_EQ(scanned, 500);
  EXPECT_EQ(kept, 500) << "lru " << store->counters().evicted_lru.load() << " expired "
                       << store->counters().evicted_expired.load() << " entries "
                       << store->entry_count() << " map_full " << store->counters().map_full.load();
  EXPECT_TRUE(store->get("junk-59999"));  // the newest junk stays while there is room
}

TEST_F(PersistentStoreTest, NegativeAnswersStopAtTheirCapWhilePositivesAreStillStored) {
  // negative_max: 200 names that resolve, then 5,000 junk NXDOMAINs against a 64 KiB budget in a
  // store with room for all of them. The junk stops at the cap; positives before and after stay.
  options_.size_bytes = 16 << 20;
  options_.queue_capacity = 100'000;
  options_.negative_max_bytes = 64 * 1024;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 200; ++i) store->put("good-" + std::to_string(i), entry());
  const Entry junk =
      *make_entry(testing::negative_response(3, 300, 300), TtlPolicy{}, clock_.wall_seconds());
  for (int i = 0; i < 5'000; ++i) {
    store->put("junk-" + std::to_string(i), junk);
    if (i % 500 == 499) store->flush();
  }
  for (int i = 0; i < 200; ++i) store->put("later-" + std::to_string(i), entry());
  store->flush();
  const StoreCounters& c = store->counters();
  EXPECT_LE(c.negative_bytes.load(), 64u * 1024);
  EXPECT_GT(c.negative_bytes.load(), 60u * 1024);  // filled up to the cap, not far below
  EXPECT_GT(c.negative_refused.load(), 4'000u);
  EXPECT_EQ(c.evicted_lru.load(), 0u);
  int positives = 0;
  int negatives = 0;
  store->scan_times([&](std::string_view key, const EntryTimes& times) {
    (times.kind == EntryKind::kSuccess ? positives : negatives) += 1;
    EXPECT_EQ(times.kind == EntryKind::kSuccess, key.substr(0, 5) != "junk-");
    return true;
  });
  EXPECT_EQ(positives, 400);
  EXPECT_EQ(static_cast<std::uint64_t>(negatives) + c.negative_refused.load(), 5'000u);
  EXPECT_TRUE(store->get("junk-0"));  // the first junk was stored, the rest refused
  EXPECT_FALSE(store->get("junk-4999"));
}

TEST_F(PersistentStoreTest, TheNegativeBudgetIsRecountedAtOpen) {
  options_.negative_max_bytes = 1 << 20;
  const Entry junk =
      *make_entry(testing::negative_response(3, 300, 300), TtlPolicy{}, clock_.wall_seconds());
  std::uint64_t before = 0;
  {
    auto store = PersistentStore::open(options_, clock_);
    for (int i = 0; i < 100; ++i) store->put("junk-" + std::to_string(i), junk);
    store->put("good", entry());
    store->put("junk-0", entry());  // a name that resolves again no longer counts as negative
    store->flush();
    before = store->counters().negative_bytes.load();
    EXPECT_GT(before, 0u);
    store->close();
  }
  auto store = PersistentStore::open(options_, clock_);
  EXPECT_EQ(store->counters().negative_bytes.load(), before);
}

TEST_F(PersistentStoreTest, ExpiredNegativesArePurgedToMakeRoomUnderTheCap) {
  options_.queue_capacity = 100'000;
  options_.negative_max_bytes = 16 * 1024;
  auto store = PersistentStore::open(options_, clock_);
  const auto junk_now = [&] {
    return *make_entry(testing::negative_response(3, 300, 300), TtlPolicy{}, clock_.wall_seconds());
  };
  for (int i = 0; i < 1'000; ++i) store->put("junk-" + std::to_string(i), junk_now());
  store->flush();
  ASSERT_GT(store->counters().negative_refused.load(), 0u);
  clock_.advance_seconds(400);  // past the junk's TTL and the purge interval
  store->put("refused-then-purge", junk_now());
  store->flush();
  EXPECT_GT(store->counters().negative_purged.load(), 0u);
  store->put("fresh-negative", junk_now());
  store->flush();
  EXPECT_TRUE(store->get("fresh-negative"));
  EXPECT_FALSE(store->get("junk-0"));
}

TEST_F(PersistentStoreTest, EvictionRemovesEntriesPastMaxStaleFirst) {
  options_.size_bytes = 1 << 20;
  options_.max_stale_seconds = 10;
  auto store = PersistentStore::open(options_, clock_);
  for (int i = 0; i < 500; ++i) store->put("old-" + std::to_string(i), entry(5));
  store->flush();
  clock_.advance_seconds(100);
  for (int i = 0; i < 20'000; ++i) store->put(key(i), entry());
  store->flush();
  EXPECT_GE(store->counters().evicted_expired.load(), 500u);
  EXPECT_FALSE(store->get("old-1"));
}

TEST_F(PersistentStoreTest, AnotherFormatVersionIsMovedAside) {
  fs::create_directories(dir_);
  {
    LmdbEnv env;
    ASSERT_EQ(env.open(dir_.string(), options_.size_bytes).status, LmdbStatus::kOk);
    LmdbTxn txn(env, LmdbTxn::Mode::kWrite);
    txn.put(env.meta(), "format", "0");
    txn.put(env.answers(), "k", "v");
    ASSERT_EQ(txn.commit().status, LmdbStatus::kOk);
  }
  auto store = PersistentStore::open(options_, clock_);
  EXPECT_EQ(store->state(), StoreState::kOpen);
  EXPECT_EQ(store->counters().moved_aside.load(), 1u);
  EXPECT_EQ(store->entry_count(), 0u);
  bool found_aside = false;
  for (const auto& item : fs::directory_iterator(dir_)) {
    if (item.path().filename().string().rfind("corrupt-", 0) == 0) found_aside = true;
  }
  EXPECT_TRUE(found_aside);
}

TEST_F(PersistentStoreTest, AGarbageFileIsMovedAsideAndAFreshStoreCreated) {
  fs::create_directories(dir_);
  {
    std::ofstream out(dir_ / "data.mdb", std::ios::binary);
    for (int i = 0; i < 100'000; ++i) out.put(static_cast<char>(i * 7));
  }
  auto store = PersistentStore::open(options_, clock_);
  EXPECT_EQ(store->state(), StoreState::kOpen);
  EXPECT_EQ(store->counters().moved_aside.load(), 1u);
  store->put(key(1), entry());
  store->flush();
  EXPECT_TRUE(store->get(key(1)));
}

TEST_F(PersistentStoreTest, ADamagedValueIsMovedAsideAtOpen) {
  {
    auto store = PersistentStore::open(options_, clock_);
    for (int i = 0; i < 100; ++i) store->put(key(i), entry());
    store->close();
  }
  // Overwrite bytes in the middle of the file wherever an answer's wire is (old page copies
  // hold it too, so every occurrence is hit).
  std::fstream file(dir_ / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  int overwritten = 0;
  for (std::size_t at = bytes.find("example"); at != std::string::npos;
       at = bytes.find("example", at + 1)) {
    file.seekp(static_cast<std::streamoff>(at));
    file.write("XXXXXXX", 7);
    ++overwritten;
  }
  ASSERT_GT(overwritten, 0);
  file.close();
  auto store = PersistentStore::open(options_, clock_);
  EXPECT_EQ(store->state(), StoreState::kOpen);
  EXPECT_EQ(store->counters().moved_aside.load(), 1u);
}

TEST_F(PersistentStoreTest, AValueThatFailsValidationIsDeletedAndCounted) {
  // Another process (LMDB allows several) writes garbage under a key while the store is open.
  int exit_code = -1;
  auto store = open_beside(
      [&] {
        LmdbEnv env;
        if (env.open(dir_.string(), options_.size_bytes).status != LmdbStatus::kOk) return 1;
        LmdbTxn txn(env, LmdbTxn::Mode::kWrite);
        txn.put(env.answers(), key(7), "not an entry");
        return txn.commit().status == LmdbStatus::kOk ? 0 : 1;
      },
      exit_code);
  ASSERT_EQ(exit_code, 0);
  EXPECT_EQ(store->entry_count(), 1u);
  EXPECT_FALSE(store->get(key(7)));  // never trusted
  EXPECT_EQ(store->counters().invalid_deleted.load(), 1u);
  store->flush();
  EXPECT_EQ(store->entry_count(), 0u);
}

TEST_F(PersistentStoreTest, AnUnwritableDirectoryDegradesToMemoryOnly) {
  if (geteuid() == 0) {
    // root ignores permissions; a path under a regular file cannot be created by anyone.
    fs::create_directories(dir_);
    std::ofstream(dir_ / "file") << "x";
    options_.dir = (dir_ / "file" / "store").string();
  } else {
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    options_.dir = (dir_ / "store").string();
  }
  auto store = PersistentStore::open(options_, clock_);
  EXPECT_EQ(store->state(), StoreState::kMemoryOnly);
  store->put(key(1), entry());  // accepted and ignored
  EXPECT_FALSE(store->get(key(1)));
  fs::permissions(dir_, fs::perms::owner_all);
}

TEST_F(PersistentStoreTest, AFullDiskStopsWritesKeepsReadsAndResumesOnceThereIsRoom) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "forks a multi-threaded process, which ThreadSanitizer does not support";
#endif
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private tmpfs";
  fs::create_directories(dir_);
  // In a child with a mount namespace of its own: a 256 KiB tmpfs under a store of 8 MiB.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=256k") != 0) {
      _exit(77);  // no mount namespaces here
    }
    options_.size_bytes = 8 << 20;
    ManualClock clock(1'700'000'000);
    auto store = PersistentStore::open(options_, clock);
    if (store->state() != StoreState::kOpen) _exit(2);
    store->put(key(0), *make_entry(testing::a_response(false), TtlPolicy{}, 1'700'000'000));
    store->flush();  // one small batch that fits
    for (int i = 1; i < 20'000; ++i) {
      store->put(key(i), *make_entry(testing::a_response(false), TtlPolicy{}, 1'700'000'000));
    }
    store->flush();
    // Full: nothing more is written, what was committed is still read.
    if (store->state() != StoreState::kReadOnly || store->counters().write_errors.load() == 0) {
      _exit(3);
    }
    if (!store->get(key(0))) _exit(4);
    // Room again (the tmpfs grows); the writer looks every 5 s of the store's clock.
    if (mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, "size=16m") != 0) _exit(77);
    clock.advance_seconds(6);
    for (int i = 0; i < 300 && store->state() != StoreState::kOpen; ++i) usleep(10'000);
    if (store->state() != StoreState::kOpen) _exit(5);
    store->put("after", *make_entry(testing::a_response(false), TtlPolicy{}, 1'700'000'000));
    store->flush();
    if (!store->get("after")) _exit(6);
    store->close();
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "mount namespaces are not available";
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: did not open, 3: not read-only or no write error counted, 4: committed entry not "
         "read while full, 5: not open again after the tmpfs grew, 6: not written after that";
}

TEST_F(PersistentStoreTest, ASecondProcessSeesWhatTheFirstWrote) {
  // The child opens the same store on its own (LMDB multi-process) and writes one entry.
  int exit_code = -1;
  auto store = open_beside(
      [&] {
        ManualClock clock(1'700'000'000);
        auto other = PersistentStore::open(options_, clock);
        other->put("from-child",
                   *make_entry(testing::a_response(false), TtlPolicy{}, 1'700'000'000));
        other->close();
        return other->state() == StoreState::kClosed ? 0 : 1;
      },
      exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_TRUE(store->get("from-child"));
}

}  // namespace
}  // namespace holdfast::cache
