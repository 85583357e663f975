#include "cache/snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "cache/cache_key.h"
#include "cache/entry_codec.h"
#include "cache/persistent_store.h"
#include "dns/message.h"
#include "dns/packet_builder.h"

namespace holdfast::cache {
namespace {

namespace fs = std::filesystem;
using dns::testing::PacketBuilder;

constexpr std::int64_t kNow = 1'700'000'000;

// The key the query pipeline builds for `name` A IN, from a real query packet.
std::string key_for(const std::string& name, KeyBits bits = {}) {
  PacketBuilder query;
  query.header(1, 0x0100, 1).question(name, dns::qtype::kA);
  const dns::ParsedQuery parsed = dns::parse_query(query.span());
  return std::string(CacheKey(query.span(), parsed.query.question, bits).view());
}

// An upstream answer for `name` A: one record, stored at `stored_at`.
Entry entry_for(const std::string& name, std::int64_t stored_at = kNow, std::uint8_t last = 1) {
  PacketBuilder response;
  response.header(0, 0x8180, 1, 1)
      .question(name, dns::qtype::kA)
      .pointer(12)
      .rr_fixed(dns::qtype::kA, dns::kClassIn, 300, 4)
      .raw({192, 0, 2, last});
  return *make_entry(response.bytes(), TtlPolicy{}, stored_at);
}

std::string host(int i) {
  return "host" + std::to_string(i) + ".example.com";
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_all(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}
void put_u32_at(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
// Recomputes both checksums, so that a test reaches the check after them.
void reseal(std::string& bytes) {
  put_u32_at(bytes, 36, crc32c(std::string_view(bytes).substr(0, 36)));  // FORMAT: header CRC
  put_u32_at(bytes, bytes.size() - 4, crc32c(std::string_view(bytes).substr(0, bytes.size() - 4)));
}

void expect_same(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.wire, b.wire);
  EXPECT_EQ(a.ttl_offsets, b.ttl_offsets);
  EXPECT_EQ(a.question_end, b.question_end);
  EXPECT_EQ(a.stored_at_seconds, b.stored_at_seconds);
  EXPECT_EQ(a.ttl_seconds, b.ttl_seconds);
  EXPECT_EQ(a.rcode, b.rcode);
  EXPECT_EQ(a.kind, b.kind);
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("holdfast-snapshot-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    file_ = (root_ / "answers.hfsnap").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<PersistentStore> open_store(const std::string& name,
                                              std::size_t size_bytes = 16 << 20) {
    StoreOptions options;
    options.dir = (root_ / name).string();
    options.size_bytes = size_bytes;
    options.flush_interval = std::chrono::milliseconds(10);
    return PersistentStore::open(options, clock_);
  }
  static void fill(PersistentStore& store, int count, std::int64_t stored_at = kNow) {
    for (int i = 0; i < count; ++i) store.put(key_for(host(i)), entry_for(host(i), stored_at));
    store.flush();
  }
  // A target holding one entry of its own; an import that is refused must leave it so.
  std::unique_ptr<PersistentStore> target_with_one_entry() {
    auto target = open_store("target");
    target->put(key_for("own.example.com"), entry_for("own.example.com"));
    target->flush();
    return target;
  }
  void expect_refused(const std::string& bytes, const std::string& why) {
    write_all(file_, bytes);
    auto target = target_with_one_entry();
    auto imported = target->import_snapshot(file_);
    ASSERT_FALSE(imported) << "imported " << imported->imported;
    EXPECT_NE(imported.error().message.find("snapshot " + file_ + ": "), std::string::npos);
    EXPECT_NE(imported.error().message.find(why), std::string::npos) << imported.error().message;
    EXPECT_EQ(target->entry_count(), 1u);
    EXPECT_TRUE(target->get(key_for("own.example.com")));
  }
  std::string exported(int count, const std::string& source_dir = "source") {
    auto source = open_store(source_dir);
    fill(*source, count);
    EXPECT_TRUE(source->export_snapshot(file_));
    return read_all(file_);
  }

  fs::path root_;
  std::string file_;
  ManualClock clock_{kNow};
};

TEST(SnapshotChecksum, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);  // RFC 3720 §B.4 / the CRC catalogue
  EXPECT_EQ(crc32c("56789", crc32c("1234")), 0xe3069283u);
}

TEST(SnapshotKey, AcceptsExactlyTheKeysCacheKeyBuilds) {
  EXPECT_TRUE(is_cache_key(key_for("WWW.Example.com")));
  EXPECT_TRUE(is_cache_key(key_for("www.example.com", {true, true})));
  EXPECT_TRUE(is_cache_key(key_for(".")));
  const std::string key = key_for("www.example.com");
  EXPECT_FALSE(is_cache_key("key-1"));
  EXPECT_FALSE(is_cache_key(""));
  EXPECT_FALSE(is_cache_key(key + "x"));                            // bytes after the bits
  EXPECT_FALSE(is_cache_key(key.substr(0, key.size() - 1)));        // no bits byte
  EXPECT_FALSE(is_cache_key(std::string(key).replace(1, 1, "W")));  // upper case
  EXPECT_FALSE(is_cache_key(std::string(key).replace(key.size() - 1, 1, "\x04")));
  EXPECT_FALSE(is_cache_key(std::string("\xc0\x0c\0\x01\0\x01\0", 7)));  // a pointer
}

TEST_F(SnapshotTest, ExportThenImportIntoAFreshStoreGivesEveryEntryBack) {
  auto source = open_store("source");
  fill(*source, 200);
  auto stats = source->export_snapshot(file_);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->entries, 200u);
  EXPECT_EQ(stats->bytes, fs::file_size(file_));
  EXPECT_FALSE(fs::exists(file_ + ".tmp"));

  auto target = open_store("target");
  auto imported = target->import_snapshot(file_);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->imported, 200u);
  EXPECT_EQ(imported->skipped_fresher, 0u);
  EXPECT_EQ(imported->rejected, 0u);
  EXPECT_EQ(target->entry_count(), 200u);
  for (int i = 0; i < 200; ++i) {
    auto want = source->get(key_for(host(i)));
    auto got = target->get(key_for(host(i)));
    ASSERT_TRUE(want && got) << host(i);
    expect_same(*got, *want);
  }
}

TEST_F(SnapshotTest, AFresherEntryInTheTargetIsKept) {
  auto source = open_store("source");
  fill(*source, 2);  // host0 and host1, stored at kNow
  ASSERT_TRUE(source->export_snapshot(file_));
  auto target = open_store("target");
  target->put(key_for(host(0)), entry_for(host(0), kNow + 100, 9));  // fresher: kept
  target->put(key_for(host(1)), entry_for(host(1), kNow - 100, 9));  // older: replaced
  target->flush();

  auto imported = target->import_snapshot(file_);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->imported, 1u);
  EXPECT_EQ(imported->skipped_fresher, 1u);
  expect_same(target->get(key_for(host(0))).value(), entry_for(host(0), kNow + 100, 9));
  expect_same(target->get(key_for(host(1))).value(), entry_for(host(1), kNow));
}

TEST_F(SnapshotTest, AnEmptyStoreExportsAndImportsZeroEntries) {
  auto source = open_store("source");
  auto stats = source->export_snapshot(file_);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->entries, 0u);
  EXPECT_EQ(stats->bytes, kSnapshotHeaderSize + kSnapshotTrailerSize);
  auto imported = open_store("target")->import_snapshot(file_);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->imported, 0u);
}

TEST_F(SnapshotTest, ATruncatedFileIsRefusedWhole) {
  const std::string bytes = exported(5);
  expect_refused(bytes.substr(0, 3), "truncated in the header (3 of 40 bytes)");
  expect_refused(bytes.substr(0, 39), "truncated in the header");
  expect_refused(bytes.substr(0, 40), "truncated at record 1 of 5");
  expect_refused(bytes.substr(0, 45), "truncated at record 1 of 5");
  expect_refused(bytes.substr(0, bytes.size() / 2), "truncated at record 3 of 5");
  expect_refused(bytes.substr(0, bytes.size() - 2), "truncated in the trailer");
}

TEST_F(SnapshotTest, AFlippedByteIsRefusedWholeWithItsReason) {
  const std::string bytes = exported(3);
  auto flipped = [&](std::size_t at) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x10);
    return copy;
  };
  expect_refused(flipped(2), "not a snapshot (bad magic)");
  expect_refused(flipped(7), "snapshot format version 17, this build reads 1");
  expect_refused(flipped(19), "header checksum mismatch");  // the record count
  expect_refused(flipped(45), "checksum mismatch");         // inside record 1's key
  expect_refused(flipped(bytes.size() / 2), "checksum mismatch");
  expect_refused(flipped(bytes.size() - 1), "checksum mismatch");  // the trailer
}

TEST_F(SnapshotTest, EveryPossibleSingleByteFlipIsRefused) {
  const std::string bytes = exported(2);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x01);
    auto parsed = SnapshotFile::parse("f", copy);
    EXPECT_FALSE(parsed) << "a flip at offset " << at << " was accepted";
  }
  EXPECT_TRUE(SnapshotFile::parse("f", bytes));
}

TEST_F(SnapshotTest, AWrongMagicIsRefusedWhole) {
  std::string bytes = exported(3);
  bytes.replace(0, 6, "HFSNAX");
  reseal(bytes);
  expect_refused(bytes, "not a snapshot (bad magic)");
  expect_refused("not a snapshot at all, just text", "not a snapshot (bad magic)");
}

TEST_F(SnapshotTest, AnotherSnapshotOrEntryVersionIsRefusedWhole) {
  std::string bytes = exported(3);
  bytes[7] = 2;  // FORMAT: snapshot version, low byte
  reseal(bytes);
  expect_refused(bytes, "snapshot format version 2, this build reads 1");
  bytes = exported(3, "source-2");
  bytes[11] = 9;  // FORMAT: entry format version, low byte
  reseal(bytes);
  expect_refused(bytes, "entry format version 9, this store uses 1");
}

TEST_F(SnapshotTest, ABadRecordUnderAValidChecksumIsRefusedWhole) {
  const std::string good = encode_entry(entry_for("a.example.com"), kNow);
  auto one_record = [&](std::string_view key, std::string_view value) {
    SnapshotBuilder builder;
    builder.add(key_for("b.example.com"), encode_entry(entry_for("b.example.com"), kNow));
    builder.add(key, value);
    return builder.finish(kNow);
  };
  expect_refused(one_record("key-1", good), "record 2 of 2: invalid key");
  std::string damaged = good;
  damaged[40] = static_cast<char>(damaged[40] ^ 1);  // inside the wire: the entry checksum fails
  expect_refused(one_record(key_for("a.example.com"), damaged), "record 2 of 2: invalid entry");
  expect_refused(one_record(key_for("c.example.com"), good),
                 "record 2 of 2: key does not match its entry's question");
  std::string extra = one_record(key_for("a.example.com"), good);
  extra.insert(extra.size() - 4, 1, 'z');
  expect_refused(extra, "longer than its header says (");
}

TEST_F(SnapshotTest, ExportLeavesOutRecordsAnImportWouldRefuse) {
  auto source = open_store("source");
  fill(*source, 3);
  source->put("key-1", entry_for("www.example.com"));  // not a cache key
  source->flush();
  auto stats = source->export_snapshot(file_);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->entries, 3u);
  EXPECT_EQ(stats->skipped_invalid, 1u);
  auto imported = open_store("target")->import_snapshot(file_);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->imported, 3u);
}

TEST_F(SnapshotTest, ExportIntoAMissingDirectoryFailsAndLeavesNothing) {
  auto source = open_store("source");
  fill(*source, 3);
  const std::string file = (root_ / "missing" / "answers.hfsnap").string();
  auto stats = source->export_snapshot(file);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().message,
            "snapshot " + file + ": cannot create " + file + ".tmp: No such file or directory");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".tmp"));
}

TEST_F(SnapshotTest, ExportReplacesAnOlderFileWhole) {
  write_all(file_, std::string(100'000, 'x'));
  auto source = open_store("source");
  fill(*source, 3);
  auto stats = source->export_snapshot(file_);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(fs::file_size(file_), stats->bytes);
  EXPECT_TRUE(SnapshotFile::read(file_, 1 << 20));
}

TEST_F(SnapshotTest, ASnapshotTooLargeForTheStoreImportsNothing) {
  const std::string bytes = exported(12'000, "source-12000");
  write_all(file_, bytes);
  auto target = open_store("small", 1 << 20);
  target->put(key_for("own.example.com"), entry_for("own.example.com"));
  target->flush();
  auto imported = target->import_snapshot(file_);
  ASSERT_FALSE(imported);
  EXPECT_NE(imported.error().message.find("more than the store"), std::string::npos)
      << imported.error().message;
  EXPECT_EQ(target->entry_count(), 1u);
  // The same records, fewer of them: past the size check, LMDB itself runs out of room.
  write_all(file_, exported(8'100, "source-8100"));
  imported = target->import_snapshot(file_);
  ASSERT_FALSE(imported);
  EXPECT_NE(
      imported.error().message.find("the store is too small for its 8100 records (MDB_MAP_FULL"),
      std::string::npos)
      << imported.error().message;
  EXPECT_NE(imported.error().message.find("nothing imported"), std::string::npos)
      << imported.error().message;
  EXPECT_EQ(target->entry_count(), 1u);
  EXPECT_EQ(target->state(), StoreState::kOpen);
}

TEST_F(SnapshotTest, AClosedStoreRefusesBoth) {
  auto store = open_store("source");
  store->close();
  EXPECT_EQ(store->export_snapshot(file_).error().message,
            "snapshot " + file_ + ": the store is closed");
  EXPECT_FALSE(store->import_snapshot(file_));
}

TEST_F(SnapshotTest, ExportIsAConsistentViewWhileTheWriterCommits) {
  auto source = open_store("source", 64 << 20);
  fill(*source, 1000);
  std::atomic<bool> stop{false};
  // Bounded (a busy machine makes the exports slow; an unbounded writer would fill the store),
  // and joined however the test ends, so a failed assertion reports instead of terminating.
  std::thread writer([&] {
    for (int i = 1000; i < 51'000 && !stop.load(); ++i) {
      source->put(key_for(host(i)), entry_for(host(i)));
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop = true;
      thread.join();
    }
  } join{stop, writer};
  for (int round = 0; round < 5; ++round) {
    auto stats = source->export_snapshot(file_);
    ASSERT_TRUE(stats) << stats.error().message;
    auto file = SnapshotFile::read(file_, 64 << 20);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->size(), stats->entries);
    EXPECT_GE(stats->entries, 1000u);
  }
}

TEST_F(SnapshotTest, TwentyThousandEntriesRoundTripQuickly) {
  auto source = open_store("source", 64 << 20);
  fill(*source, 20'000);
  using Ms = std::chrono::duration<double, std::milli>;
  auto started = std::chrono::steady_clock::now();
  auto stats = source->export_snapshot(file_);
  const Ms export_ms = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(stats) << stats.error().message;
  started = std::chrono::steady_clock::now();
  ASSERT_TRUE(SnapshotFile::read(file_, 64 << 20));  // the validation alone, before any write
  const Ms read_ms = std::chrono::steady_clock::now() - started;
  auto target = open_store("target", 64 << 20);
  started = std::chrono::steady_clock::now();
  auto imported = target->import_snapshot(file_);
  const Ms import_ms = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->imported, 20'000u);
  EXPECT_EQ(target->entry_count(), 20'000u);
  std::cout << "20000 entries, " << stats->bytes << " bytes: export " << export_ms.count()
            << " ms, import " << import_ms.count() << " ms (of which reading and validating "
            << read_ms.count() << " ms)\n";
  RecordProperty("export_ms", static_cast<int>(export_ms.count()));
  RecordProperty("import_ms", static_cast<int>(import_ms.count()));
}

}  // namespace
}  // namespace holdfast::cache
