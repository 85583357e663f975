// What the actions do to packets: answers synthesised from the query (rcode, nodata, truncate),
// and rewrites of upstream responses (ttl, garble). Work in caller-supplied buffers; no
// allocation. Everything here is safe on hostile bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/message.h"
#include "rule.h"

namespace holdfast::dnsfault {

// Presentation form of a question name as rules see it: lower case, labels joined by '.', no
// trailing dot ("" for the root). No escaping: rules only ever compare it. The view points into
// `buf`. `name` must come from parsing `packet`.
inline constexpr std::size_t kMaxNameText = 256;
std::string_view name_for_rules(dns::Bytes packet, const dns::NameRef& name,
                                std::array<char, kMaxNameText>& buf) noexcept;

// The reply a synthesising action sends instead of asking upstream: the client's ID and
// question (and OPT, when it sent one) with
//   kRcode: `rcode`;  kNodata: NOERROR with no records;  kTruncate: NOERROR, no records, TC=1.
// Returns the length written into `out`, 0 when there is nothing to answer (no header, a
// response) or `out` is too small.
std::size_t write_synthesised_reply(dns::Bytes query, const dns::ParsedQuery& parsed,
                                    ActionKind kind, dns::Rcode rcode,
                                    dns::MutableBytes out) noexcept;

// Sets the TTL of every record except OPT to `ttl_seconds`. Returns false, leaving the packet
// untouched, when it does not parse as a response.
bool rewrite_ttls(dns::MutableBytes response, std::uint32_t ttl_seconds) noexcept;

// Spoils a response in place so that a careful client must reject it:
//   kWrongId: the ID no longer matches;  kWrongQuestion: the question name's first letter (or,
//   for the root, the QTYPE) changes;  kCutShort: the message ends halfway through.
// Returns the new length. `mode` must not be kAny.
std::size_t garble_response(dns::MutableBytes response, GarbleMode mode) noexcept;

}  // namespace holdfast::dnsfault
