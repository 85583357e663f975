// Snapshot files: building, atomic writing, reading that refuses a bad file whole, and the copy
// between them and the store's answers database.
#include "cache/snapshot.h"
#include "cache/string_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <new>
#include <system_error>

#include "cache/entry_codec.h"
#include "cache/lmdb_env.h"
#include "dns/name.h"
#include "dns/wire.h"

namespace holdfast::cache {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) != 0 ? 0x82f63b78u : 0u);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrc32cTable = make_crc32c_table();

// FORMAT: field offsets in the header.
constexpr std::size_t kVersionAt = 6;
constexpr std::size_t kEntryVersionAt = 8;
constexpr std::size_t kCountAt = 12;
constexpr std::size_t kCreatedAt = 20;
constexpr std::size_t kRecordBytesAt = 28;
constexpr std::size_t kHeaderCrcAt = 36;
static_assert(kHeaderCrcAt + 4 == kSnapshotHeaderSize);

const std::uint8_t* at(std::string_view bytes, std::size_t offset) noexcept {
  return reinterpret_cast<const std::uint8_t*>(bytes.data()) + offset;
}
std::uint64_t read_u64(const std::uint8_t* p) noexcept {
  return (std::uint64_t{dns::read_u32(p)} << 32) | dns::read_u32(p + 4);
}

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Walks records from the end of the header, up to `count` of them, stopping at the first that
// does not fit before `end`; calls visit(key_offset, key_len, value_len) for each whole one.
struct Walk {
  std::uint64_t whole = 0;
  std::size_t end = kSnapshotHeaderSize;  // just past the last whole record
};
template <class Visit>
Walk walk_records(std::string_view bytes, std::size_t end, std::uint64_t count, Visit&& visit) {
  Walk walk;
  std::size_t pos = kSnapshotHeaderSize;
  while (walk.whole < count) {
    if (end - pos < 2) break;  // FORMAT: u16 key length, key, u32 value length, value
    const std::uint16_t key_len = dns::read_u16(at(bytes, pos));
    if (end - pos - 2 < std::size_t{key_len} + 4) break;
    const std::uint32_t value_len = dns::read_u32(at(bytes, pos + 2 + key_len));
    const std::size_t value_at = pos + 2 + key_len + 4;
    if (end - value_at < value_len) break;
    visit(pos + 2, key_len, value_len);
    pos = value_at + value_len;
    ++walk.whole;
  }
  walk.end = pos;
  return walk;
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept {
  crc = ~crc;
  for (char c : bytes) {
    crc = kCrc32cTable[(crc ^ static_cast<std::uint8_t>(c)) & 0xffu] ^ (crc >> 8);
  }
  return ~crc;
}

bool is_cache_key(std::string_view key) noexcept {
  std::size_t pos = 0;  // FORMAT: the layout CacheKey builds (cache_key.h)
  for (;;) {
    if (pos >= key.size() || pos >= dns::kMaxNameWireLen) return false;
    const auto len = static_cast<std::uint8_t>(key[pos]);
    if (len == 0) break;
    if (len > dns::kMaxLabelLen || key.size() - pos - 1 < len) return false;  // no pointers
    for (std::size_t i = pos + 1; i <= pos + len; ++i) {
      if (key[i] >= 'A' && key[i] <= 'Z') return false;
    }
    pos += 1 + std::size_t{len};
  }
  const std::size_t name_len = pos + 1;
  if (key.size() != name_len + 5) return false;  // QTYPE, QCLASS, bits
  return (static_cast<std::uint8_t>(key[name_len + 4]) & ~3u) == 0;
}

std::string_view snapshot_record_problem(std::string_view key, std::string_view value) {
  if (!is_cache_key(key)) return "invalid key";
  const auto decoded = decode_entry(value);
  if (!decoded) return "invalid entry";
  const dns::Bytes wire = decoded->entry.wire;
  const auto name = dns::read_name(wire, dns::kHeaderSize);
  if (!name || dns::kHeaderSize + name->wire_len + 4 > wire.size()) return "invalid entry";
  std::array<std::uint8_t, dns::kMaxNameWireLen> lower{};
  const std::size_t name_len = dns::copy_name_lower(wire, *name, lower.data());
  const std::string_view lower_name(reinterpret_cast<const char*>(lower.data()), name_len);
  const std::string_view type_class(
      reinterpret_cast<const char*>(wire.data()) + dns::kHeaderSize + name->wire_len, 4);
  if (key.size() != name_len + 5 || key.substr(0, name_len) != lower_name ||
      key.substr(name_len, 4) != type_class) {
    return "key does not match its entry's question";
  }
  return {};
}

SnapshotBuilder::SnapshotBuilder() : bytes_(kSnapshotHeaderSize, '\0') {}

void SnapshotBuilder::add(std::string_view key, std::string_view value) {
  put_u16(bytes_, static_cast<std::uint16_t>(key.size()));  // FORMAT: record
  bytes_.append(key);
  put_u32(bytes_, static_cast<std::uint32_t>(value.size()));
  bytes_.append(value);
  ++count_;
}

std::string SnapshotBuilder::finish(std::int64_t created_at_seconds) {
  std::string header;  // FORMAT: header
  header.reserve(kSnapshotHeaderSize);
  header.append(kSnapshotMagic);
  put_u16(header, kSnapshotVersion);
  put_u32(header, kEntryFormatVersion);
  put_u64(header, count_);
  put_u64(header, static_cast<std::uint64_t>(created_at_seconds));
  put_u64(header, bytes_.size() - kSnapshotHeaderSize);
  put_u32(header, crc32c(header));
  bytes_.replace(0, kSnapshotHeaderSize, header);
  put_u32(bytes_, crc32c(bytes_));  // FORMAT: trailer
  std::string out = std::move(bytes_);
  bytes_.assign(kSnapshotHeaderSize, '\0');
  count_ = 0;
  return out;
}

Result<std::uint64_t> write_snapshot_file(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  // O_NOFOLLOW: a symlink planted at FILE.tmp is refused, not written through.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return fail("snapshot " + path + ": cannot create " + tmp + ": " + errno_text(errno));
  auto give_up = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    return fail("snapshot " + path + ": " + what + ": " + errno_text(err));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return give_up("cannot write " + tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return give_up("cannot fsync " + tmp, err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    return give_up("cannot close " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    return give_up("cannot rename " + tmp, err);
  }
  // The rename is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return bytes.size();
}

Result<SnapshotFile> SnapshotFile::read(const std::string& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("snapshot " + path + ": cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("snapshot " + path + ": not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return fail("snapshot " + path + ": " + std::to_string(size) + " bytes, more than the store (" +
                std::to_string(max_bytes) + " bytes)");
  }
  std::string bytes(size, '\0');
  std::size_t done = 0;
  int err = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;  // an error, or the file shrank: parse() then reports the truncation
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (err != 0) return fail("snapshot " + path + ": cannot read: " + errno_text(err));
  bytes.resize(done);
  return parse(path, std::move(bytes));
}

Result<SnapshotFile> SnapshotFile::parse(const std::string& path, std::string bytes) {
  auto refuse = [&](const std::string& why) { return fail("snapshot " + path + ": " + why); };
  const std::string_view all = bytes;
  const std::string size_text = std::to_string(all.size());
  if (all.size() >= kSnapshotMagic.size() && !all.starts_with(kSnapshotMagic)) {
    return refuse("not a snapshot (bad magic)");
  }
  if (all.size() < kSnapshotHeaderSize) {
    return refuse("truncated in the header (" + size_text + " of " +
                  std::to_string(kSnapshotHeaderSize) + " bytes)");
  }
  // The version first: another version may lay out the rest of the header differently.
  const std::uint16_t version = dns::read_u16(at(all, kVersionAt));
  if (version != kSnapshotVersion) {
    return refuse("snapshot format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(kSnapshotVersion));
  }
  if (dns::read_u32(at(all, kHeaderCrcAt)) != crc32c(all.substr(0, kHeaderCrcAt))) {
    return refuse("header checksum mismatch");
  }
  const std::uint32_t entry_version = dns::read_u32(at(all, kEntryVersionAt));
  if (entry_version != kEntryFormatVersion) {
    return refuse("entry format version " + std::to_string(entry_version) + ", this store uses " +
                  std::to_string(kEntryFormatVersion));
  }
  const std::uint64_t count = read_u64(at(all, kCountAt));
  const std::uint64_t record_bytes = read_u64(at(all, kRecordBytesAt));
  const std::string count_text = std::to_string(count);
  constexpr std::uint64_t kFrame = kSnapshotHeaderSize + kSnapshotTrailerSize;
  if (record_bytes > std::numeric_limits<std::uint64_t>::max() - kFrame) {
    return refuse("record length out of range");
  }
  const std::uint64_t expected = kFrame + record_bytes;
  if (all.size() < expected) {
    const Walk walk = walk_records(all, all.size(), count, [](auto...) {});
    const std::string where =
        walk.whole < count ? "at record " + std::to_string(walk.whole + 1) + " of " + count_text
                           : std::string("in the trailer");
    return refuse("truncated " + where + " (" + size_text + " of " + std::to_string(expected) +
                  " bytes)");
  }
  if (all.size() > expected) {
    return refuse("longer than its header says (" + size_text + " of " + std::to_string(expected) +
                  " bytes)");
  }
  const std::size_t records_end = kSnapshotHeaderSize + record_bytes;
  if (dns::read_u32(at(all, records_end)) != crc32c(all.substr(0, records_end))) {
    return refuse("checksum mismatch");
  }

  SnapshotFile file;
  file.created_at_seconds_ = static_cast<std::int64_t>(read_u64(at(all, kCreatedAt)));
  file.records_.reserve(std::min<std::uint64_t>(count, record_bytes / 6));
  const Walk walk =
      walk_records(all, records_end, count,
                   [&](std::size_t key_offset, std::uint16_t key_len, std::uint32_t value_len) {
                     file.records_.push_back(RecordAt{key_offset, key_len, value_len});
                   });
  if (walk.whole < count) {
    return refuse("record " + std::to_string(walk.whole + 1) + " of " + count_text +
                  " runs past the end of the records");
  }
  if (walk.end != records_end) {
    return refuse(std::to_string(records_end - walk.end) + " bytes after record " + count_text);
  }
  file.bytes_ = std::move(bytes);
  for (std::size_t i = 0; i < file.records_.size(); ++i) {
    const std::string_view problem = snapshot_record_problem(file.key(i), file.value(i));
    if (!problem.empty()) {
      return refuse("record " + std::to_string(i + 1) + " of " + count_text + ": " +
                    std::string(problem));
    }
  }
  return file;
}

std::string_view SnapshotFile::key(std::size_t i) const noexcept {
  return std::string_view(bytes_).substr(records_[i].key_offset, records_[i].key_len);
}

std::string_view SnapshotFile::value(std::size_t i) const noexcept {
  const RecordAt& r = records_[i];
  return std::string_view(bytes_).substr(r.key_offset + r.key_len + 4, r.value_len);
}

Result<SnapshotStats> export_answers(const LmdbEnv& env, const std::string& file,
                                     std::int64_t created_at_seconds) {
  SnapshotBuilder builder;
  SnapshotStats stats;
  bool out_of_memory = false;
  LmdbError err;
  {
    LmdbTxn txn(env, LmdbTxn::Mode::kRead);  // one consistent view of the store
    if (!txn.ok()) {
      return fail("snapshot " + file + ": cannot read the store: " + txn.error().what());
    }
    err = txn.for_each(env.answers(), [&](std::string_view key, std::string_view value) {
      try {  // for_each is noexcept: nothing may escape
        if (!snapshot_record_problem(key, value).empty()) {
          ++stats.skipped_invalid;  // the store deletes such a value when a reader meets it
          return true;
        }
        builder.add(key, value);  // copies out of the transaction's view
        return true;
      } catch (const std::exception&) {
        out_of_memory = true;
        return false;
      }
    });
  }
  if (out_of_memory) return fail("snapshot " + file + ": out of memory");
  if (err.status != LmdbStatus::kOk) {
    return fail("snapshot " + file + ": cannot read the store: " + err.what());
  }
  stats.entries = builder.count();
  Result<std::uint64_t> written;
  try {
    written = write_snapshot_file(file, builder.finish(created_at_seconds));
  } catch (const std::bad_alloc&) {
    return fail("snapshot " + file + ": out of memory");
  }
  if (!written) return tl::unexpected(written.error());
  stats.bytes = *written;
  return stats;
}

Result<ImportStats> import_answers(const LmdbEnv& env, const std::string& file,
                                   std::uint64_t max_bytes) {
  Result<SnapshotFile> snapshot = fail("snapshot " + file + ": out of memory");
  try {
    snapshot = SnapshotFile::read(file, max_bytes);  // validates it all
  } catch (const std::bad_alloc&) {
  }
  if (!snapshot) return tl::unexpected(snapshot.error());
  ImportStats stats;
  LmdbError err;
  {
    LmdbTxn txn(env, LmdbTxn::Mode::kWrite);  // waits for, then holds, LMDB's writer lock
    err = txn.error();
    for (std::size_t i = 0; i < snapshot->size() && err.status == LmdbStatus::kOk; ++i) {
      const std::string_view key = snapshot->key(i);
      const std::string_view value = snapshot->value(i);
      std::string_view existing;
      err = txn.get(env.answers(), key, existing);
      if (err.status == LmdbStatus::kOk) {
        const auto have = peek_entry_times(existing);
        const auto incoming = peek_entry_times(value);  // validated: always set
        if (have && incoming && have->stored_at_seconds > incoming->stored_at_seconds) {
          ++stats.skipped_fresher;
          continue;
        }
      } else if (err.status != LmdbStatus::kNotFound) {
        break;
      }
      err = txn.put(env.answers(), key, value);
      ++stats.imported;
    }
    if (err.status == LmdbStatus::kOk) err = txn.commit();  // else aborted on leaving the scope
  }
  if (err.status == LmdbStatus::kOk) return stats;
  const std::string why =
      err.status == LmdbStatus::kMapFull
          ? "the store is too small for its " + std::to_string(snapshot->size()) + " records"
          : "cannot write the store";
  return fail("snapshot " + file + ": " + why + " (" + err.what() + "); nothing imported");
}

}  // namespace holdfast::cache
