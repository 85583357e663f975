// libFuzzer target for what the cache reads from disk and from upstreams: bytes taken as a
// persisted entry (decode_entry must reject or accept safely, and re-encoding an accepted entry
// gives back the same bytes) and as an upstream response (make_entry, then a round trip through
// the on-disk form, then rendering with patched TTLs).
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "cache/entry.h"
#include "cache/entry_codec.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzz_stored(std::string_view bytes) {
  auto decoded = holdfast::cache::decode_entry(bytes);
  if (!decoded) {
    check(!holdfast::cache::peek_entry_times(bytes) ||
          bytes.size() >= holdfast::cache::kEntryHeaderSize);
    return;
  }
  check(holdfast::cache::encode_entry(decoded->entry, decoded->last_used_seconds) == bytes);
  std::vector<std::uint8_t> out(decoded->entry.wire.size());
  check(holdfast::cache::render_entry(decoded->entry, 7, {}, out) == out.size());
}

void fuzz_response(const std::uint8_t* data, std::size_t size) {
  auto entry = holdfast::cache::make_entry({data, size}, {}, 1'700'000'000);
  if (!entry) return;
  for (std::uint16_t offset : entry->ttl_offsets) check(offset + 4u <= entry->wire.size());
  const std::string stored = holdfast::cache::encode_entry(*entry, 1'700'000'001);
  auto decoded = holdfast::cache::decode_entry(stored);
  // Everything make_entry keeps must survive the disk (uncacheable entries are never stored, but
  // their bytes still encode and decode).
  if (entry->kind != holdfast::cache::EntryKind::kUncacheable) {
    check(decoded.has_value());
    check(decoded->entry.wire == entry->wire);
    check(decoded->entry.ttl_offsets == entry->ttl_offsets);
  }
  std::vector<std::uint8_t> out(entry->wire.size());
  check(holdfast::cache::render_entry(*entry, 3, {}, out) == out.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_stored({reinterpret_cast<const char*>(data), size});
  fuzz_response(data, size);
  return 0;
}
