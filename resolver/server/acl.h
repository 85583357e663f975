// The `acl` directive at query time: which action a block's rules take for a client, a name and a
// query type. Compiled once per zone (zones to wire form); deciding allocates nothing.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "dns/wire.h"

namespace holdfast::server {

class Acl {
 public:
  Acl() = default;
  explicit Acl(const config::ServerBlock& block);

  bool empty() const noexcept { return sets_.empty(); }
  // The first matching rule's action among the acl directives whose zones hold `lower_name`
  // (lower-case wire form); kAllow when no rule matches.
  config::AclAction decide(dns::Bytes lower_name, std::uint16_t qtype,
                           const sockaddr_storage& peer) const noexcept;

 private:
  struct Set {
    std::vector<std::string> zones_wire;  // lower-case wire form
    std::vector<config::AclRule> rules;
  };
  std::vector<Set> sets_;
};

// True when `peer`'s address is inside `net` (an IPv4-mapped IPv6 peer matches IPv4 networks).
bool network_contains(const config::AclNetwork& net, const sockaddr_storage& peer) noexcept;

}  // namespace holdfast::server
