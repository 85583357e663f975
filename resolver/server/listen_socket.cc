// SO_REUSEPORT listening sockets with an exclusivity probe, and hand-over steering.
#include "server/listen_socket.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/unique_fd.h"
#include "base/uv_util.h"

namespace holdfast::server {
namespace {

socklen_t address_length(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

int new_socket(SocketKind kind, const sockaddr_storage& addr) {
  const int type = kind == SocketKind::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  const int fd = ::socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  if (addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // TCP: a closed predecessor's TIME_WAIT connections must not block the bind. This never lets
  // two sockets listen on one address; only SO_REUSEPORT does.
  if (kind == SocketKind::kTcp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  return fd;
}

// True when some socket holds the address (the probe, without SO_REUSEPORT, cannot bind).
Result<bool> address_taken(SocketKind kind, const sockaddr_storage& addr) {
  UniqueFd probe(new_socket(kind, addr));
  if (probe.get() < 0) return fail(std::string("socket: ") + std::strerror(errno));
  if (::bind(probe.get(), reinterpret_cast<const sockaddr*>(&addr), address_length(addr)) == 0) {
    return false;
  }
  if (errno == EADDRINUSE) return true;
  return fail(std::strerror(errno));
}

}  // namespace

Result<ListenSocket> open_listen_socket(SocketKind kind, const sockaddr_storage& addr,
                                        ListenMode mode) {
  const std::string name = std::string(kind == SocketKind::kUdp ? "udp " : "tcp ") +
                           format_address(reinterpret_cast<const sockaddr*>(&addr));
  auto taken = address_taken(kind, addr);
  if (!taken) return fail("cannot listen on " + name + ": " + taken.error().message);
  if (*taken && mode == ListenMode::kExclusive) {
    return fail("cannot listen on " + name +
                ": the address is in use (another holdfast, or another program?); to hand over "
                "from a running holdfast of the same user, start the new one with --takeover");
  }
  UniqueFd fd(new_socket(kind, addr));
  if (fd.get() < 0) return fail("cannot listen on " + name + ": " + std::strerror(errno));
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail("cannot listen on " + name + ": SO_REUSEPORT: " + std::strerror(errno));
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), address_length(addr)) != 0) {
    const int error = errno;
    if (error == EADDRINUSE && *taken) {
      return fail("cannot listen on " + name +
                  ": --takeover, but the address is held by a socket we may not join (another "
                  "user's process, or one without SO_REUSEPORT)");
    }
    return fail("cannot listen on " + name + ": " + std::strerror(error));
  }
  return ListenSocket{fd.release(), *taken};
}

bool steer_reuseport_group(int fd, std::uint32_t index) noexcept {
  sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, index)};
  sock_fprog program{1, code};
  return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program)) == 0;
}

}  // namespace holdfast::server
