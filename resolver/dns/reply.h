// Building replies to a client's query in a caller-supplied buffer: error replies, and the
// finishing steps shared by every reply (client ID and question, EDNS, UDP truncation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/edns.h"
#include "dns/message.h"

namespace holdfast::dns {

// The answer to a query with no data: header (ID, opcode, RD, CD copied; QR, RA set), the
// client's question as it sent it, and the OPT record when the client sent one (with EDE if
// given). Returns bytes written into `out`, 0 if `out` is too small.
// For kMalformed queries whose question cannot be read, QDCOUNT is 0 and only the header goes.
// Returns 0 for kNoHeader and kIsResponse (never answered). `out` may be the query's own buffer.
std::size_t write_error_reply(Bytes query_packet, const ParsedQuery& parsed, Rcode rcode,
                              std::optional<std::uint16_t> ede_code, MutableBytes out) noexcept;

// RFC 6891 §9: BADVERS (16) is an extended rcode — 0 in the header, 1 in the OPT's upper rcode.
inline constexpr std::uint16_t kRcodeBadVers = 16;

// As write_error_reply, with a 12-bit rcode: the low 4 bits go in the header, the upper 8 in the
// OPT record (present whenever the client sent one; without it only the low bits can travel).
std::size_t write_extended_error_reply(Bytes query_packet, const ParsedQuery& parsed,
                                       std::uint16_t rcode12, std::optional<std::uint16_t> ede_code,
                                       MutableBytes out) noexcept;

// What a reply to `query` may carry, from its OPT (RFC 6891 §6.2.5): 512 without OPT, else the
// advertised size clamped to [512, max_udp_payload].
std::size_t udp_limit(const QueryView& query, std::size_t max_udp_payload) noexcept;

// Shrinks the finished reply held in `reply` (the buffer it was built in; the OPT must fit there)
// to header + question (+ OPT when `opt` is given and fits) with TC=1 and AN/NS counts 0, ARCOUNT
// 1 with the OPT else 0 (RFC 2181 §9). Returns the new length; 0 when question_end is not within
// [12, reply.size()].
std::size_t truncate_reply(MutableBytes reply, std::size_t question_end,
                           const std::optional<OptToWrite>& opt) noexcept;

}  // namespace holdfast::dns
