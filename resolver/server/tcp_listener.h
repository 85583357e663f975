// A TCP DNS listener on one address (RFC 7766): 2-byte length framing, several queries per
// connection answered as they complete (out of order), an idle timeout and a connection cap.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "server/client.h"
#include "server/listen_socket.h"
#include "server/query_pipeline.h"

namespace holdfast::server {

struct TcpOptions {
  std::chrono::milliseconds idle_timeout{10'000};  // since the last complete query, none owed
  std::chrono::milliseconds frame_timeout{3'000};  // a query's bytes, first to last
  std::size_t max_connections = 1000;            // when full, the oldest idle connection makes room
  std::size_t max_connections_per_client = 250;  // per client address
  std::size_t max_pending_per_connection = 100;  // reading pauses past this
};

struct TcpCounters {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;             // over max_connections with none idle
  std::uint64_t rejected_per_client = 0;  // over max_connections_per_client
  std::uint64_t idle_evicted = 0;         // closed to make room for a new client
  std::uint64_t idle_closed = 0;
  std::uint64_t frame_timeouts = 0;  // a query not complete within frame_timeout
  std::uint64_t frames = 0;
};

class TcpListener final : public ReplySink {
 public:
  TcpListener(uv_loop_t* loop, QueryPipeline& pipeline, const Router& router, TcpOptions options);
  Result<void> bind(const std::string& host, std::uint16_t port,
                    ListenMode mode = ListenMode::kExclusive);
  bool joined() const noexcept { return joined_; }  // as UdpListener::joined
  bool steer(std::uint32_t index) noexcept;         // as UdpListener::steer
  void stop() noexcept;                             // stops accepting
  void close() noexcept;  // closes every connection and the listening socket

  void send_reply(const ClientRef& client, dns::Bytes reply) noexcept override;
  void query_done(const ClientRef& client) noexcept override;
  const std::string& name() const noexcept { return name_; }
  // A reload: queries received from now on are routed by `router` (which must outlive them).
  void set_router(const Router* router) noexcept { router_ = router; }
  const TcpCounters& counters() const noexcept { return counters_; }
  std::size_t connections() const noexcept { return connections_.size(); }

 private:
  class Connection;
  void on_connection(int status) noexcept;
  void forget(std::uint64_t id) noexcept;
  bool close_oldest_idle() noexcept;
  static std::string client_key(const sockaddr_storage& peer);

  uv_loop_t* loop_;
  QueryPipeline& pipeline_;
  const Router* router_;
  TcpOptions options_;
  uv_tcp_t handle_{};
  std::string name_;
  bool joined_ = false;
  std::uint64_t next_id_ = 1;
  struct Entry {
    Connection* connection;
    std::list<std::uint64_t>::iterator position;  // in order_
  };
  std::unordered_map<std::uint64_t, Entry> connections_;
  std::list<std::uint64_t> order_;                           // connection ids, oldest first
  std::unordered_map<std::string, std::size_t> per_client_;  // connections per client address
  TcpCounters counters_;
};

}  // namespace holdfast::server
