// Assembling zones, forwarders and listeners from the config; orderly shutdown.
#include "server/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <map>
#include <random>
#include <set>
#include "base/uv_util.h"

namespace holdfast::server {
namespace {

PipelineOptions pipeline_options(const ServerOptions& server) {
  PipelineOptions options;
  options.max_udp_payload = server.max_udp_payload;
  options.version = "holdfast-" + (server.version.empty() ? std::string("dev") : server.version);
  return options;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

const char* policy_name(config::ForwardPolicy policy) {
  switch (policy) {
    case config::ForwardPolicy::kRandom:
      return "random";
    case config::ForwardPolicy::kRoundRobin:
      return "round_robin";
    case config::ForwardPolicy::kSequential:
      return "sequential";
  }
  return "?";
}

}  // namespace

Server::Server(uv_loop_t* loop, std::shared_ptr<const config::Config> config, const Clock& clock,
               ServerOptions options)
    : loop_(loop),
      config_(std::move(config)),
      clock_(clock),
      options_(std::move(options)),
      seed_(options_.seed != 0 ? options_.seed : std::random_device{}()),
      pipeline_(loop, clock, pipeline_options(options_)) {}

Server::~Server() {
  if (promoter_) promoter_->stop();  // its thread reads the store
  pipeline_.drain_store_reads();     // and so does the pipeline's
  for (std::thread& reaper : http_reapers_) {
    if (reaper.joinable()) reaper.join();
  }
  if (store_) store_->close();
}

Result<std::unique_ptr<Zone>> Server::make_zone(const config::ServerBlock& block,
                                                const Zone* previous) {
  auto zone = std::make_unique<Zone>();
  zone->block = &block;
  zone->name = zone_identity(block);
  zone->acl = Acl(block);
  zone->local_clients_only = block.bind.empty() && block.acl.empty();
  if (block.rrl) zone->rrl = std::make_unique<ResponseRateLimiter>(*block.rrl, block.zones);
  if (block.cache.enabled) {
    const config::ServeStaleConfig& stale = block.cache.serve_stale;
    // The same zone before the reload: its cache goes on (new settings apply once the reload
    // commits, see reload()).
    zone->cache = previous != nullptr && previous->cache
                      ? previous->cache
                      : std::make_shared<cache::MemoryCache>(cache_options(block), clock_);
    zone->stale.enabled = stale.enabled;
    zone->stale.verify = stale.refresh_mode == config::StaleRefreshMode::kVerify;
    zone->stale.stale_ttl_seconds = static_cast<std::uint32_t>(stale.stale_ttl.count());
    zone->stale.client_timeout_ms = stale.client_timeout.count();
    zone->stale.recheck_ms = stale.recheck.count();
    if (store_ && store_readable()) zone->store = store_.get();
    zone->ttl_policy = cache::TtlPolicy{block.cache.success_min_ttl, block.cache.success_max_ttl,
                                        block.cache.denial_min_ttl, block.cache.denial_max_ttl,
                                        block.cache.servfail_ttl};
  }
  if (previous != nullptr) {
    zone->served_stale = previous->served_stale;
    zone->prefetches = previous->prefetches;
  }
  if (block.forward) {
    upstream::ForwarderOptions forwarder_options;
    forwarder_options.forward = *block.forward;
    const config::UpstreamLimits& limits = block.upstream_limits;
    forwarder_options.limits =
        upstream::LimitOptions{limits.max_inflight, limits.qps, limits.burst};
    forwarder_options.queue = static_cast<std::size_t>(limits.queue);
    forwarder_options.queue_wait = limits.queue_wait;
    forwarder_options.probe_interval = limits.probe_interval;
    forwarder_options.probes = limits.probes;
    forwarder_options.name = zone->name;
    zone->forwarder =
        std::make_unique<upstream::Forwarder>(loop_, forwarder_options, clock_, seed_++);
    zone->forwarder->set_listener(&pipeline_);
    zone->upstream = zone->forwarder.get();
    if (auto ok = zone->forwarder->start(); !ok) {
      // Channels that did start own libuv handles: freed once their close callbacks ran.
      Generation failed;
      const std::string message = zone->name + ": " + ok.error().message;
      failed.zones.push_back(std::move(zone));
      retire(std::move(failed), 0);
      return fail(message);
    }
  }
  return zone;
}

Result<Server::Generation> Server::build(std::shared_ptr<const config::Config> config,
                                         const ReloadPlan* plan) {
  Generation out;
  out.config = std::move(config);
  for (std::size_t i = 0; i < out.config->blocks.size(); ++i) {
    const config::ServerBlock& block = out.config->blocks[i];
    const Zone* previous = nullptr;
    if (plan != nullptr && plan->kept_from[i]) previous = zones_[*plan->kept_from[i]].get();
    auto zone = make_zone(block, previous);
    if (!zone) {
      retire(std::move(out), 0);  // forwarders already started close on the next tick
      return tl::unexpected(zone.error());
    }
    out.zones.push_back(std::move(*zone));
  }
  for (const auto& [key, blocks] : listeners_of(*out.config)) {
    auto router = std::make_unique<Router>("dns://" + format_listener(key));
    for (std::size_t index : blocks) router->add(out.zones[index].get());
    out.routers.emplace(key, std::move(router));
  }
  return out;
}

Result<Server::Listeners> Server::bind_listener(const ListenerKey& key, const Router& router,
                                                ListenMode mode) {
  Listeners out;
  out.udp = std::make_unique<UdpListener>(loop_, pipeline_, router);
  out.tcp = std::make_unique<TcpListener>(loop_, pipeline_, router, options_.tcp);
  auto ok = out.udp->bind(key.first, key.second, mode);
  if (ok) ok = out.tcp->bind(key.first, key.second, mode);
  if (!ok) {
    // The handles may be open: close them and keep the objects until the close callbacks ran.
    out.udp->close();
    out.tcp->close();
    Generation failed;
    failed.listeners.emplace(key, std::move(out));
    retire(std::move(failed), 0);
    return tl::unexpected(ok.error());
  }
  return out;
}

void Server::retire(Generation generation, std::int64_t deadline_ms,
                    std::uint64_t workers_generation) {
  retired_.push_back(Retired{std::move(generation), workers_generation, deadline_ms, false});
  if (retire_timer_.loop != nullptr &&
      !uv_is_active(reinterpret_cast<uv_handle_t*>(&retire_timer_))) {
    uv_timer_start(
        &retire_timer_,
        [](uv_timer_t* t) noexcept { static_cast<Server*>(t->data)->on_retire_timer(); }, 20, 20);
  }
}

void Server::close_generation(Generation& generation) noexcept {
  for (auto& zone : generation.zones) {
    // Pending flights complete with kCancelled; whatever is left is abandoned the same way, so
    // no flight points at the zone once it is freed.
    if (zone->forwarder) zone->forwarder->close();
    pipeline_.abandon_flights(zone.get());
    pipeline_.retarget_refreshes(zone.get(), nullptr);
  }
  for (auto& [key, listeners] : generation.listeners) {
    closed_udp_ += listeners.udp->counters();  // holdfast_udp_*_total{loop="0"} keep counting
    listeners.udp->close();
    listeners.tcp->close();
  }
}

void Server::on_retire_timer() noexcept {
  // Oldest first, one at a time: a flight of an older configuration may hold clients that
  // arrived through a newer one's router or listener, so no configuration is freed before every
  // older one is.
  const std::int64_t now = clock_.monotonic_ms();
  while (!retired_.empty()) {
    Retired& oldest = retired_.front();
    if (oldest.closed) {
      retired_.erase(retired_.begin());  // its close callbacks ran in an earlier loop iteration
      continue;
    }
    // A worker loop may still route by the old zones until it takes the new routers (at its
    // next wake-up: microseconds).
    if (workers_ && !workers_->caught_up(oldest.workers_generation)) break;
    std::size_t flights = 0;
    for (const auto& zone : oldest.generation.zones) flights += pipeline_.flights_for(zone.get());
    if (flights > 0 && now < oldest.deadline_ms) break;
    if (flights > 0) {
      spdlog::warn(
          "reload: {} queries still in flight on the old configuration after {} ms; cancelled",
          flights, options_.drain_timeout.count());
    }
    close_generation(oldest.generation);
    oldest.closed = true;  // freed on a later tick, after libuv's close callbacks
    break;
  }
  if (retired_.empty()) uv_timer_stop(&retire_timer_);
}

Result<void> Server::start() {
  open_store();
  uv_timer_init(loop_, &retire_timer_);
  retire_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&retire_timer_));
  auto built = build(config_, nullptr);
  if (!built) return tl::unexpected(built.error());
  for (auto& zone : built->zones) {
    const config::ServerBlock& block = *zone->block;
    if (block.forward) {
      spdlog::info("[{}] forward {} to {} (policy {}{})", zone->name, block.forward->from,
                   join(zone->forwarder->server_names(), ", "), policy_name(block.forward->policy),
                   block.forward->force_tcp ? ", force_tcp" : "");
    }
    for (const config::InactiveDirective& inactive : block.inactive) {
      spdlog::info("[{}] {}: accepted, not active yet ({}:{})", zone->name, inactive.name,
                   inactive.where.file, inactive.where.line);
    }
  }
  zones_ = std::move(built->zones);
  routers_ = std::move(built->routers);
  for (const auto& [key, router] : routers_) {
    auto listeners = bind_listener(key, *router, options_.listen_mode);
    if (!listeners) return tl::unexpected(listeners.error());
    std::vector<std::string> names;
    for (const auto& slot : router->metrics()) {
      if (slot.zone != nullptr) names.push_back(join(slot.zone->block->zones, " "));
    }
    spdlog::info("listening on {} and {} for {}", listeners->udp->name(), listeners->tcp->name(),
                 join(names, ", "));
    listeners_.emplace(key, std::move(*listeners));
  }
  uv_timer_init(loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&drain_timer_));
  listening_ = true;
  if (auto ok = start_workers(); !ok) return ok;
  if (auto ok = start_observability(); !ok) return ok;
  steer_joined(1, "new queries now come to this instance on");
  start_promotion();
  return {};
}

void Server::steer_joined(std::uint32_t index, const char* what) noexcept {
  std::vector<std::string> names;
  auto steer = [&](auto& listener) {
    if (!listener.joined()) return;
    if (listener.steer(index)) {
      names.push_back(listener.name());
    } else {
      spdlog::warn("{}: the kernel refused to steer the address's traffic", listener.name());
    }
  };
  for (auto& [key, listeners] : listeners_) {
    steer(*listeners.udp);
    steer(*listeners.tcp);
  }
  if (!names.empty()) spdlog::info("hand-over: {} {}", what, join(names, ", "));
}

Result<ReloadPlan> Server::reload(std::shared_ptr<const config::Config> config) {
  const std::uint64_t started_ns = uv_hrtime();
  if (!listening_ || shutting_down_) return fail("reload: the server is not running");
  ReloadPlan plan = plan_reload(*config_, *config);
  auto built = build(config, &plan);
  if (!built) return fail("reload: " + built.error().message);
  // New addresses first: if one cannot be bound, nothing has changed yet.
  std::map<ListenerKey, Listeners> added;
  for (const ListenerKey& key : plan.listeners_added) {
    auto listeners = bind_listener(key, *built->routers.at(key), ListenMode::kExclusive);
    if (!listeners) {
      Generation undo = std::move(*built);
      undo.listeners = std::move(added);
      for (auto& [k, l] : undo.listeners) {
        l.udp->stop();
        l.tcp->stop();
      }
      retire(std::move(undo), 0);
      return fail("reload: " + listeners.error().message);
    }
    added.emplace(key, std::move(*listeners));
  }

  // Commit. Kept zones take the new cache settings; their pending refreshes move over.
  for (std::size_t i = 0; i < built->zones.size(); ++i) {
    Zone& zone = *built->zones[i];
    if (!plan.kept_from[i]) continue;
    Zone& previous = *zones_[*plan.kept_from[i]];
    if (zone.cache) {
      const cache::MemoryCacheOptions wanted = cache_options(*zone.block);
      if (!same_cache_options(zone.cache->options(), wanted)) {
        zone.cache->reconfigure(wanted);
        spdlog::info("[{}] cache settings changed: entries kept, new capacities {} / {}", zone.name,
                     wanted.success_capacity, wanted.denial_capacity);
      }
    }
    pipeline_.retarget_refreshes(&previous, &zone);
  }
  Generation old;
  old.config = config_;
  old.zones = std::move(zones_);
  for (auto& [key, router] : built->routers) {
    auto previous = routers_.find(key);
    if (previous != routers_.end()) router->carry_metrics_from(*previous->second);
  }
  old.routers = std::move(routers_);
  for (const ListenerKey& key : plan.listeners_kept) {
    Listeners& listeners = listeners_.at(key);
    listeners.udp->set_router(built->routers.at(key).get());
    listeners.tcp->set_router(built->routers.at(key).get());
  }
  for (const ListenerKey& key : plan.listeners_removed) {
    auto found = listeners_.find(key);
    found->second.udp->stop();
    found->second.tcp->stop();
    old.listeners.emplace(key, std::move(found->second));
    listeners_.erase(found);
  }
  for (auto& [key, listeners] : added) {
    spdlog::info("listening on {} and {}", listeners.udp->name(), listeners.tcp->name());
    listeners_.emplace(key, std::move(listeners));
  }
  for (const auto& zone : old.zones) {
    // Removed zones: their pending refreshes have nowhere to go.
    pipeline_.retarget_refreshes(zone.get(), nullptr);
  }
  zones_ = std::move(built->zones);
  routers_ = std::move(built->routers);
  config_ = std::move(config);
  const std::uint64_t workers_generation = reroute_workers();
  retire(std::move(old), clock_.monotonic_ms() + options_.drain_timeout.count(),
         workers_generation);

  for (const std::string& line : plan.needs_restart)
    spdlog::warn("reload: {}; needs a restart", line);
  if (plan.metrics_changed || plan.health_changed) update_http();
  for (auto& zone : zones_) {
    if (zone->forwarder) {
      spdlog::info("[{}] forward {} to {}", zone->name, zone->block->forward->from,
                   join(zone->forwarder->server_names(), ", "));
    }
  }
  const auto took = std::chrono::microseconds((uv_hrtime() - started_ns) / 1000);
  spdlog::info("{}", describe(plan, took));
  return plan;
}

void Server::update_http() {
  const std::vector<std::string> metrics = metrics_addresses(*config_);
  const std::vector<std::string> health = health_addresses(*config_);
  std::vector<std::unique_ptr<observe::MetricsExporter>> old_metrics;
  std::vector<std::unique_ptr<observe::HealthServer>> old_health;
  for (auto it = exporters_.begin(); it != exporters_.end();) {
    if (std::find(metrics.begin(), metrics.end(), it->first) != metrics.end()) {
      ++it;
      continue;
    }
    spdlog::info("reload: metrics on {} stop", it->first);
    it->second->close();
    old_metrics.push_back(std::move(it->second));
    it = exporters_.erase(it);
  }
  for (auto it = health_.begin(); it != health_.end();) {
    if (std::find(health.begin(), health.end(), it->first) != health.end()) {
      ++it;
      continue;
    }
    spdlog::info("reload: health on {} stops", it->first);
    it->second->close();
    old_health.push_back(std::move(it->second));
    it = health_.erase(it);
  }
  if (!old_metrics.empty() || !old_health.empty()) {
    // A scrape in progress may still wait for this loop through the bridge: it is answered as the
    // loop turns, and the thread finishes.
    http_reapers_.emplace_back(
        [metrics = std::move(old_metrics), health = std::move(old_health)]() mutable {
          metrics.clear();
          health.clear();
        });
  }
  if (auto ok = start_http(); !ok) {
    spdlog::error("reload: {} (the other HTTP endpoints keep running)", ok.error().message);
  }
}

Result<void> Server::start_observability() {
  bridge_ = std::make_unique<observe::LoopBridge>(loop_);
  if (auto ok = start_http(); !ok) return ok;
  uv_timer_init(loop_, &lameduck_timer_);
  lameduck_timer_.data = this;
  uv_timer_init(loop_, &store_retry_timer_);
  store_retry_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&store_retry_timer_));
  if (store_ && store_->state() != cache::StoreState::kOpen) {
    uv_timer_start(
        &store_retry_timer_,
        [](uv_timer_t* t) noexcept { static_cast<Server*>(t->data)->retry_store(); }, 5000, 5000);
  }
  return {};
}

Result<void> Server::start_http() {
  lameduck_ = std::chrono::milliseconds(0);
  for (const config::ServerBlock& block : config_->blocks) {
    if (block.health) lameduck_ = std::max(lameduck_, block.health_lameduck);
  }
  // Process-wide, as in CoreDNS: each address once, however many blocks name it.
  for (const std::string& address : metrics_addresses(*config_)) {
    if (exporters_.contains(address)) continue;
    auto exporter = observe::MetricsExporter::start(
        address, *bridge_, [this](observe::MetricsSnapshot& out) { fill_snapshot(out); });
    if (!exporter) return fail(exporter.error().message);
    spdlog::info("metrics on http://{}/metrics (port {})", address, (*exporter)->port());
    exporters_.emplace(address, std::move(*exporter));
  }
  for (const std::string& address : health_addresses(*config_)) {
    if (health_.contains(address)) continue;
    auto health = observe::HealthServer::start(address, *bridge_, [this] { return readiness(); });
    if (!health) return fail(health.error().message);
    spdlog::info("health on http://{}/health and /ready (port {})", address, (*health)->port());
    health_.emplace(address, std::move(*health));
  }
  return {};
}

std::string Server::readiness() const {
  if (!listening_) return "listeners not bound";
  if (shutting_down_) return "shutting down";
  if (store_ && store_->state() == cache::StoreState::kReadOnly) {
    return "store " + config_->persist.dir + " is " + store_->problem() + ": answers are not kept";
  }
  if (store_ && store_->state() != cache::StoreState::kOpen) {
    return "store " + config_->persist.dir + " cannot be used: " + store_->problem();
  }
  return {};
}

void Server::shutdown() noexcept {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (lameduck_.count() > 0 && lameduck_timer_.loop != nullptr) {
    // CoreDNS's lameduck: keep answering (and /health OK) while /ready fails, so whatever routes
    // by readiness drains first; then stop as usual.
    for (auto& [address, health] : health_) health->set_lameduck();
    spdlog::info("lameduck: still answering for {} ms before shutting down", lameduck_.count());
    uv_timer_start(
        &lameduck_timer_,
        [](uv_timer_t* t) noexcept { static_cast<Server*>(t->data)->begin_shutdown(); },
        static_cast<std::uint64_t>(lameduck_.count()), 0);
    return;
  }
  begin_shutdown();
}

void Server::begin_shutdown() noexcept {
  // Stopped during a hand-over we started (a rollback): the older instance gets the traffic back.
  steer_joined(0, "new queries go back to the older instance on");
  if (workers_) {
    // This instance's sockets are the first `workers` members of each address's group; a newer
    // instance that joined for a hand-over holds the next one: its traffic goes there now (with
    // nobody behind us the index is past the group's end and the kernel spreads as before).
    for (auto& [key, listeners] : listeners_) {
      if (!listeners.udp->joined()) {
        listeners.udp->steer(static_cast<std::uint32_t>(workers_->size() + 1));
      }
    }
    workers_->stop();  // each answers (or hands over) what waits in its sockets first
  }
  for (auto& [key, listeners] : listeners_) {
    listeners.udp->stop();
    listeners.tcp->stop();
  }
  for (Retired& retired : retired_) {
    for (auto& [key, listeners] : retired.generation.listeners) {
      listeners.udp->stop();
      listeners.tcp->stop();
    }
  }
  spdlog::info("shutting down: {} queries in flight", pipeline_.flights_in_air());
  drain_deadline_ms_ = clock_.monotonic_ms() + options_.drain_timeout.count();
  if (drain_timer_.loop == nullptr) {
    close_all();
    return;
  }
  uv_ref(reinterpret_cast<uv_handle_t*>(&drain_timer_));
  uv_timer_start(
      &drain_timer_,
      [](uv_timer_t* timer) noexcept {
        auto* self = static_cast<Server*>(timer->data);
        if (self->pipeline_.flights_in_air() == 0 ||
            self->clock_.monotonic_ms() >= self->drain_deadline_ms_) {
          uv_timer_stop(timer);
          self->close_all();
        }
      },
      0, 20);
}

void Server::close_all() noexcept {
  if (promoter_) promoter_->stop();  // before the store closes
  if (bridge_) bridge_->close();     // a scrape or health check waiting on the loop gives up now
  for (auto& [address, health] : health_) health->stop();
  exporters_.clear();  // joins the exposer's threads: no scrape reaches the loop after this
  for (std::thread& reaper : http_reapers_) reaper.join();
  http_reapers_.clear();
  for (uv_timer_t* timer : {&lameduck_timer_, &store_retry_timer_}) {
    auto* handle = reinterpret_cast<uv_handle_t*>(timer);
    if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
  }
  close_member(reinterpret_cast<uv_handle_t*>(&retire_timer_));  // retired_ is freed with us
  for (Retired& retired : retired_) {
    if (!retired.closed) close_generation(retired.generation);
    retired.closed = true;
  }
  for (auto& zone : zones_) {
    if (zone->forwarder) zone->forwarder->close();  // pending flights complete with kCancelled
  }
  pipeline_.close();
  for (auto& zone : zones_) zone->store = nullptr;
  for (Retired& retired : retired_) {
    for (auto& zone : retired.generation.zones) zone->store = nullptr;
  }
  if (store_) store_->close();  // writes what is queued, syncs
  for (auto& [key, listeners] : listeners_) {
    listeners.udp->close();
    listeners.tcp->close();
  }
  if (drain_timer_.loop != nullptr &&
      !uv_is_closing(reinterpret_cast<uv_handle_t*>(&drain_timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  }
}

}  // namespace holdfast::server
