// Zone routing: the server block that answers a name, by the longest matching zone among the
// blocks served on one listener.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/memory_cache.h"
#include "config/config.h"
#include "dns/wire.h"
#include "upstream/forwarder.h"

namespace holdfast::server {

// What one server block needs at query time. Owned by the Server; shared by its listeners.
struct Zone {
  const config::ServerBlock* block = nullptr;
  std::unique_ptr<cache::MemoryCache> cache;  // null when the block has no `cache`
  cache::TtlPolicy ttl_policy;
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
