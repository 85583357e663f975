// Fuzz target: an upstream's bytes through parse_response and the record walk the cache relies
// on, and the same bytes as presentation-form text through text_to_wire.
// Built as a libFuzzer binary under clang; dns_test compiles it too and replays the seeds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/edns.h"
#include "dns/name.h"
#include "dns/response.h"
#include "dns/rr_text.h"
#include "dns_fuzz_check.h"

namespace {

using namespace holdfast::dns;

void check_response(Bytes packet) {
  // What `holdfastctl lookup` prints of a stored answer: any bytes, no crash, no overrun.
  for (const std::string& line : records_as_text(packet)) HOLDFAST_FUZZ_CHECK(!line.empty());
  std::size_t ttl_count = 0;
  std::size_t last_offset = 0;
  const auto info = parse_response(packet, [&](std::size_t offset) {
    // FORMAT: every TTL offset is inside the packet, in increasing order.
    HOLDFAST_FUZZ_CHECK(offset + 4 <= packet.size());
    HOLDFAST_FUZZ_CHECK(ttl_count == 0 || offset > last_offset);
    last_offset = offset;
    ++ttl_count;
  });
  if (!info) return;
  HOLDFAST_FUZZ_CHECK(info->header.qr() && info->header.qdcount == 1);
  HOLDFAST_FUZZ_CHECK(ttl_count + (info->opt ? 1 : 0) == info->record_count);
  HOLDFAST_FUZZ_CHECK(info->soa_ttl.has_value() == info->soa_minimum.has_value());
  if (info->opt) {
    HOLDFAST_FUZZ_CHECK(info->opt->end <= packet.size());
    (void)find_ede_code(packet, info->opt->rdata_offset, info->opt->rdata_len);
  }
  std::array<std::uint8_t, kMaxNameWireLen> lower{};
  HOLDFAST_FUZZ_CHECK(copy_name_lower(packet, info->question.name, lower.data()) ==
                      info->question.name.full_len);
  HOLDFAST_FUZZ_CHECK(!name_to_text(packet, info->question.name).empty());
}

// Whatever text_to_wire accepts is a valid wire name that prints back to an equal name.
void check_text(std::string_view text) {
  std::string wire(kHeaderSize, '\0');
  if (!text_to_wire(text, wire)) {
    HOLDFAST_FUZZ_CHECK(wire.size() == kHeaderSize);
    return;
  }
  const Bytes packet(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
  const auto name = read_name(packet, kHeaderSize);
  HOLDFAST_FUZZ_CHECK(name && name->wire_len == wire.size() - kHeaderSize);
  std::string again(kHeaderSize, '\0');
  HOLDFAST_FUZZ_CHECK(text_to_wire(name_to_text(packet, *name), again));
  HOLDFAST_FUZZ_CHECK(again == wire);
  const Bytes name_wire = packet.subspan(kHeaderSize);
  HOLDFAST_FUZZ_CHECK(is_subdomain(name_wire, name_wire));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes packet(data, size);
  check_response(packet);
  // Any name at any offset: read_name must never read past the packet.
  for (std::size_t offset = kHeaderSize; offset < size && offset < kHeaderSize + 64; ++offset) {
    if (const auto name = read_name(packet, offset)) {
      HOLDFAST_FUZZ_CHECK(offset + name->wire_len <= size && name->full_len <= kMaxNameWireLen);
    }
  }
  check_text(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
