// The on-disk form of a cache entry: encoding, and decoding that trusts nothing it reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cache/entry.h"

namespace holdfast::cache {

// Bumped whenever the layout below changes; a store holding another version is purged.
inline constexpr std::uint32_t kEntryFormatVersion = 1;

// FORMAT (all integers big-endian):
//   u8  format version (kEntryFormatVersion)
//   u8  kind (EntryKind)
//   u8  rcode
//   u8  reserved (0)
//   i64 stored_at_seconds (wall clock)
//   u32 ttl_seconds
//   i64 last_used_seconds (for LRU eviction; refreshed on promotion)
//   u16 question_end
//   u16 ttl offset count N
//   u16 wire length L
//   N × u16 ttl offsets
//   L bytes wire (response without OPT, ID 0)
//   u64 FNV-1a checksum of everything before it
inline constexpr std::size_t kEntryHeaderSize = 1 + 1 + 1 + 1 + 8 + 4 + 8 + 2 + 2 + 2;

std::string encode_entry(const Entry& entry, std::int64_t last_used_seconds);

struct DecodedEntry {
  Entry entry;
  std::int64_t last_used_seconds = 0;
};

// Validates version, lengths, offsets (each TTL field inside the wire, after the question),
// question_end, kind, and the checksum; nullopt when anything is off.
std::optional<DecodedEntry> decode_entry(std::string_view bytes);

// Reads only the fields eviction needs, after the same checks as decode_entry minus the copy.
struct EntryTimes {
  std::int64_t stored_at_seconds = 0;
  std::uint32_t ttl_seconds = 0;
  std::int64_t last_used_seconds = 0;
  EntryKind kind = EntryKind::kUncacheable;
};
std::optional<EntryTimes> peek_entry_times(std::string_view bytes);

}  // namespace holdfast::cache
