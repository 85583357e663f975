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
#include "upstream/forwarder.h"

namespace holdfast::server {

// Serve-stale (RFC 8767) settings of one block, in the units the hot path uses.
struct StalePolicy {
  bool enabled = false;
  bool verify = true;  // ask upstream first, answer stale after client_timeout
  std::uint32_t stale_ttl_seconds = 30;
  std::int64_t client_timeout_ms = 400;  // the cap of the wait, which follows upstream latency
  std::int64_t recheck_ms = 30'000;      // background refreshes after an outage spread over this
};

// What one server block needs at query time. Owned by the Server; shared by its listeners.
struct Zone {
  const config::ServerBlock* block = nullptr;
  std::unique_ptr<cache::MemoryCache> cache;  // null when the block has no `cache`
  cache::PersistentStore* store = nullptr;    // shared by every block; null when memory-only
  cache::TtlPolicy ttl_policy;
  StalePolicy stale;
  std::unique_ptr<upstream::Forwarder> forwarder;  // null when the block has no `forward`
  std::string name;                                // "cluster.local.:53", for logs
};

class Router {
 public:
  // Adds every zone name of `zone`'s block.
  void add(Zone* zone);
  // The zone whose name is the longest suffix of `lower_name` (lower-case wire), or null.
  Zone* route(dns::Bytes lower_name) const noexcept;

 private:
  struct Entry {
    std::string zone_wire;
    Zone* zone;
  };
  std::vector<Entry> entries_;  // longest zone first
};

}  // namespace holdfast::server
