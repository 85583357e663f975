// The fixed 12-byte DNS message header (RFC 1035 §4.1.1), read from and written to wire bytes.
#pragma once

#include <cstdint>
#include <optional>

#include "dns/wire.h"

namespace holdfast::dns {

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;  // QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  bool qr() const noexcept { return flags & flag::kQr; }
  bool tc() const noexcept { return flags & flag::kTc; }
  bool rd() const noexcept { return flags & flag::kRd; }
  bool cd() const noexcept { return flags & flag::kCd; }
  std::uint8_t opcode() const noexcept { return (flags >> 11) & 0x0f; }
  std::uint8_t rcode() const noexcept { return flags & 0x0f; }
};

// Reads the header; nullopt when the packet is shorter than 12 bytes.
std::optional<Header> read_header(Bytes packet) noexcept;
// Writes all six fields at packet[0..12). packet.size() >= 12 is the caller's promise.
void write_header(MutableBytes packet, const Header& header) noexcept;

inline void set_id(MutableBytes packet, std::uint16_t id) noexcept {
  write_u16(packet.data(), id);
}
inline void set_rcode(MutableBytes packet, Rcode rcode) noexcept {
  packet[3] = static_cast<std::uint8_t>((packet[3] & 0xf0) | static_cast<std::uint8_t>(rcode));
}

}  // namespace holdfast::dns
