// Everything a scrape reports, copied out of the loop in one go: plain data, no pointers into the
// daemon. The server fills it on its loop (server/metrics_source.cc); metrics.cc turns it into
// Prometheus families on the exposer's thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "observe/request_metrics.h"

namespace holdfast::observe {

// coredns_dns_* for one zone on one listening address.
struct ZoneRequests {
  std::string server;  // "dns://169.254.20.10:53"
  std::string zone;    // "cluster.local." ("dropped" for queries no zone took)
  RequestMetrics requests;
};

// coredns_cache_* for one server block's memory cache.
struct CacheMetrics {
  std::string server;
  std::string zones;  // the block's zones, space-separated
  std::uint64_t entries_success = 0;
  std::uint64_t entries_denial = 0;
  std::uint64_t hits_success = 0;
  std::uint64_t hits_denial = 0;
  std::uint64_t misses = 0;
  std::uint64_t prefetch = 0;
  std::uint64_t served_stale = 0;
  std::uint64_t evictions_success = 0;
  std::uint64_t evictions_denial = 0;
};

// coredns_acl_* for one server block with `acl`.
struct AclMetrics {
  std::string server;
  std::string zones;
  std::uint64_t allowed = 0;
  std::uint64_t blocked = 0;
  std::uint64_t filtered = 0;
  std::uint64_t dropped = 0;
};

// coredns_rrl_* and holdfast_rrl_* for one server block with `rrl`.
struct RrlMetrics {
  std::string server;
  std::string zones;
  std::uint64_t responses_dropped = 0;
  std::uint64_t responses_slipped = 0;
  std::uint64_t responses_reported = 0;  // report-only: would have been limited
  std::uint64_t requests_dropped = 0;
  std::uint64_t requests_reported = 0;
  std::uint64_t accounts = 0;
  std::uint64_t evictions = 0;
};

// One upstream server of a forwarder group.
struct UpstreamMetricsSnapshot {
  std::string to;  // "10.96.0.10:53"
  std::uint64_t requests = 0;
  std::array<std::uint64_t, kRcodeSlots> responses{};
  std::array<TimeHistogram, kRcodeSlots> durations{};
  std::uint64_t healthcheck_failures = 0;
  std::uint64_t mismatched = 0;  // replies matching no outstanding ID and question: dropped
  bool down = false;
};

// One forwarder group (a block's `forward`).
struct ForwarderMetrics {
  std::string block;  // "cluster.local.:53"
  std::vector<UpstreamMetricsSnapshot> upstreams;
  std::uint64_t circuit_opened = 0;  // coredns_forward_healthcheck_broken_total
  std::uint64_t circuit_closed = 0;
  bool circuit_open = false;
  bool degraded = false;
  std::uint64_t max_concurrent_rejects = 0;
  std::uint64_t inflight = 0;
  std::uint64_t queue_length = 0;
  std::uint64_t queued = 0;
  std::uint64_t queue_full = 0;
  std::uint64_t queue_displaced = 0;  // of queue_full: shed from the biggest client
  std::uint64_t queue_expired = 0;
  std::uint64_t limited = 0;
  std::uint64_t probes = 0;
  std::uint64_t health_checks = 0;
  std::uint64_t silences = 0;
  std::uint64_t hedges = 0;   // early second copies
  std::uint64_t resends = 0;  // second copies after a timeout
};

struct StoreMetrics {
  bool configured = false;
  std::string state;  // "open", "memory_only", "closed"
  std::uint64_t entries = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t map_bytes = 0;
  std::uint64_t batches = 0;
  double flush_seconds = 0;
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;  // queue full: not persisted
  std::uint64_t queue_length = 0;
  std::uint64_t evicted_expired = 0;
  std::uint64_t evicted_lru = 0;
  std::uint64_t negative_bytes = 0;
  std::uint64_t negative_max_bytes = 0;  // the map size when there is no cap
  std::uint64_t negative_refused = 0;
  std::uint64_t negative_purged = 0;
  // holdfast_store_errors_total{kind}
  std::uint64_t corrupt = 0;  // values that failed validation (deleted)
  std::uint64_t full = 0;     // MDB_MAP_FULL
  std::uint64_t moved_aside = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t read_only = 0;  // 1 while the daemon runs memory-only by necessity
};

struct PipelineMetrics {
  std::uint64_t coalesced = 0;
  std::uint64_t store_promotions = 0;
  std::uint64_t malformed_dropped = 0;  // shorter than a header, or QR=1
  std::uint64_t formerr = 0;
  std::uint64_t refreshes = 0;
  std::uint64_t internal_errors = 0;
  std::vector<std::pair<std::string, std::uint64_t>> stale_by_reason;
  std::uint64_t oldest_stale_seconds = 0;  // over the last one to two minutes
};

// One loop's UDP sockets: holdfast_udp_*_total{loop} and holdfast_loop_helped_total{loop}.
struct LoopUdpMetrics {
  std::uint64_t helped = 0;        // queries it read from another loop's socket (udp_group.h)
  std::uint64_t oversize = 0;      // datagrams larger than a receive slot, dropped
  std::uint64_t backlog_full = 0;  // replies dropped: the socket and the backlog were full
  std::uint64_t send_errors = 0;   // replies the kernel refused (not EAGAIN)
  std::uint64_t busy_entries = 0;  // times a socket was read once per loop turn
};

// One worker loop (`workers` > 1): holdfast_worker_*_total{worker}.
struct WorkerMetrics {
  std::uint32_t index = 0;
  std::uint64_t queries = 0;
  std::uint64_t answered = 0;
  std::uint64_t handed_off = 0;
  std::uint64_t handoff_drops = 0;
  LoopUdpMetrics udp;
};

struct MetricsSnapshot {
  std::string version;
  std::string revision;
  std::string compiler;
  std::vector<ZoneRequests> zones;
  std::vector<CacheMetrics> caches;
  std::vector<AclMetrics> acls;
  std::vector<RrlMetrics> rrls;
  std::vector<ForwarderMetrics> forwarders;
  StoreMetrics store;
  PipelineMetrics pipeline;
  std::vector<WorkerMetrics> workers;
  LoopUdpMetrics owner_udp;  // loop 0, every listener it had (closed ones included)
};

}  // namespace holdfast::observe
