// Encoding and validating persisted cache entries.
#include "cache/entry_codec.h"
#include "cache/string_bytes.h"

#include <cstring>

#include "dns/header.h"

namespace holdfast::cache {
namespace {

std::uint64_t fnv1a(std::string_view bytes) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// LMDB gives no alignment guarantee: every read goes through a byte copy.
struct Reader {
  const std::uint8_t* p;
  std::uint16_t u16() {
    const std::uint16_t v = dns::read_u16(p);
    p += 2;
    return v;
  }
  std::uint32_t u32() {
    const std::uint32_t v = dns::read_u32(p);
    p += 4;
    return v;
  }
  std::uint64_t u64() {
    const std::uint64_t hi = u32();
    return (hi << 32) | u32();
  }
};

struct Head {
  EntryKind kind;
  std::uint8_t rcode;
  std::int64_t stored_at;
  std::uint32_t ttl;
  std::int64_t last_used;
  std::uint16_t question_end;
  std::uint16_t offset_count;
  std::uint16_t wire_len;
};

std::optional<Head> check(std::string_view bytes) {
  if (bytes.size() < kEntryHeaderSize + 8) return std::nullopt;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (data[0] != kEntryFormatVersion || data[3] != 0) return std::nullopt;
  if (data[1] > static_cast<std::uint8_t>(EntryKind::kServfail)) return std::nullopt;
  Reader r{data + 4};
  Head head{static_cast<EntryKind>(data[1]), data[2], 0, 0, 0, 0, 0, 0};
  head.stored_at = static_cast<std::int64_t>(r.u64());
  head.ttl = r.u32();
  head.last_used = static_cast<std::int64_t>(r.u64());
  head.question_end = r.u16();
  head.offset_count = r.u16();
  head.wire_len = r.u16();
  const std::size_t expected =
      kEntryHeaderSize + 2 * std::size_t{head.offset_count} + head.wire_len + 8;
  if (bytes.size() != expected) return std::nullopt;
  Reader sum{data + expected - 8};
  if (sum.u64() != fnv1a(bytes.substr(0, expected - 8))) return std::nullopt;
  if (head.wire_len < dns::kHeaderSize + 5 || head.question_end > head.wire_len ||
      head.question_end < dns::kHeaderSize + 5) {
    return std::nullopt;
  }
  return head;
}

}  // namespace

std::string encode_entry(const Entry& entry, std::int64_t last_used_seconds) {
  std::string out;
  out.reserve(kEntryHeaderSize + 2 * entry.ttl_offsets.size() + entry.wire.size() + 8);
  out.push_back(static_cast<char>(kEntryFormatVersion));
  out.push_back(static_cast<char>(entry.kind));
  out.push_back(static_cast<char>(entry.rcode));
  out.push_back(0);
  put_u64(out, static_cast<std::uint64_t>(entry.stored_at_seconds));
  put_u32(out, entry.ttl_seconds);
  put_u64(out, static_cast<std::uint64_t>(last_used_seconds));
  put_u16(out, entry.question_end);
  put_u16(out, static_cast<std::uint16_t>(entry.ttl_offsets.size()));
  put_u16(out, static_cast<std::uint16_t>(entry.wire.size()));
  for (std::uint16_t offset : entry.ttl_offsets) put_u16(out, offset);
  out.append(reinterpret_cast<const char*>(entry.wire.data()), entry.wire.size());
  put_u64(out, fnv1a(out));
  return out;
}

std::optional<DecodedEntry> decode_entry(std::string_view bytes) {
  auto head = check(bytes);
  if (!head) return std::nullopt;
  DecodedEntry decoded;
  Entry& entry = decoded.entry;
  entry.kind = head->kind;
  entry.rcode = head->rcode;
  entry.stored_at_seconds = head->stored_at;
  entry.ttl_seconds = head->ttl;
  entry.question_end = head->question_end;
  decoded.last_used_seconds = head->last_used;
  Reader r{reinterpret_cast<const std::uint8_t*>(bytes.data()) + kEntryHeaderSize};
  entry.ttl_offsets.reserve(head->offset_count);
  for (std::uint16_t i = 0; i < head->offset_count; ++i) {
    const std::uint16_t offset = r.u16();
    // Each TTL field lies after the question and wholly inside the wire.
    if (offset < head->question_end || offset + 4u > head->wire_len) return std::nullopt;
    entry.ttl_offsets.push_back(offset);
  }
  entry.wire.assign(r.p, r.p + head->wire_len);
  auto header = dns::read_header(entry.wire);
  if (!header || !header->qr() || header->qdcount != 1 || header->rcode() != entry.rcode) {
    return std::nullopt;
  }
  return decoded;
}

std::optional<EntryTimes> peek_entry_times(std::string_view bytes) {
  auto head = check(bytes);
  if (!head) return std::nullopt;
  return EntryTimes{head->stored_at, head->ttl, head->last_used, head->kind};
}

}  // namespace holdfast::cache
