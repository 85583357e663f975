// Snapshot files of the answer store (`holdfastctl snapshot export/import`): the versioned,
// checksummed layout, atomic writing, whole-file validation, and the copy to and from LMDB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace holdfast::cache {

class LmdbEnv;

// FORMAT (all integers big-endian):
//   header:  6 bytes "HFSNAP" | u16 snapshot version | u32 entry format version
//            | u64 record count | i64 creation wall time (seconds) | u64 record bytes
//            | u32 CRC-32C of the header bytes before it
//   records: u16 key length | key (a cache key) | u32 value length | value (an encoded entry,
//            exactly as the store holds it)
//   trailer: u32 CRC-32C of everything before it
inline constexpr std::string_view kSnapshotMagic = "HFSNAP";  // FORMAT
inline constexpr std::uint16_t kSnapshotVersion = 1;          // FORMAT: bump on any change above
inline constexpr std::size_t kSnapshotHeaderSize = 6 + 2 + 4 + 8 + 8 + 8 + 4;  // FORMAT
inline constexpr std::size_t kSnapshotTrailerSize = 4;                         // FORMAT

struct SnapshotStats {
  std::uint64_t entries = 0;          // records written
  std::uint64_t bytes = 0;            // size of the file
  std::uint64_t skipped_invalid = 0;  // stored records an import would refuse: left out
};

struct ImportStats {
  std::uint64_t imported = 0;
  std::uint64_t skipped_fresher = 0;  // the store had the key with a later store time
  std::uint64_t rejected = 0;         // always 0 when the import succeeds: a bad file is refused
};

// CRC-32C (Castagnoli, as iSCSI and ext4 use), continuing from `crc` (0 to start).
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;

// True for the exact shape CacheKey builds: a lower-cased, uncompressed wire name (labels <= 63,
// name <= 255), QTYPE, QCLASS, and a bits byte using only DO (1) and CD (2).
bool is_cache_key(std::string_view key) noexcept;

// Why (key, value) cannot go into a snapshot, or empty when it can: the key must be a cache
// key, the value must pass decode_entry, and the entry's question must be the key's (name,
// ignoring case, QTYPE, QCLASS). Allocates (it decodes the entry); may throw std::bad_alloc.
std::string_view snapshot_record_problem(std::string_view key, std::string_view value);

// Accumulates records in memory and produces the whole file. Records are not checked here.
class SnapshotBuilder {
 public:
  SnapshotBuilder();
  void add(std::string_view key, std::string_view value);
  std::uint64_t count() const noexcept { return count_; }
  // The finished file: header, records, trailer. The builder is empty afterwards.
  std::string finish(std::int64_t created_at_seconds);

 private:
  std::string bytes_;  // header space, then the records
  std::uint64_t count_ = 0;
};

// Writes `bytes` to `path` atomically: `path`.tmp is written, fsynced and renamed over `path`,
// then the directory is fsynced. On failure nothing is left behind and `path` is untouched.
Result<std::uint64_t> write_snapshot_file(const std::string& path, std::string_view bytes);

// A snapshot file read whole and validated: magic, versions, lengths, both checksums, and every
// record (snapshot_record_problem). Owns the bytes; key()/value() are views into them, valid while
// the object lives (moves included).
class SnapshotFile {
 public:
  // Any error names the file and what is wrong, e.g. "snapshot F: truncated at record 12 of
  // 500". Files larger than `max_bytes` are refused before they are read.
  static Result<SnapshotFile> read(const std::string& path, std::uint64_t max_bytes);
  // Validates bytes already in memory; `path` is only for the messages.
  static Result<SnapshotFile> parse(const std::string& path, std::string bytes);

  std::size_t size() const noexcept { return records_.size(); }
  std::string_view key(std::size_t i) const noexcept;
  std::string_view value(std::size_t i) const noexcept;
  std::int64_t created_at_seconds() const noexcept { return created_at_seconds_; }

 private:
  struct RecordAt {
    std::size_t key_offset;
    std::uint16_t key_len;
    std::uint32_t value_len;  // the value follows the key and its u32 length
  };

  std::string bytes_;
  std::vector<RecordAt> records_;
  std::int64_t created_at_seconds_ = 0;
};

// Writes every record of env's answers database to `file` (write_snapshot_file), except those
// snapshot_record_problem rejects (counted in skipped_invalid). Reads in one read transaction:
// a consistent view while other writers commit. The file is built in memory first (its size),
// so that transaction is held only for the copy, not for the disk write. Any thread.
Result<SnapshotStats> export_answers(const LmdbEnv& env, const std::string& file,
                                     std::int64_t created_at_seconds);

// Reads and validates the whole of `file` (SnapshotFile::read) before changing anything, then
// writes its records into env's answers database in one write transaction: every record or none
// (a store too small for them: an error, nothing imported). A key already held with a later
// store time (stored_at_seconds) is kept and counted in skipped_fresher. LMDB serialises the
// transaction with other writers, which wait for it. Any thread.
Result<ImportStats> import_answers(const LmdbEnv& env, const std::string& file,
                                   std::uint64_t max_bytes);

}  // namespace holdfast::cache
