// Who may ask a server block that has neither `bind` nor `acl`: clients on loopback and on the
// subnets of the node's own interfaces (dnsmasq's "local-service" rule). Such a block listens on
// the wildcard addresses — which receive only what is addressed to the node — and without this
// rule a host with a public address would be an open resolver by accident.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "base/clock.h"
#include "config/config.h"

namespace holdfast::server {

// Loop-bound. The interface list is read at the first check and re-read, at most every
// kRefreshMs, when a client outside it asks (an address added since is then recognised).
class LocalClients {
 public:
  static constexpr std::int64_t kRefreshMs = 5000;

  // True for loopback (127/8, ::1, and their v4-mapped forms) and for an address inside a subnet
  // of an interface that is up. The clock is read only when the interfaces may need reading.
  bool contains(const sockaddr_storage& peer, const Clock& clock);
  // The subnets last read (tests, the start-up log line).
  const std::vector<config::AclNetwork>& subnets() const noexcept { return subnets_; }
  // Replaces the interface list (tests); it is then not re-read until kRefreshMs after now_ms.
  void set_subnets(std::vector<config::AclNetwork> subnets, std::int64_t now_ms);

 private:
  bool in_subnets(const sockaddr_storage& peer) const noexcept;
  void refresh(std::int64_t now_ms);

  std::vector<config::AclNetwork> subnets_;
  std::int64_t read_ms_ = 0;
  bool read_ = false;
};

// The subnets (address masked by netmask) of every interface that is up, IPv4 and IPv6.
std::vector<config::AclNetwork> read_interface_subnets();

}  // namespace holdfast::server
