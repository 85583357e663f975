// acl rules matched against a query.
#include "server/acl.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "dns/name.h"

namespace holdfast::server {

Acl::Acl(const config::ServerBlock& block) {
  for (const config::AclConfig& acl : block.acl) {
    Set set;
    for (const std::string& zone : acl.zones.empty() ? block.zones : acl.zones) {
      std::string wire;
      dns::text_to_wire(zone, wire);
      set.zones_wire.push_back(std::move(wire));
    }
    set.rules = acl.rules;
    sets_.push_back(std::move(set));
  }
}

bool network_contains(const config::AclNetwork& net, const sockaddr_storage& peer) noexcept {
  const std::uint8_t* address = nullptr;
  if (peer.ss_family == AF_INET && net.family == AF_INET) {
    address =
        reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in&>(peer).sin_addr);
  } else if (peer.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (net.family == AF_INET6) {
      address = a6.s6_addr;
    } else if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      address = a6.s6_addr + 12;
    }
  }
  if (address == nullptr) return false;
  const unsigned whole = net.prefix_bits / 8;
  if (std::memcmp(address, net.address.data(), whole) != 0) return false;
  const unsigned rest = net.prefix_bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == (net.address[whole] & mask);
}

config::AclAction Acl::decide(dns::Bytes lower_name, std::uint16_t qtype,
                              const sockaddr_storage& peer) const noexcept {
  for (const Set& set : sets_) {
    const bool under =
        std::any_of(set.zones_wire.begin(), set.zones_wire.end(), [&](const std::string& zone) {
          return dns::is_subdomain(
              lower_name,
              dns::Bytes(reinterpret_cast<const std::uint8_t*>(zone.data()), zone.size()));
        });
    if (!under) continue;
    for (const config::AclRule& rule : set.rules) {
      const bool type_ok = rule.types.empty() || std::find(rule.types.begin(), rule.types.end(),
                                                           qtype) != rule.types.end();
      if (!type_ok) continue;
      const bool net_ok = rule.nets.empty() || std::any_of(rule.nets.begin(), rule.nets.end(),
                                                           [&](const config::AclNetwork& net) {
                                                             return network_contains(net, peer);
                                                           });
      if (net_ok) return rule.action;
    }
  }
  return config::AclAction::kAllow;
}

}  // namespace holdfast::server
