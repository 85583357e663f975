// Small helpers around libuv handles and socket addresses shared by the loop-owning modules.
#pragma once

#include <sys/socket.h>

#include <string>

#include <uv.h>

#include "base/result.h"

namespace holdfast {

// Closes a handle (if not already closing) and deletes the object that owns it from the close
// callback. `Owner` must be heap-allocated with `new` and hold `Handle` as its first member, or
// pass `owner` explicitly via handle->data.
template <class Owner>
void close_and_delete(uv_handle_t* handle) noexcept {
  if (uv_is_closing(handle)) return;
  uv_close(handle, [](uv_handle_t* h) noexcept { delete static_cast<Owner*>(h->data); });
}

// Closes a handle that is a member of a longer-lived object: the object must outlive the loop
// run that follows (shutdown = close everything, then run the loop until it returns).
inline void close_member(uv_handle_t* handle) noexcept {
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

// Asks for `bytes` of kernel receive and send buffer on a UDP socket, so that a burst of
// datagrams waits in the kernel instead of being dropped (the kernel caps it at rmem_max /
// wmem_max). Best effort: failures are ignored.
void grow_socket_buffers(uv_handle_t* handle, int bytes) noexcept;

// "127.0.0.1:53" / "[::1]:53".
std::string format_address(const sockaddr* addr);

// Parses a numeric IPv4/IPv6 address and port into `out`.
Result<void> make_address(const std::string& host, unsigned port, sockaddr_storage& out);

}  // namespace holdfast
