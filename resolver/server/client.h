// Who asked: the transport, where the reply goes, and the listener that sends it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "dns/wire.h"

namespace holdfast::server {

enum class Transport : std::uint8_t { kUdp, kTcp };

class ReplySink;
class Router;

// The address a UDP query arrived on when its listener is bound to a wildcard address (family 0
// otherwise): the reply must leave from there.
struct LocalAddress {
  sa_family_t family = 0;
  std::uint32_t ifindex = 0;
  in6_addr address{};  // an IPv4 address in the first 4 bytes
};

struct ClientRef {
  Transport transport = Transport::kUdp;
  ReplySink* sink = nullptr;       // the listener the query came in on
  const Router* router = nullptr;  // the zones served on that listener
  sockaddr_storage peer{};
  LocalAddress local{};             // UDP on a wildcard address only
  std::uint64_t connection_id = 0;  // TCP only
  std::uint64_t received_ns = 0;    // uv_hrtime() when the query arrived (request duration)
};

// Implemented by listeners. Must be called on the listener's loop; `reply` is copied or sent
// before the call returns.
class ReplySink {
 public:
  virtual void send_reply(const ClientRef& client, dns::Bytes reply) noexcept = 0;
  // Called once per query the pipeline has finished with (answered or dropped), so a TCP
  // connection can count what it still owes.
  virtual void query_done(const ClientRef& /*client*/) noexcept {}

 protected:
  ~ReplySink() = default;
};

}  // namespace holdfast::server
