// Zone routing: the server block that answers a name, by the longest matching zone among the
// blocks served on one listener.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/memory_cache.h"
#include "cache/persistent_store.h"
#include "config/config.h"
#include "dns/wire.h"
#include "observe/request_metrics.h"
#include "server/acl.h"
#include "server/rrl.h"
#include "upstream/forwarder.h"

namespace holdfast::server {

// Serve-stale (RFC 8767) settings of one block, in the units the hot path uses.
// Defaults: the Corefile's (config::ServeStaleConfig), defined there once.
struct StalePolicy {
  bool enabled = false;
  bool verify = true;  // ask upstream first, answer stale after client_timeout
  std::uint32_t stale_ttl_seconds =
      static_cast<std::uint32_t>(config::ServeStaleConfig{}.stale_ttl.count());
  // The cap of the wait, which follows upstream latency.
  std::int64_t client_timeout_ms = config::ServeStaleConfig{}.client_timeout.count();
  // Background refreshes after an outage spread over this.
  std::int64_t recheck_ms = config::ServeStaleConfig{}.recheck.count();
};

// What one server block needs at query time. Owned by the Server; shared by its listeners.
struct Zone {
  const config::ServerBlock* block = nullptr;
  // Null when the block has no `cache`. Shared with the zone of the same identity in the previous
  // and next configuration: a reload keeps the entries, and flights of the old zone still in the
  // air fill the cache the new zone reads.
  std::shared_ptr<cache::MemoryCache> cache;
  cache::PersistentStore* store = nullptr;  // shared by every block; null when memory-only
  cache::TtlPolicy ttl_policy;
  StalePolicy stale;
  std::unique_ptr<upstream::Forwarder> forwarder;  // null when the block has no `forward`
  // What the query pipeline asks: the forwarder (or, in tests, a scripted group); null without.
  upstream::UpstreamGroup* upstream = nullptr;
  std::string name;  // "cluster.local.:53", for logs
  Acl acl;           // the block's `acl` rules, compiled
  // Neither `bind` nor `acl`: only loopback and the node's subnets are answered
  // (server/local_clients.h); the others are refused and counted as acl_blocked.
  bool local_clients_only = false;
  // coredns_acl_{allowed,blocked,filtered,dropped}_requests_total (with `acl` or local-only).
  std::uint64_t acl_allowed = 0;
  std::uint64_t acl_blocked = 0;
  std::uint64_t acl_filtered = 0;
  std::uint64_t acl_dropped = 0;
  // The block's `rrl` (null without it): accounts and coredns_rrl_* / holdfast_rrl_* counters.
  std::unique_ptr<ResponseRateLimiter> rrl;
  // Counted on the loop for coredns_cache_{served_stale,prefetch}_total.
  std::uint64_t served_stale = 0;
  std::uint64_t prefetches = 0;
  // `errors` logs at most one line a second per block.
  std::int64_t errors_logged_ms = -1'000'000;
  std::uint64_t errors_suppressed = 0;
};

// The zones served on one listening address, and their request metrics. Loop-bound.
class Router {
 public:
  // `server` is CoreDNS's `server` label for the address: "dns://ADDR:PORT".
  explicit Router(std::string server);

  // Adds every zone name of `zone`'s block.
  void add(Zone* zone);
  // The zone whose name is the longest suffix of `lower_name` (lower-case wire), or null.
  Zone* route(dns::Bytes lower_name) const noexcept;

  // The request counters of a zone on this address; `zone` null = queries no zone took.
  observe::RequestMetrics& metrics_for(const Zone* zone) const noexcept;
  // A reload: the router of the same address in the previous configuration hands over the
  // counters of every zone with the same name (and of dropped queries), so the series go on.
  void carry_metrics_from(const Router& previous);

  struct ZoneMetrics {
    const Zone* zone;  // null: the "dropped" slot
    // Shared with the router of the previous configuration while its queries finish.
    std::shared_ptr<observe::RequestMetrics> metrics;
  };
  const std::vector<ZoneMetrics>& metrics() const noexcept { return metrics_; }
  const std::string& server() const noexcept { return server_; }

 private:
  struct Entry {
    std::string zone_wire;
    Zone* zone;
  };
  std::string server_;
  std::vector<Entry> entries_;        // longest zone first
  std::vector<ZoneMetrics> metrics_;  // [0] = no zone
};

}  // namespace holdfast::server
