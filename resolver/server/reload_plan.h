// What a reload changes, computed from the old and the new configuration alone: which zones keep
// their memory cache, which listening addresses keep their sockets, what only a restart applies,
// and the one log line that says so. Pure: no loop, no sockets (tests/server/reload_plan_test.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cache/memory_cache.h"
#include "config/config.h"

namespace holdfast::server {

// A listening address: (IP literal, port).
using ListenerKey = std::pair<std::string, std::uint16_t>;

// "cluster.local. in-addr.arpa.:53": a block's zones and port. Unique in a Config (the parser
// refuses a zone twice on one port), so it names "the same zone" across two configurations.
std::string zone_identity(const config::ServerBlock& block);

// Every listening address of a config and the blocks (by index) served on it, in address order.
// A block without `bind` listens on "0.0.0.0" and "::".
std::map<ListenerKey, std::vector<std::size_t>> listeners_of(const config::Config& config);

// The memory cache a block asks for (capacities, keepttl, serve_stale's max_stale, prefetch).
cache::MemoryCacheOptions cache_options(const config::ServerBlock& block);
bool same_cache_options(const cache::MemoryCacheOptions& a, const cache::MemoryCacheOptions& b);

struct ReloadPlan {
  // For each block of the new config: the index of the old block with the same identity.
  std::vector<std::optional<std::size_t>> kept_from;
  std::vector<std::string> zones_added;    // identities
  std::vector<std::string> zones_removed;  // identities
  std::vector<std::string> zones_kept;     // identities
  std::vector<ListenerKey> listeners_added;
  std::vector<ListenerKey> listeners_removed;
  std::vector<ListenerKey> listeners_kept;
  // One line each for what changed but is applied only by a restart (persist, admin socket).
  std::vector<std::string> needs_restart;
  bool metrics_changed = false;  // the set of `prometheus` addresses
  bool health_changed = false;   // the set of `health` addresses (or the lameduck)
};

// Zones are matched by identity, listeners by (address, port).
ReloadPlan plan_reload(const config::Config& old_config, const config::Config& new_config);

// "reload: zones +1 -0 =2, listeners +1 -0 =2 in 3.2 ms" with the names of what was added and
// removed.
std::string describe(const ReloadPlan& plan, std::chrono::microseconds took);

// "127.0.0.1:53" / "[::1]:53".
std::string format_listener(const ListenerKey& key);

// The `reload` directive: when to look at the file next, interval ± jitter (CoreDNS's reload
// plugin). Jitter 0 = exactly the interval.
std::chrono::milliseconds next_check_delay(const config::ReloadConfig& reload,
                                           std::mt19937_64& rng);

// The `reload` directive that governs a config: CoreDNS runs one reloader per process, with the
// settings of the first block that has the directive. nullopt when no block has it.
std::optional<config::ReloadConfig> reload_settings(const config::Config& config);

// The addresses of the `prometheus` and `health` directives, each once, in first-seen order.
std::vector<std::string> metrics_addresses(const config::Config& config);
std::vector<std::string> health_addresses(const config::Config& config);

}  // namespace holdfast::server
