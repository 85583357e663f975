// Assembling zones, forwarders and listeners from the config; orderly shutdown.
#include "server/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace holdfast::server {
namespace {

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

Server::Server(uv_loop_t* loop, const config::Config& config, const Clock& clock,
               ServerOptions options)
    : loop_(loop),
      config_(config),
      clock_(clock),
      options_(options),
      pipeline_(loop, clock, PipelineOptions{options.max_udp_payload}) {}

Server::~Server() {
  if (store_) store_->close();
}

void Server::open_store() {
  const config::PersistConfig& persist = config_.persist;
  const bool any_cache = std::any_of(config_.blocks.begin(), config_.blocks.end(),
                                     [](const config::ServerBlock& b) { return b.cache.enabled; });
  if (!persist.enabled || !any_cache) {
    spdlog::info("persist: off, the cache lives in memory only");
    return;
  }
  cache::StoreOptions options;
  options.dir = persist.dir;
  options.size_bytes = persist.size_bytes;
  options.flush_interval = persist.flush;
  options.sync_interval = persist.sync;
  std::uint32_t max_stale = 0;
  for (const config::ServerBlock& block : config_.blocks) {
    if (block.cache.serve_stale.enabled) {
      max_stale = std::max(max_stale,
                           static_cast<std::uint32_t>(block.cache.serve_stale.max_stale.count()));
    }
  }
  options.max_stale_seconds = max_stale;
  store_ = cache::PersistentStore::open(options, clock_);
}

Result<void> Server::start() {
  std::uint64_t seed = options_.seed != 0 ? options_.seed : std::random_device{}();
  open_store();
  // Blocks grouped by the (address, port) they listen on: each listener routes among its blocks.
  std::map<std::pair<std::string, std::uint16_t>, std::vector<Zone*>> by_address;
  for (const config::ServerBlock& block : config_.blocks) {
    auto zone = std::make_unique<Zone>();
    zone->block = &block;
    zone->name = join(block.zones, " ") + ":" + std::to_string(block.port);
    if (block.cache.enabled) {
      cache::MemoryCacheOptions cache_options;
      cache_options.success_capacity =
          block.cache.disable_success ? 0 : block.cache.success_capacity;
      cache_options.denial_capacity = block.cache.disable_denial ? 0 : block.cache.denial_capacity;
      cache_options.keep_ttl = block.cache.keepttl;
      const config::ServeStaleConfig& stale = block.cache.serve_stale;
      cache_options.max_stale_seconds =
          stale.enabled ? static_cast<std::uint32_t>(stale.max_stale.count()) : 0;
      cache_options.prefetch = block.cache.prefetch.enabled;
      cache_options.prefetch_amount = static_cast<std::uint32_t>(block.cache.prefetch.amount);
      cache_options.prefetch_window_seconds =
          static_cast<std::uint32_t>(block.cache.prefetch.duration.count());
      cache_options.prefetch_percent = static_cast<std::uint32_t>(block.cache.prefetch.percent);
      zone->cache = std::make_unique<cache::MemoryCache>(cache_options, clock_);
      zone->stale.enabled = stale.enabled;
      zone->stale.verify = stale.refresh_mode == config::StaleRefreshMode::kVerify;
      zone->stale.stale_ttl_seconds = static_cast<std::uint32_t>(stale.stale_ttl.count());
      zone->stale.client_timeout_ms = stale.client_timeout.count();
      zone->stale.recheck_ms = stale.recheck.count();
      if (store_ && store_->state() == cache::StoreState::kOpen) zone->store = store_.get();
      zone->ttl_policy = cache::TtlPolicy{block.cache.success_min_ttl, block.cache.success_max_ttl,
                                          block.cache.denial_min_ttl, block.cache.denial_max_ttl,
                                          block.cache.servfail_ttl};
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
          std::make_unique<upstream::Forwarder>(loop_, forwarder_options, clock_, seed++);
      zone->forwarder->set_listener(&pipeline_);
      if (auto ok = zone->forwarder->start(); !ok)
        return fail(zone->name + ": " + ok.error().message);
      spdlog::info("[{}] forward {} to {} (policy {}{})", zone->name, block.forward->from,
                   join(zone->forwarder->server_names(), ", "), policy_name(block.forward->policy),
                   block.forward->force_tcp ? ", force_tcp" : "");
    }
    for (const config::InactiveDirective& inactive : block.inactive) {
      spdlog::info("[{}] {}: accepted, not active yet ({}:{})", zone->name, inactive.name,
                   inactive.where.file, inactive.where.line);
    }
    std::vector<std::string> addresses = block.bind;
    if (addresses.empty()) addresses = {"0.0.0.0", "::"};
    for (const std::string& address : addresses) {
      by_address[{address, block.port}].push_back(zone.get());
    }
    zones_.push_back(std::move(zone));
  }
  for (const auto& [where, zones] : by_address) {
    const bool v6 = where.first.find(':') != std::string::npos;
    auto router = std::make_unique<Router>("dns://" + (v6 ? "[" + where.first + "]" : where.first) +
                                           ":" + std::to_string(where.second));
    std::vector<std::string> names;
    for (Zone* zone : zones) {
      router->add(zone);
      names.push_back(join(zone->block->zones, " "));
    }
    auto udp = std::make_unique<UdpListener>(loop_, pipeline_, *router);
    if (auto ok = udp->bind(where.first, where.second, options_.listen_mode); !ok) return ok;
    auto tcp = std::make_unique<TcpListener>(loop_, pipeline_, *router, options_.tcp);
    if (auto ok = tcp->bind(where.first, where.second, options_.listen_mode); !ok) return ok;
    spdlog::info("listening on {} and {} for {}", udp->name(), tcp->name(), join(names, ", "));
    udp_.push_back(std::move(udp));
    tcp_.push_back(std::move(tcp));
    routers_.push_back(std::move(router));
  }
  uv_timer_init(loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&drain_timer_));
  listening_ = true;
  if (auto ok = start_observability(); !ok) return ok;
  steer_joined(1, "new queries now come to this instance on");
  return {};
}

void Server::steer_joined(std::uint32_t index, const char* what) noexcept {
  std::vector<std::string> names;
  for (auto& udp : udp_) {
    if (!udp->joined()) continue;
    if (udp->steer(index)) {
      names.push_back(udp->name());
    } else {
      spdlog::warn("{}: the kernel refused to steer the address's traffic", udp->name());
    }
  }
  for (auto& tcp : tcp_) {
    if (!tcp->joined()) continue;
    if (tcp->steer(index)) {
      names.push_back(tcp->name());
    } else {
      spdlog::warn("{}: the kernel refused to steer the address's traffic", tcp->name());
    }
  }
  if (!names.empty()) {
    spdlog::info("hand-over: {} {}", what, join(names, ", "));
  }
}

Result<void> Server::start_observability() {
  bridge_ = std::make_unique<observe::LoopBridge>(loop_);
  std::vector<std::string> metrics_addresses;
  std::vector<std::string> health_addresses;
  for (const config::ServerBlock& block : config_.blocks) {
    // Process-wide, as in CoreDNS: each address once, however many blocks name it.
    if (block.prometheus && std::find(metrics_addresses.begin(), metrics_addresses.end(),
                                      *block.prometheus) == metrics_addresses.end()) {
      metrics_addresses.push_back(*block.prometheus);
    }
    if (block.health && std::find(health_addresses.begin(), health_addresses.end(),
                                  *block.health) == health_addresses.end()) {
      health_addresses.push_back(*block.health);
      lameduck_ = std::max(lameduck_, block.health_lameduck);
    }
  }
  for (const std::string& address : metrics_addresses) {
    auto exporter = observe::MetricsExporter::start(
        address, *bridge_, [this](observe::MetricsSnapshot& out) { fill_snapshot(out); });
    if (!exporter) return fail(exporter.error().message);
    spdlog::info("metrics on http://{}/metrics (port {})", address, (*exporter)->port());
    exporters_.push_back(std::move(*exporter));
  }
  for (const std::string& address : health_addresses) {
    auto health = observe::HealthServer::start(address, *bridge_, [this] { return readiness(); });
    if (!health) return fail(health.error().message);
    spdlog::info("health on http://{}/health and /ready (port {})", address, (*health)->port());
    health_.push_back(std::move(*health));
  }
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

std::string Server::readiness() const {
  if (!listening_) return "listeners not bound";
  if (shutting_down_) return "shutting down";
  if (store_ && store_->state() != cache::StoreState::kOpen) {
    return "store " + config_.persist.dir + " cannot be used: " + store_->problem();
  }
  return {};
}

void Server::retry_store() noexcept {
  if (shutting_down_ || !store_ || store_->state() == cache::StoreState::kOpen) {
    uv_timer_stop(&store_retry_timer_);
    return;
  }
  try {
    std::unique_ptr<cache::PersistentStore> old = std::move(store_);
    open_store();
    if (!store_ || store_->state() != cache::StoreState::kOpen) {
      if (store_) store_->close();
      store_ = std::move(old);
      return;
    }
    for (auto& zone : zones_) {
      if (zone->cache) zone->store = store_.get();
    }
    old->close();
    spdlog::info("persist {}: the store opened after all; persistence is back",
                 config_.persist.dir);
    uv_timer_stop(&store_retry_timer_);
  } catch (...) {
  }
}

void Server::shutdown() noexcept {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (lameduck_.count() > 0 && lameduck_timer_.loop != nullptr) {
    // CoreDNS's lameduck: keep answering (and /health OK) while /ready fails, so whatever routes
    // by readiness drains first; then stop as usual.
    for (auto& health : health_) health->set_lameduck();
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
  for (auto& udp : udp_) udp->stop();
  for (auto& tcp : tcp_) tcp->stop();
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
  if (bridge_) bridge_->close();  // a scrape or health check waiting on the loop gives up now
  for (auto& health : health_) health->stop();
  exporters_.clear();  // joins the exposer's threads: no scrape reaches the loop after this
  for (uv_timer_t* timer : {&lameduck_timer_, &store_retry_timer_}) {
    auto* handle = reinterpret_cast<uv_handle_t*>(timer);
    if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
  }
  for (auto& zone : zones_) {
    if (zone->forwarder) zone->forwarder->close();  // pending flights complete with kCancelled
  }
  pipeline_.close();
  for (auto& zone : zones_) zone->store = nullptr;
  if (store_) store_->close();  // writes what is queued, syncs
  for (auto& udp : udp_) udp->close();
  for (auto& tcp : tcp_) tcp->close();
  if (drain_timer_.loop != nullptr &&
      !uv_is_closing(reinterpret_cast<uv_handle_t*>(&drain_timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  }
}

}  // namespace holdfast::server
