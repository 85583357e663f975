// Test-only: upstream responses for cache tests, built with the dns tests' PacketBuilder.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/packet_builder.h"

namespace holdfast::cache::testing {

using dns::testing::PacketBuilder;

inline constexpr std::uint16_t kResponseFlags = 0x8180;  // QR RD RA, NOERROR

// www.example.com A: two A records with TTLs 300 and 120, optional OPT at the end.
inline std::vector<std::uint8_t> a_response(bool with_opt = true, std::uint32_t ttl1 = 300,
                                            std::uint32_t ttl2 = 120) {
  PacketBuilder b;
  b.header(0x1234, kResponseFlags, 1, 2, 0, with_opt ? 1 : 0)
      .question("www.example.com", dns::qtype::kA)
      .pointer(12)
      .rr_fixed(dns::qtype::kA, dns::kClassIn, ttl1, 4)
      .raw({192, 0, 2, 1})
      .pointer(12)
      .rr_fixed(dns::qtype::kA, dns::kClassIn, ttl2, 4)
      .raw({192, 0, 2, 2});
  if (with_opt) b.opt(1232);
  return b.bytes();
}

// SOA rdata: mname, rname, serial, refresh, retry, expire, minimum.
inline std::vector<std::uint8_t> soa_rdata(std::uint32_t minimum) {
  PacketBuilder r;
  r.name("ns.example.com")
      .name("admin.example.com")
      .u32(1)
      .u32(3600)
      .u32(600)
      .u32(86400)
      .u32(minimum);
  return r.bytes();
}

// A negative answer (NXDOMAIN when rcode 3, NODATA when 0) with an SOA in authority.
inline std::vector<std::uint8_t> negative_response(std::uint8_t rcode, std::uint32_t soa_ttl,
                                                   std::uint32_t soa_minimum,
                                                   bool with_soa = true) {
  PacketBuilder b;
  b.header(0x1234, static_cast<std::uint16_t>(kResponseFlags | rcode), 1, 0, with_soa ? 1 : 0, 0)
      .question("nope.example.com", dns::qtype::kA);
  if (with_soa) b.rr("example.com", dns::qtype::kSoa, soa_ttl, soa_rdata(soa_minimum));
  return b.bytes();
}

inline std::vector<std::uint8_t> rcode_response(std::uint8_t rcode) {
  PacketBuilder b;
  b.header(0x1234, static_cast<std::uint16_t>(kResponseFlags | rcode), 1)
      .question("www.example.com", dns::qtype::kA);
  return b.bytes();
}

}  // namespace holdfast::cache::testing
