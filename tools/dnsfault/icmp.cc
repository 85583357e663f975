// Crafting ICMP "port unreachable" (RFC 792, RFC 1812 §4.3.2.3) and ICMPv6 "port unreachable"
// (RFC 4443 §3.1) errors that quote the client's datagram, sent from a raw socket.
#include "icmp.h"

#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace holdfast::dnsfault {
namespace {

constexpr std::size_t kIpv4HeaderLen = 20;
constexpr std::size_t kIpv6HeaderLen = 40;
constexpr std::size_t kUdpHeaderLen = 8;
constexpr std::size_t kIcmpHeaderLen = 8;
constexpr std::size_t kMaxQuoted = 512;  // of the DNS payload: well under the 576-byte rule
constexpr std::uint8_t kProtoUdp = 17;

std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t len) noexcept {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += dns::read_u16(data + i);
  if (len % 2) sum += std::uint32_t{data[len - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// FORMAT: the UDP header the client's kernel put on its datagram (checksum 0: "none").
void write_udp_header(std::uint8_t* p, std::uint16_t src_port, std::uint16_t dst_port,
                      std::size_t payload_len) noexcept {
  dns::write_u16(p, src_port);
  dns::write_u16(p + 2, dst_port);
  dns::write_u16(p + 4, static_cast<std::uint16_t>(kUdpHeaderLen + payload_len));
  dns::write_u16(p + 6, 0);
}

}  // namespace

IcmpRefuser::~IcmpRefuser() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> IcmpRefuser::open(int family) {
  const int protocol = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  const int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return fail(std::string("raw ICMP socket: ") + std::strerror(errno));
  // Receive nothing: a raw socket would otherwise get a copy of every ICMP packet on the host.
  if (family == AF_INET6) {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  } else {
    icmp_filter filter{};
    filter.data = ~0u;
    setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
  }
  fd_ = fd;
  family_ = family;
  return {};
}

bool IcmpRefuser::send_port_unreachable(const sockaddr* client, const sockaddr* local,
                                        dns::Bytes payload) noexcept {
  if (fd_ < 0 || client->sa_family != family_ || local->sa_family != family_) return false;
  const std::size_t quoted = payload.size() < kMaxQuoted ? payload.size() : kMaxQuoted;
  std::array<std::uint8_t, kIcmpHeaderLen + kIpv6HeaderLen + kUdpHeaderLen + kMaxQuoted> packet{};
  std::size_t len = 0;
  ssize_t sent = -1;
  if (family_ == AF_INET) {
    const auto* from = reinterpret_cast<const sockaddr_in*>(client);
    const auto* to = reinterpret_cast<const sockaddr_in*>(local);
    // FORMAT: ICMP type 3 (destination unreachable) code 3 (port), 4 unused bytes, then the
    // client's IPv4 header and the start of its datagram.
    packet[0] = 3;
    packet[1] = 3;
    std::uint8_t* ip = packet.data() + kIcmpHeaderLen;
    ip[0] = 0x45;  // version 4, 5 words
    dns::write_u16(ip + 2,
                   static_cast<std::uint16_t>(kIpv4HeaderLen + kUdpHeaderLen + payload.size()));
    ip[8] = 64;  // TTL
    ip[9] = kProtoUdp;
    std::memcpy(ip + 12, &from->sin_addr, 4);
    std::memcpy(ip + 16, &to->sin_addr, 4);
    dns::write_u16(ip + 10, internet_checksum(ip, kIpv4HeaderLen));
    write_udp_header(ip + kIpv4HeaderLen, ntohs(from->sin_port), ntohs(to->sin_port),
                     payload.size());
    std::memcpy(ip + kIpv4HeaderLen + kUdpHeaderLen, payload.data(), quoted);
    len = kIcmpHeaderLen + kIpv4HeaderLen + kUdpHeaderLen + quoted;
    dns::write_u16(packet.data() + 2, internet_checksum(packet.data(), len));
    sockaddr_in dest = *from;
    dest.sin_port = 0;
    sent = ::sendto(fd_, packet.data(), len, 0, reinterpret_cast<const sockaddr*>(&dest),
                    sizeof(dest));
  } else {
    const auto* from = reinterpret_cast<const sockaddr_in6*>(client);
    const auto* to = reinterpret_cast<const sockaddr_in6*>(local);
    // FORMAT: ICMPv6 type 1 (destination unreachable) code 4 (port), 4 unused bytes, the client's
    // IPv6 header and datagram. The kernel fills in the ICMPv6 checksum for raw sockets.
    packet[0] = 1;
    packet[1] = 4;
    std::uint8_t* ip = packet.data() + kIcmpHeaderLen;
    ip[0] = 0x60;
    dns::write_u16(ip + 4, static_cast<std::uint16_t>(kUdpHeaderLen + payload.size()));
    ip[6] = kProtoUdp;
    ip[7] = 64;  // hop limit
    std::memcpy(ip + 8, &from->sin6_addr, 16);
    std::memcpy(ip + 24, &to->sin6_addr, 16);
    write_udp_header(ip + kIpv6HeaderLen, ntohs(from->sin6_port), ntohs(to->sin6_port),
                     payload.size());
    std::memcpy(ip + kIpv6HeaderLen + kUdpHeaderLen, payload.data(), quoted);
    len = kIcmpHeaderLen + kIpv6HeaderLen + kUdpHeaderLen + quoted;
    sockaddr_in6 dest = *from;
    dest.sin6_port = 0;
    sent = ::sendto(fd_, packet.data(), len, 0, reinterpret_cast<const sockaddr*>(&dest),
                    sizeof(dest));
  }
  return sent == static_cast<ssize_t>(len);
}

}  // namespace holdfast::dnsfault
