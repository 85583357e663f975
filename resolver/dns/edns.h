// Writing EDNS(0) OPT records with optional Extended DNS Errors (RFC 6891, RFC 8914).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dns/wire.h"

namespace holdfast::dns {

struct OptToWrite {
  std::uint16_t udp_size = kDefaultMaxUdpPayload;
  bool do_bit = false;
  std::uint8_t extended_rcode = 0;        // upper 8 bits of a 12-bit rcode (BADVERS = 1)
  std::optional<std::uint16_t> ede_code;  // INFO-CODE
  std::string_view ede_text;              // EXTRA-TEXT, UTF-8, may be empty
};

// Bytes opt_record_size(opt) would take.
std::size_t opt_record_size(const OptToWrite& opt) noexcept;

// Appends the OPT RR at out[offset..); returns the new end, or 0 if it does not fit.
// Does not touch ARCOUNT: the caller increments it.
std::size_t write_opt_record(MutableBytes out, std::size_t offset, const OptToWrite& opt) noexcept;

// Finds the EDE option in an OPT RDATA (for tests and tools): the first INFO-CODE, if any.
std::optional<std::uint16_t> find_ede_code(Bytes packet, std::size_t rdata_offset,
                                           std::uint16_t rdata_len) noexcept;

}  // namespace holdfast::dns
