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
    auto router = std::make_unique<Router>();
    std::vector<std::string> names;
    for (Zone* zone : zones) {
      router->add(zone);
      names.push_back(join(zone->block->zones, " "));
    }
    auto udp = std::make_unique<UdpListener>(loop_, pipeline_, *router);
    if (auto ok = udp->bind(where.first, where.second); !ok) return ok;
    auto tcp = std::make_unique<TcpListener>(loop_, pipeline_, *router, options_.tcp);
    if (auto ok = tcp->bind(where.first, where.second); !ok) return ok;
    spdlog::info("listening on {} and {} for {}", udp->name(), tcp->name(), join(names, ", "));
    udp_.push_back(std::move(udp));
    tcp_.push_back(std::move(tcp));
    routers_.push_back(std::move(router));
  }
  uv_timer_init(loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&drain_timer_));
  return {};
}

void Server::shutdown() noexcept {
  if (shutting_down_) return;
  shutting_down_ = true;
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
