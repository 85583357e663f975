// The node's own subnets, from getifaddrs(3).
#include "server/local_clients.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "server/acl.h"

namespace holdfast::server {
namespace {

bool is_loopback(const sockaddr_storage& peer) noexcept {
  if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

// The prefix length of a netmask (its leading one bits).
std::uint8_t prefix_of(const std::uint8_t* mask, std::size_t bytes) noexcept {
  unsigned bits = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto ones = static_cast<unsigned>(std::countl_one(mask[i]));
    bits += ones;
    if (ones < 8) break;
  }
  return static_cast<std::uint8_t>(bits);
}

}  // namespace

std::vector<config::AclNetwork> read_interface_subnets() {
  std::vector<config::AclNetwork> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_netmask == nullptr) continue;
    if ((ifa->ifa_flags & IFF_UP) == 0) continue;
    config::AclNetwork net;
    const std::uint8_t* address = nullptr;
    const std::uint8_t* mask = nullptr;
    std::size_t bytes = 0;
    if (ifa->ifa_addr->sa_family == AF_INET) {
      net.family = AF_INET;
      address = reinterpret_cast<const std::uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr);
      mask = reinterpret_cast<const std::uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(ifa->ifa_netmask)->sin_addr);
      bytes = 4;
    } else if (ifa->ifa_addr->sa_family == AF_INET6) {
      net.family = AF_INET6;
      address = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr)->sin6_addr.s6_addr;
      mask = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_netmask)->sin6_addr.s6_addr;
      bytes = 16;
    } else {
      continue;
    }
    net.prefix_bits = prefix_of(mask, bytes);
    for (std::size_t i = 0; i < bytes; ++i) {
      net.address[i] = static_cast<std::uint8_t>(address[i] & mask[i]);
    }
    const bool seen = std::any_of(out.begin(), out.end(), [&](const config::AclNetwork& other) {
      return other.family == net.family && other.prefix_bits == net.prefix_bits &&
             other.address == net.address;
    });
    if (!seen) out.push_back(net);
  }
  freeifaddrs(list);
  return out;
}

bool LocalClients::contains(const sockaddr_storage& peer, const Clock& clock) {
  if (is_loopback(peer)) return true;
  if (read_ && in_subnets(peer)) return true;
  const std::int64_t now_ms = clock.monotonic_ms();
  if (!read_) {
    refresh(now_ms);
    if (in_subnets(peer)) return true;
  }
  if (now_ms - read_ms_ < kRefreshMs) return false;
  refresh(now_ms);
  return in_subnets(peer);
}

void LocalClients::set_subnets(std::vector<config::AclNetwork> subnets, std::int64_t now_ms) {
  subnets_ = std::move(subnets);
  read_ms_ = now_ms;
  read_ = true;
}

bool LocalClients::in_subnets(const sockaddr_storage& peer) const noexcept {
  return std::any_of(subnets_.begin(), subnets_.end(),
                     [&](const config::AclNetwork& net) { return network_contains(net, peer); });
}

void LocalClients::refresh(std::int64_t now_ms) {
  set_subnets(read_interface_subnets(), now_ms);
}

}  // namespace holdfast::server
