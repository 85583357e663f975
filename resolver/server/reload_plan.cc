// Reload planning: identities, the diff of zones and listeners, restart-only changes.
#include "server/reload_plan.h"

#include <fmt/format.h>

#include <algorithm>
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

std::optional<std::string> first_admin(const config::Config& config) {
  for (const config::ServerBlock& block : config.blocks) {
    if (block.admin) return block.admin;
  }
  return std::nullopt;
}

std::chrono::milliseconds max_lameduck(const config::Config& config) {
  std::chrono::milliseconds out{0};
  for (const config::ServerBlock& block : config.blocks) {
    if (block.health) out = std::max(out, block.health_lameduck);
  }
  return out;
}

// "+a,b" or "" for an empty list.
std::string named(const char* sign, const std::vector<std::string>& names) {
  return names.empty() ? std::string() : fmt::format(" {}{}", sign, join(names, ","));
}

}  // namespace

std::string zone_identity(const config::ServerBlock& block) {
  return join(block.zones, " ") + ":" + std::to_string(block.port);
}

std::string format_listener(const ListenerKey& key) {
  const bool v6 = key.first.find(':') != std::string::npos;
  return (v6 ? "[" + key.first + "]" : key.first) + ":" + std::to_string(key.second);
}

std::map<ListenerKey, std::vector<std::size_t>> listeners_of(const config::Config& config) {
  std::map<ListenerKey, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < config.blocks.size(); ++i) {
    const config::ServerBlock& block = config.blocks[i];
    std::vector<std::string> addresses = block.bind;
    if (addresses.empty()) addresses = {"0.0.0.0", "::"};
    for (const std::string& address : addresses) out[{address, block.port}].push_back(i);
  }
  return out;
}

cache::MemoryCacheOptions cache_options(const config::ServerBlock& block) {
  cache::MemoryCacheOptions options;
  options.success_capacity = block.cache.disable_success ? 0 : block.cache.success_capacity;
  options.denial_capacity = block.cache.disable_denial ? 0 : block.cache.denial_capacity;
  options.keep_ttl = block.cache.keepttl;
  const config::ServeStaleConfig& stale = block.cache.serve_stale;
  options.max_stale_seconds =
      stale.enabled ? static_cast<std::uint32_t>(stale.max_stale.count()) : 0;
  options.prefetch = block.cache.prefetch.enabled;
  options.prefetch_amount = static_cast<std::uint32_t>(block.cache.prefetch.amount);
  options.prefetch_window_seconds =
      static_cast<std::uint32_t>(block.cache.prefetch.duration.count());
  options.prefetch_percent = static_cast<std::uint32_t>(block.cache.prefetch.percent);
  return options;
}

bool same_cache_options(const cache::MemoryCacheOptions& a, const cache::MemoryCacheOptions& b) {
  return a.success_capacity == b.success_capacity && a.denial_capacity == b.denial_capacity &&
         a.shards == b.shards && a.keep_ttl == b.keep_ttl &&
         a.max_stale_seconds == b.max_stale_seconds && a.prefetch == b.prefetch &&
         a.prefetch_amount == b.prefetch_amount &&
         a.prefetch_window_seconds == b.prefetch_window_seconds &&
         a.prefetch_percent == b.prefetch_percent;
}

std::vector<std::string> metrics_addresses(const config::Config& config) {
  std::vector<std::string> out;
  for (const config::ServerBlock& block : config.blocks) {
    if (block.prometheus && std::find(out.begin(), out.end(), *block.prometheus) == out.end()) {
      out.push_back(*block.prometheus);
    }
  }
  return out;
}

std::vector<std::string> health_addresses(const config::Config& config) {
  std::vector<std::string> out;
  for (const config::ServerBlock& block : config.blocks) {
    if (block.health && std::find(out.begin(), out.end(), *block.health) == out.end()) {
      out.push_back(*block.health);
    }
  }
  return out;
}

ReloadPlan plan_reload(const config::Config& old_config, const config::Config& new_config) {
  ReloadPlan plan;
  std::map<std::string, std::size_t> old_by_identity;
  for (std::size_t i = 0; i < old_config.blocks.size(); ++i) {
    old_by_identity.emplace(zone_identity(old_config.blocks[i]), i);
  }
  std::set<std::string> new_identities;
  for (const config::ServerBlock& block : new_config.blocks) {
    const std::string identity = zone_identity(block);
    new_identities.insert(identity);
    auto found = old_by_identity.find(identity);
    if (found != old_by_identity.end()) {
      plan.kept_from.emplace_back(found->second);
      plan.zones_kept.push_back(identity);
    } else {
      plan.kept_from.emplace_back(std::nullopt);
      plan.zones_added.push_back(identity);
    }
  }
  for (const config::ServerBlock& block : old_config.blocks) {
    const std::string identity = zone_identity(block);
    if (!new_identities.contains(identity)) plan.zones_removed.push_back(identity);
  }

  const auto old_listeners = listeners_of(old_config);
  const auto new_listeners = listeners_of(new_config);
  for (const auto& [key, blocks] : new_listeners) {
    (old_listeners.contains(key) ? plan.listeners_kept : plan.listeners_added).push_back(key);
  }
  for (const auto& [key, blocks] : old_listeners) {
    if (!new_listeners.contains(key)) plan.listeners_removed.push_back(key);
  }

  if (!(old_config.persist == new_config.persist)) {
    plan.needs_restart.push_back("persist settings changed (" +
                                 (old_config.persist.enabled ? old_config.persist.dir : "off") +
                                 " → " +
                                 (new_config.persist.enabled ? new_config.persist.dir : "off") +
                                 "): the store keeps its old settings until a restart");
  }
  if (first_admin(old_config) != first_admin(new_config)) {
    plan.needs_restart.push_back("admin socket path changed (" +
                                 first_admin(new_config).value_or("default") +
                                 "): the old socket stays until a restart");
  }
  plan.metrics_changed = metrics_addresses(old_config) != metrics_addresses(new_config);
  plan.health_changed = health_addresses(old_config) != health_addresses(new_config) ||
                        max_lameduck(old_config) != max_lameduck(new_config);
  return plan;
}

std::string describe(const ReloadPlan& plan, std::chrono::microseconds took) {
  std::vector<std::string> added_listeners;
  std::vector<std::string> removed_listeners;
  for (const ListenerKey& key : plan.listeners_added)
    added_listeners.push_back(format_listener(key));
  for (const ListenerKey& key : plan.listeners_removed) {
    removed_listeners.push_back(format_listener(key));
  }
  return fmt::format("reload: zones +{} -{} ={}{}{}, listeners +{} -{} ={}{}{} in {:.2f} ms",
                     plan.zones_added.size(), plan.zones_removed.size(), plan.zones_kept.size(),
                     named("+", plan.zones_added), named("-", plan.zones_removed),
                     plan.listeners_added.size(), plan.listeners_removed.size(),
                     plan.listeners_kept.size(), named("+", added_listeners),
                     named("-", removed_listeners), static_cast<double>(took.count()) / 1000.0);
}

std::chrono::milliseconds next_check_delay(const config::ReloadConfig& reload,
                                           std::mt19937_64& rng) {
  const std::int64_t jitter = reload.jitter.count();
  if (jitter <= 0) return reload.interval;
  std::uniform_int_distribution<std::int64_t> spread(-jitter, jitter);
  return std::max(std::chrono::milliseconds(1),
                  reload.interval + std::chrono::milliseconds(spread(rng)));
}

std::optional<config::ReloadConfig> reload_settings(const config::Config& config) {
  for (const config::ServerBlock& block : config.blocks) {
    if (block.reload) return block.reload;
  }
  return std::nullopt;
}

}  // namespace holdfast::server
