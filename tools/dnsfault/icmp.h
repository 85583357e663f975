// refuse-connection over UDP: tells a client "port unreachable" with a real ICMP (or ICMPv6)
// error, so that its connected socket fails with ECONNREFUSED at once, as when an upstream pod's
// port is closed. Needs CAP_NET_RAW; without it, open() fails and the proxy drops instead.
#pragma once

#include <sys/socket.h>

#include "base/result.h"
#include "dns/wire.h"

namespace holdfast::dnsfault {

class IcmpRefuser {
 public:
  IcmpRefuser() = default;
  IcmpRefuser(const IcmpRefuser&) = delete;
  IcmpRefuser& operator=(const IcmpRefuser&) = delete;
  ~IcmpRefuser();

  // Opens a raw socket for `family` (AF_INET or AF_INET6) that receives nothing.
  Result<void> open(int family);
  bool is_open() const noexcept { return fd_ >= 0; }

  // Sends the error a kernel would send if `local` had no socket when `client` sent `payload`
  // over UDP to it. Non-blocking; false when it could not be sent.
  bool send_port_unreachable(const sockaddr* client, const sockaddr* local,
                             dns::Bytes payload) noexcept;

 private:
  int fd_ = -1;
  int family_ = 0;
};

}  // namespace holdfast::dnsfault
