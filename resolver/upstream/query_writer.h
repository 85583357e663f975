// Writing the query Holdfast sends upstream for a client's question.
#pragma once

#include <cstddef>

#include "dns/message.h"

namespace holdfast::upstream {

struct UpstreamQueryOptions {
  bool do_bit = false;
  bool cd_bit = false;
  std::uint16_t udp_size = dns::kDefaultMaxUdpPayload;
};

// Writes a canonical upstream query for the client's question (name lower-cased, RD=1, CD and DO
// as the client asked, EDNS(0) with our UDP size) into `out`; returns its length, 0 if `out` is
// too small. The ID is left 0: c-ares assigns its own.
std::size_t write_upstream_query(dns::Bytes client_packet, const dns::Question& question,
                                 const UpstreamQueryOptions& options,
                                 dns::MutableBytes out) noexcept;

// True when `response` answers `query`'s question (same name ignoring case, type and class),
// with QR=1, opcode QUERY and exactly one question (the check before anything is cached).
bool response_matches(dns::Bytes query, dns::Bytes response) noexcept;

}  // namespace holdfast::upstream
