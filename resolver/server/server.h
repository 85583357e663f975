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
#include "observe/http_endpoints.h"
#include "observe/loop_bridge.h"
#include "observe/metrics_snapshot.h"
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
  std::string version;                            // coredns_build_info
  std::string revision;
  // kTakeOver: a hand-over (--takeover) — join a running instance's listening sockets and, once
  // started, take all new traffic from it (server/listen_socket.h).
  ListenMode listen_mode = ListenMode::kExclusive;
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

  // On the loop: every counter a scrape reports (server/metrics_source.cc).
  void fill_snapshot(observe::MetricsSnapshot& out);
  // On the loop: empty when ready (/ready), else why not.
  std::string readiness() const;

 private:
  friend class AdminCommands;  // the operator's levers reach into zones, pipeline and store
  void close_all() noexcept;
  void begin_shutdown() noexcept;
  void open_store();
  Result<void> start_observability();
  // While persistence is wanted but the store could not open: try again every few seconds.
  void retry_store() noexcept;
  // Hand-over: every listener that joined a running instance's socket takes (`index` 1: the
  // newest member) or gives back (0: the older one) all new traffic of its address.
  void steer_joined(std::uint32_t index, const char* what) noexcept;

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
  std::unique_ptr<observe::LoopBridge> bridge_;
  std::vector<std::unique_ptr<observe::MetricsExporter>> exporters_;
  std::vector<std::unique_ptr<observe::HealthServer>> health_;
  std::chrono::milliseconds lameduck_{0};
  uv_timer_t lameduck_timer_{};
  uv_timer_t store_retry_timer_{};
  bool listening_ = false;
  uv_timer_t drain_timer_{};
  std::int64_t drain_deadline_ms_ = 0;
  bool shutting_down_ = false;
};

}  // namespace holdfast::server
