// The whole DNS service of one process: zones built from the config, their caches and
// forwarders, and the UDP/TCP listeners of every bind address, all on one loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "server/query_pipeline.h"
#include "server/router.h"
#include "server/tcp_listener.h"
#include "server/udp_listener.h"

namespace holdfast::server {

struct ServerOptions {
  std::size_t max_udp_payload = 1232;
  TcpOptions tcp;
  std::chrono::milliseconds drain_timeout{2000};  // in-flight queries get this long at shutdown
  std::uint64_t seed = 0;                         // 0 = random
};

class Server {
 public:
  // `config` and `clock` must outlive the server.
  Server(uv_loop_t* loop, const config::Config& config, const Clock& clock, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Builds zones, starts forwarders, binds every listener (logging one line each).
  Result<void> start();
  // Stops accepting, lets in-flight queries finish (bounded by drain_timeout), then closes every
  // handle so that uv_run returns. Idempotent.
  void shutdown() noexcept;

  const QueryPipeline& pipeline() const noexcept { return pipeline_; }
  const cache::PersistentStore* store() const noexcept { return store_.get(); }

 private:
  void close_all() noexcept;
  void open_store();

  uv_loop_t* loop_;
  const config::Config& config_;
  const Clock& clock_;
  ServerOptions options_;
  std::unique_ptr<cache::PersistentStore> store_;  // before the pipeline: outlives its users
  QueryPipeline pipeline_;
  std::vector<std::unique_ptr<Zone>> zones_;
  std::vector<std::unique_ptr<Router>> routers_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  uv_timer_t drain_timer_{};
  std::int64_t drain_deadline_ms_ = 0;
  bool shutting_down_ = false;
};

}  // namespace holdfast::server
