// Socket-address helpers.
#include "base/uv_util.h"

#include <netinet/in.h>

#include <fmt/format.h>

#include <cstring>

namespace holdfast {

void grow_socket_buffers(uv_handle_t* handle, int bytes) noexcept {
  int value = bytes;
  uv_recv_buffer_size(handle, &value);
  value = bytes;
  uv_send_buffer_size(handle, &value);
}

std::string format_address(const sockaddr* addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    uv_ip4_name(in, host, sizeof(host));
    return fmt::format("{}:{}", host, ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    uv_ip6_name(in6, host, sizeof(host));
    return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
  }
  return "?";
}

Result<void> make_address(const std::string& host, unsigned port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof(out));
  if (host.find(':') != std::string::npos) {
    if (uv_ip6_addr(host.c_str(), static_cast<int>(port), reinterpret_cast<sockaddr_in6*>(&out)) ==
        0) {
      return {};
    }
  } else if (uv_ip4_addr(host.c_str(), static_cast<int>(port),
                         reinterpret_cast<sockaddr_in*>(&out)) == 0) {
    return {};
  }
  return fail("'" + host + "' is not an IP address");
}

}  // namespace holdfast
