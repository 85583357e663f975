// A UDP DNS listener on one address: receives into one preallocated buffer and hands each
// datagram to the loop's query pipeline; replies go out with uv_udp_try_send.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "server/client.h"
#include "server/query_pipeline.h"

namespace holdfast::server {

struct UdpCounters {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;
};

class UdpListener final : public ReplySink {
 public:
  UdpListener(uv_loop_t* loop, QueryPipeline& pipeline, const Router& router);
  Result<void> bind(const std::string& host, std::uint16_t port);
  void stop() noexcept;   // stops receiving
  void close() noexcept;  // releases the socket; the object must outlive the loop's last run

  void send_reply(const ClientRef& client, dns::Bytes reply) noexcept override;
  const std::string& name() const noexcept { return name_; }
  // A reload: queries received from now on are routed by `router` (which must outlive them).
  void set_router(const Router* router) noexcept { router_ = router; }
  const UdpCounters& counters() const noexcept { return counters_; }

 private:
  void on_receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                  unsigned flags) noexcept;

  uv_loop_t* loop_;
  QueryPipeline& pipeline_;
  const Router* router_;
  uv_udp_t handle_{};
  std::vector<char> buffer_;
  std::string name_;
  UdpCounters counters_;
};

}  // namespace holdfast::server
