// The sockets DNS listeners bind: SO_REUSEPORT so that a second Holdfast can join the address for
// a hand-over, but never by accident — without a hand-over the address must be free.
//
// Linux lets a socket join a SO_REUSEPORT group only when every member set the option and runs
// under the same uid, so a process of another user can never take the address; no SO_REUSEADDR
// on UDP, so nothing joins that way either. Before binding for real, a probe bind without
// SO_REUSEPORT tells whether anyone holds the address: then a plain start fails loudly, and a
// hand-over (`--takeover`) joins the running instance's group.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "base/result.h"

namespace holdfast::server {

enum class ListenMode : std::uint8_t {
  kExclusive,  // the address must be free
  kTakeOver,   // join a running instance's sockets (a hand-over), or bind alone if there is none
};

enum class SocketKind : std::uint8_t { kUdp, kTcp };

struct ListenSocket {
  int fd = -1;
  bool joined = false;  // another socket held the address: we joined its SO_REUSEPORT group
};

// A bound (not yet listening) non-blocking socket for `addr`; IPv6 sockets are IPV6_V6ONLY.
// Errors name the address and, when it is taken, what to do about it.
Result<ListenSocket> open_listen_socket(SocketKind kind, const sockaddr_storage& addr,
                                        ListenMode mode);

// Makes the kernel hand every new datagram or connection of the socket's SO_REUSEPORT group to
// the member at `index` (members are numbered in the order they joined; when one leaves, the
// last takes its place). An index past the end falls back to the kernel's hash. Returns false
// when the kernel refused.
bool steer_reuseport_group(int fd, std::uint32_t index) noexcept;

}  // namespace holdfast::server
