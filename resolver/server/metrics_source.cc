// The metrics snapshot of the whole server, taken on its loop: request counters per listener
// and zone, caches, forwarders, the store and the pipeline.
#include <algorithm>

#include "server/server.h"

namespace holdfast::server {
namespace {

std::string join_zones(const std::vector<std::string>& zones) {
  std::string out;
  for (const std::string& zone : zones) out += (out.empty() ? "" : " ") + zone;
  return out;
}

const char* store_state_name(cache::StoreState state) {
  switch (state) {
    case cache::StoreState::kOpen:
      return "open";
    case cache::StoreState::kReadOnly:
      return "read_only";
    case cache::StoreState::kMemoryOnly:
      return "memory_only";
    case cache::StoreState::kClosed:
      break;
  }
  return "closed";
}

}  // namespace

void Server::fill_snapshot(observe::MetricsSnapshot& out) {
  out.version = options_.version;
  out.revision = options_.revision;
  out.compiler = std::string("g++ ") + __VERSION__;
  // Requests: one series set per (listening address, zone), "dropped" for queries no zone took;
  // the worker loops' hits added to the series they were counted for.
  const std::vector<WorkerStats> workers = worker_stats();
  for (const auto& [key, router] : routers_) {
    for (const Router::ZoneMetrics& slot : router->metrics()) {
      observe::ZoneRequests& z = out.zones.emplace_back();
      z.server = router->server();
      z.zone = slot.zone != nullptr ? slot.zone->block->zones.front() : "dropped";
      z.requests = *slot.metrics;
      for (const WorkerStats& worker : workers) {
        for (const WorkerRequests& counted : worker.requests) {
          if (counted.target == slot.metrics.get()) z.requests.add(counted.counts);
        }
      }
    }
  }
  const auto loop_udp = [](const UdpCounters& c) {
    return observe::LoopUdpMetrics{c.helped, c.truncated, c.backlog_drops, c.send_errors,
                                   c.busy_entries};
  };
  for (const WorkerStats& worker : workers) {
    out.workers.push_back(observe::WorkerMetrics{worker.index, worker.path.queries,
                                                 worker.path.answered, worker.path.handed_off,
                                                 worker.path.handoff_drops, loop_udp(worker.udp)});
  }
  UdpCounters owner = closed_udp_;
  for (const auto& [key, listeners] : listeners_) owner += listeners.udp->counters();
  out.owner_udp = loop_udp(owner);
  const PipelineCounters pipeline = pipeline_.take_counters();
  for (const auto& zone : zones_) {
    std::string server;
    for (const auto& [key, router] : routers_) {
      const auto& slots = router->metrics();
      if (std::any_of(slots.begin(), slots.end(),
                      [&](const Router::ZoneMetrics& m) { return m.zone == zone.get(); })) {
        server = router->server();
        break;
      }
    }
    if (zone->cache) {
      const cache::CacheCounters c = zone->cache->counters();
      observe::CacheMetrics& m = out.caches.emplace_back();
      m.server = server;
      m.zones = join_zones(zone->block->zones);
      m.entries_success = c.entries_success;
      m.entries_denial = c.entries_denial;
      m.hits_success = c.hits - c.hits_denial;
      m.hits_denial = c.hits_denial;
      m.misses = c.misses;
      m.evictions_success = c.evictions - c.evictions_denial;
      m.evictions_denial = c.evictions_denial;
      m.prefetch = zone->prefetches;
      m.served_stale = zone->served_stale;
    }
    if (!zone->acl.empty() || zone->local_clients_only) {
      observe::AclMetrics& m = out.acls.emplace_back();
      m.server = server;
      m.zones = join_zones(zone->block->zones);
      m.allowed = zone->acl_allowed;
      m.blocked = zone->acl_blocked;
      m.filtered = zone->acl_filtered;
      m.dropped = zone->acl_dropped;
    }
    if (zone->rrl) {
      const RrlCounters& c = zone->rrl->counters();
      observe::RrlMetrics& m = out.rrls.emplace_back();
      m.server = server;
      m.zones = join_zones(zone->block->zones);
      m.responses_dropped = c.responses_dropped;
      m.responses_slipped = c.responses_slipped;
      m.responses_reported = c.responses_reported;
      m.requests_dropped = c.requests_dropped;
      m.requests_reported = c.requests_reported;
      m.accounts = zone->rrl->accounts();
      m.evictions = c.evictions;
    }
    if (zone->forwarder) {
      const upstream::Forwarder& f = *zone->forwarder;
      const upstream::ForwarderCounters& c = f.counters();
      observe::ForwarderMetrics& m = out.forwarders.emplace_back();
      m.block = zone->name;
      const std::vector<std::string> names = f.server_names();
      for (std::size_t i = 0; i < names.size(); ++i) {
        observe::UpstreamMetricsSnapshot& u = m.upstreams.emplace_back();
        const upstream::UpstreamMetrics& um = f.upstream_metrics()[i];
        u.to = names[i];
        u.requests = um.requests;
        u.responses = um.responses;
        u.durations = um.durations;
        u.healthcheck_failures = um.healthcheck_failures;
        u.mismatched = f.mismatched(i);
        u.down = f.circuit().down(i);
      }
      m.circuit_opened = c.circuit_opened;
      m.circuit_closed = c.circuit_closed;
      m.circuit_open = f.circuit_open();
      m.degraded = f.degraded();
      m.max_concurrent_rejects = c.over_limit;
      m.inflight = f.inflight();
      m.queue_length = f.queue_length();
      m.queued = c.queued;
      m.queue_full = c.queue_full;
      m.queue_displaced = c.queue_displaced;
      m.queue_expired = c.queue_expired;
      m.limited = c.limited;
      m.probes = c.probes;
      m.health_checks = c.health_checks;
      m.silences = c.silences;
      m.hedges = c.hedges;
      m.resends = c.resends;
    }
  }
  observe::StoreMetrics& st = out.store;
  st.configured = store_ != nullptr;
  if (store_) {
    const cache::StoreCounters& c = store_->counters();
    auto get = [](const std::atomic<std::uint64_t>& v) {
      return v.load(std::memory_order_relaxed);
    };
    st.state = store_state_name(store_->state());
    if (store_->state() == cache::StoreState::kOpen ||
        store_->state() == cache::StoreState::kReadOnly) {
      st.entries = store_->entry_count();
      st.used_bytes = store_->used_bytes();
    }
    st.map_bytes = store_->options().size_bytes;
    st.batches = get(c.batches);
    st.flush_seconds = static_cast<double>(get(c.flush_micros)) / 1e6;
    st.written = get(c.written);
    st.dropped = get(c.dropped_queue_full);
    st.queue_length = get(c.queue_length);
    st.evicted_expired = get(c.evicted_expired);
    st.evicted_lru = get(c.evicted_lru);
    st.negative_bytes = get(c.negative_bytes);
    st.negative_max_bytes = std::min<std::uint64_t>(
        store_->options().negative_max_bytes.value_or(st.map_bytes), st.map_bytes);
    st.negative_refused = get(c.negative_refused);
    st.negative_purged = get(c.negative_purged);
    st.corrupt = get(c.invalid_deleted);
    st.full = get(c.map_full);
    st.moved_aside = get(c.moved_aside);
    st.write_errors = get(c.write_errors);
    st.read_only = store_->state() == cache::StoreState::kReadOnly ||
                           store_->state() == cache::StoreState::kMemoryOnly
                       ? 1
                       : 0;
  }
  observe::PipelineMetrics& p = out.pipeline;
  p.coalesced = pipeline.coalesced;
  p.store_promotions = pipeline.store_promotions;
  p.malformed_dropped = pipeline.dropped_short + pipeline.dropped_response;
  p.formerr = pipeline.formerr;
  p.refreshes = pipeline.refreshes;
  p.internal_errors = pipeline.internal_errors;
  for (std::size_t i = 0; i < kStaleReasons; ++i) {
    p.stale_by_reason.emplace_back(to_string(static_cast<StaleReason>(i)),
                                   pipeline.stale_by_reason[i]);
  }
  p.oldest_stale_seconds = pipeline.oldest_stale_seconds;
}

}  // namespace holdfast::server
