// Test-only: client addresses and ACL networks from text, for the server/ tests that decide by
// who asks (acl, rrl, local clients).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string_view>

#include "config/config.h"

namespace holdfast::server::testing {

// A client address (no port) from an IPv4 or IPv6 literal.
inline sockaddr_storage peer(const char* ip) {
  sockaddr_storage out{};
  if (std::string_view(ip).find(':') != std::string_view::npos) {
    auto& a = reinterpret_cast<sockaddr_in6&>(out);
    a.sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &a.sin6_addr);
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a.sin_addr);
  }
  return out;
}

// A network, as the acl directive's `net` produces it.
inline config::AclNetwork net(const char* ip, std::uint8_t bits) {
  config::AclNetwork n;
  const bool v6 = std::string_view(ip).find(':') != std::string_view::npos;
  n.family = v6 ? AF_INET6 : AF_INET;
  inet_pton(n.family, ip, n.address.data());
  n.prefix_bits = bits;
  return n;
}

}  // namespace holdfast::server::testing
