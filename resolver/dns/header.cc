// The fixed 12-byte DNS header: reading it from and writing it to wire bytes.
#include "dns/header.h"

namespace holdfast::dns {

std::optional<Header> read_header(Bytes packet) noexcept {
  if (packet.size() < kHeaderSize) return std::nullopt;
  // FORMAT: RFC 1035 §4.1.1, six big-endian 16-bit words.
  const std::uint8_t* p = packet.data();
  Header header;
  header.id = read_u16(p);
  header.flags = read_u16(p + 2);
  header.qdcount = read_u16(p + 4);
  header.ancount = read_u16(p + 6);
  header.nscount = read_u16(p + 8);
  header.arcount = read_u16(p + 10);
  return header;
}

void write_header(MutableBytes packet, const Header& header) noexcept {
  std::uint8_t* p = packet.data();
  write_u16(p, header.id);
  write_u16(p + 2, header.flags);
  write_u16(p + 4, header.qdcount);
  write_u16(p + 6, header.ancount);
  write_u16(p + 8, header.nscount);
  write_u16(p + 10, header.arcount);
}

}  // namespace holdfast::dns
