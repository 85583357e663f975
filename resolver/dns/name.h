// Domain names on the wire: validation, compression-pointer following, case folding, comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/wire.h"

namespace holdfast::dns {

// Where a name sits in a packet. Views into the packet; valid while the packet is.
struct NameRef {
  std::size_t offset = 0;    // first byte of the name in the packet
  std::size_t wire_len = 0;  // bytes at `offset`, up to and including the first pointer
  std::size_t full_len = 0;  // length once decompressed, including the root label (<= 255)
};

// Validates the name at `offset`: every label <= 63, whole name <= 255 once decompressed,
// pointers only to earlier bytes of the packet (RFC 1035 §4.1.4; forward pointers and loops
// rejected), at most kMaxCompressionHops pointers, never reading past the packet, label types
// 0b01/0b10 rejected. nullopt when invalid.
// Precisely: a pointer must land before the start of the run of labels it ends (the name's own
// offset for the first pointer, the previous pointer's target after that), and never inside the
// 12-byte header. Each hop so lands strictly earlier than the last: loops cannot be built.
std::optional<NameRef> read_name(Bytes packet, std::size_t offset) noexcept;

// Writes the decompressed, lower-cased (ASCII only) name at `name` into `out` (>= 255 bytes) and
// returns the bytes written. `name` must come from read_name on the same packet (0 otherwise).
std::size_t copy_name_lower(Bytes packet, const NameRef& name, std::uint8_t* out) noexcept;

// True when the two names are equal ignoring ASCII case (RFC 4343). Both must be valid.
bool names_equal(Bytes packet_a, const NameRef& a, Bytes packet_b, const NameRef& b) noexcept;

// Presentation form ("www.example.com.", root is "."), escaping non-printable bytes as \DDD.
// Allocates: for logs and tools, never the hot path. Empty when `name` is not valid.
std::string name_to_text(Bytes packet, const NameRef& name);

// Encodes a presentation-form name ("a.b.", "a.b" and "." accepted; "\." and "\DDD" escapes)
// into uncompressed wire form appended to `out`. False on a bad name (empty label, label > 63,
// name > 255, bad escape), with `out` left as it was. Any "\X" stands for X itself.
bool text_to_wire(std::string_view text, std::string& out);

// Lower-cased uncompressed wire name -> true when it equals `zone` or is below it. Both are
// uncompressed lower-case wire names; the root zone "\0" contains everything. Bytes after a
// name's root label are ignored; a malformed name or zone gives false.
bool is_subdomain(Bytes name_wire, Bytes zone_wire) noexcept;
// is_subdomain() for names already lower-cased and exactly sized (a cache key's name, a router's
// zone): a byte compare of the suffix, then the boundary check. `name` must be a well-formed
// uncompressed wire name (copy_name_lower()'s output).
bool is_lower_subdomain(Bytes name, Bytes zone) noexcept;

}  // namespace holdfast::dns
