// The whole DNS service of one process: zones built from the config, their caches and
// forwarders, and the UDP/TCP listeners of every bind address, all on one loop; and the reload
// that swaps in a new configuration without dropping a query or losing a cache.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "cache/store_promoter.h"
#include "config/config.h"
#include "dns/wire.h"
#include "observe/http_endpoints.h"
#include "observe/loop_bridge.h"
#include "observe/metrics_snapshot.h"
#include "server/query_pipeline.h"
#include "server/reload_plan.h"
#include "server/router.h"
#include "server/tcp_listener.h"
#include "server/udp_listener.h"
#include "server/worker_pool.h"

namespace holdfast::server {

struct ServerOptions {
  std::size_t max_udp_payload = dns::kDefaultMaxUdpPayload;
  TcpOptions tcp;
  // In-flight queries get this long at shutdown, and on a retired configuration after a reload.
  std::chrono::milliseconds drain_timeout{2000};
  std::uint64_t seed = 0;  // 0 = random
  std::string version;     // coredns_build_info
  std::string revision;
  // kTakeOver: a hand-over (--takeover) — join a running instance's listening sockets and, once
  // started, take all new traffic from it (server/listen_socket.h).
  ListenMode listen_mode = ListenMode::kExclusive;
};

class Server {
 public:
  // `clock` must outlive the server. The server keeps every configuration alive as long as zones
  // built from it exist (the current one and those still draining after a reload).
  Server(uv_loop_t* loop, std::shared_ptr<const config::Config> config, const Clock& clock,
         ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Builds zones, starts forwarders, binds every listener (logging one line each).
  Result<void> start();
  // On the loop, after start(). Builds the zones of `config` (a zone of the same identity keeps
  // its memory cache), new forwarders and routers; listeners whose (address, port) stays keep
  // their sockets and route by the new zones from the next query; new addresses are bound;
  // removed ones stop now and close once their queries are answered. Queries in flight finish
  // on the old zones, whose forwarders close when their flights are done or drain_timeout
  // passes. On an error (a forwarder or listener that cannot start) nothing changes.
  Result<ReloadPlan> reload(std::shared_ptr<const config::Config> config);
  // Stops accepting, lets in-flight queries finish (bounded by drain_timeout), then closes every
  // handle so that uv_run returns. Idempotent.
  void shutdown() noexcept;

  const config::Config& config() const noexcept { return *config_; }
  const QueryPipeline& pipeline() const noexcept { return pipeline_; }
  // The worker loops' counters as last published (empty with `workers 1`).
  std::vector<WorkerStats> worker_stats() const {
    return workers_ ? workers_->stats() : std::vector<WorkerStats>{};
  }
  const cache::PersistentStore* store() const noexcept { return store_.get(); }
  // The current configuration's zones, one per server block in order (tests, the admin socket).
  const std::vector<std::unique_ptr<Zone>>& zones() const noexcept { return zones_; }
  // Configurations replaced by a reload whose queries are still draining.
  std::size_t retired_generations() const noexcept { return retired_.size(); }

  // On the loop: every counter a scrape reports (server/metrics_source.cc).
  void fill_snapshot(observe::MetricsSnapshot& out);
  // On the loop: empty when ready (/ready), else why not.
  std::string readiness() const;

 private:
  friend class AdminCommands;  // the operator's levers reach into zones, pipeline and store
  struct Listeners {
    std::unique_ptr<UdpListener> udp;
    std::unique_ptr<TcpListener> tcp;
  };
  // Zones, routers and listeners built from one configuration (start, or a reload).
  struct Generation {
    std::shared_ptr<const config::Config> config;
    std::vector<std::unique_ptr<Zone>> zones;
    std::map<ListenerKey, std::unique_ptr<Router>> routers;
    std::map<ListenerKey, Listeners> listeners;  // reload: only the addresses it added
  };
  // What a reload replaced: kept until its flights are done (or the deadline), then its
  // forwarders and listeners are closed, and one timer tick later (after libuv's close
  // callbacks) it is freed.
  struct Retired {
    Generation generation;
    std::uint64_t workers_generation = 0;  // freed once every worker loop has moved past it
    std::int64_t deadline_ms = 0;
    bool closed = false;
  };

  Result<std::unique_ptr<Zone>> make_zone(const config::ServerBlock& block, const Zone* previous);
  // Zones and routers of `config`; `plan` (a reload) says which zones share an old cache.
  Result<Generation> build(std::shared_ptr<const config::Config> config, const ReloadPlan* plan);
  Result<Listeners> bind_listener(const ListenerKey& key, const Router& router, ListenMode mode);
  void retire(Generation generation, std::int64_t deadline_ms,
              std::uint64_t workers_generation = 0);
  void on_retire_timer() noexcept;
  void close_generation(Generation& generation) noexcept;
  // A reload: endpoints on addresses no longer named stop (off the loop: stopping an HTTP server
  // joins its threads, which takes up to seconds), new addresses start; the rest keep running.
  void update_http();
  void close_all() noexcept;
  void begin_shutdown() noexcept;
  void open_store();
  Result<void> start_observability();
  // Starts the endpoints of config_ that are not running yet.
  Result<void> start_http();
  // While persistence is wanted but the store could not open: try again every few seconds.
  void retry_store() noexcept;
  bool store_readable() const noexcept;
  void start_promotion();
  long promote(std::vector<cache::PromotedAnswer>& batch);  // open, or read-only: zones may read it
  // Hand-over: every listener that joined a running instance's socket takes (`index` 1: the
  // newest member) or gives back (0: the older one) all new traffic of its address.
  void steer_joined(std::uint32_t index, const char* what) noexcept;
  // `workers` > 1: the worker loops join every UDP listener's address (server/worker_pool.h).
  Result<void> start_workers();
  // A query (or a prefetch) a worker loop handed over: answered here, from its address.
  void on_handoff(HandoffMessage& message) noexcept;
  // A reload: the workers route by the new routers (an address gone: their sockets for it
  // close). The generation a retired configuration must wait for (0 without workers).
  std::uint64_t reroute_workers();

  uv_loop_t* loop_;
  std::shared_ptr<const config::Config> config_;
  const Clock& clock_;
  ServerOptions options_;
  std::uint64_t seed_ = 0;
  std::unique_ptr<cache::PersistentStore> store_;  // before the pipeline: outlives its users
  QueryPipeline pipeline_;
  // The current configuration's zones and routers, and every listener.
  std::vector<std::unique_ptr<Zone>> zones_;
  std::map<ListenerKey, std::unique_ptr<Router>> routers_;
  std::unique_ptr<cache::StorePromoter> promoter_;  // warm start: the store into memory
  std::map<ListenerKey, Listeners> listeners_;
  std::vector<Retired> retired_;
  UdpCounters closed_udp_;  // the owner's closed UDP listeners' counts (metrics survive a reload)
  uv_timer_t retire_timer_{};
  // Worker loops (null with `workers 1`), and the listening address of each of their slots.
  std::unique_ptr<WorkerPool> workers_;
  std::vector<ListenerKey> worker_slots_;
  std::unique_ptr<observe::LoopBridge> bridge_;
  // By address, as written in the Corefile.
  std::map<std::string, std::unique_ptr<observe::MetricsExporter>> exporters_;
  std::map<std::string, std::unique_ptr<observe::HealthServer>> health_;
  // Threads stopping the endpoints a reload removed; joined at shutdown.
  std::vector<std::thread> http_reapers_;
  std::chrono::milliseconds lameduck_{0};
  uv_timer_t lameduck_timer_{};
  uv_timer_t store_retry_timer_{};
  bool listening_ = false;
  uv_timer_t drain_timer_{};
  std::int64_t drain_deadline_ms_ = 0;
  bool shutting_down_ = false;
};

}  // namespace holdfast::server
