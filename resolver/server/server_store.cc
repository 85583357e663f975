// The server's store: opening it, retrying while it cannot open (or is read-only), and promoting
// what it holds into the zones' memory caches at start.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "server/server.h"

namespace holdfast::server {

void Server::open_store() {
  const config::PersistConfig& persist = config_->persist;
  const bool any_cache = std::any_of(config_->blocks.begin(), config_->blocks.end(),
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
  options.negative_max_bytes = persist.negative_cap_bytes();
  std::uint32_t max_stale = 0;
  for (const config::ServerBlock& block : config_->blocks) {
    if (block.cache.serve_stale.enabled) {
      max_stale = std::max(max_stale,
                           static_cast<std::uint32_t>(block.cache.serve_stale.max_stale.count()));
    }
  }
  options.max_stale_seconds = max_stale;
  store_ = cache::PersistentStore::open(options, clock_);
}

void Server::start_promotion() {
  if (!store_ || !store_readable() || store_->entry_count() == 0) return;
  std::size_t limit = 0;
  for (const auto& zone : zones_) {
    if (zone->cache && zone->store != nullptr) {
      limit += zone->block->cache.success_capacity + zone->block->cache.denial_capacity;
    }
  }
  if (limit == 0) return;
  // Size each cache's index once for what is coming (its capacity at most) rather than rehashing
  // it over and over on the loop, which answers queries meanwhile (bench/persist's cold pass).
  const std::size_t stored = store_->entry_count();
  for (const auto& zone : zones_) {
    if (zone->cache && zone->store != nullptr) {
      const std::size_t capacity =
          zone->block->cache.success_capacity + zone->block->cache.denial_capacity;
      zone->cache->reserve(std::min(stored, capacity));
    }
  }
  promoter_ = std::make_unique<cache::StorePromoter>(
      loop_, *store_, limit,
      [this](std::vector<cache::PromotedAnswer>& batch) { return promote(batch); },
      [dir = config_->persist.dir](const cache::PromotionStats& stats) {
        spdlog::info("persist {}: {} of {} stored answers promoted into memory in {} ms{}", dir,
                     stats.inserted, stats.read, stats.elapsed_ms,
                     stats.complete ? "" : " (stopped early)");
      });
  promoter_->start();
}

long Server::promote(std::vector<cache::PromotedAnswer>& batch) {
  long inserted = 0;
  std::vector<Zone*> done;
  for (cache::PromotedAnswer& answer : batch) {
    const auto key = cache::CacheKey::from_stored(answer.key);
    if (!key) continue;
    done.clear();
    // Every zone a listener would route the name to (the same names may be served on several
    // addresses, each with its own zone and cache).
    for (const auto& [where, router] : routers_) {
      Zone* zone = router->route(key->name());
      if (zone == nullptr || !zone->cache || zone->store == nullptr) continue;
      if (std::find(done.begin(), done.end(), zone) != done.end()) continue;
      done.push_back(zone);
    }
    // What was answered since the start is newer than the store: insert_if_absent keeps it.
    try {
      for (Zone* zone : done) {
        if (zone->cache->insert_if_absent(*key, answer.entry)) ++inserted;
      }
    } catch (...) {
      return -1;  // out of memory: stop promoting
    }
  }
  return inserted;
}

bool Server::store_readable() const noexcept {
  const cache::StoreState state = store_->state();
  return state == cache::StoreState::kOpen || state == cache::StoreState::kReadOnly;
}

void Server::retry_store() noexcept {
  if (shutting_down_ || !store_ || store_->state() == cache::StoreState::kOpen) {
    uv_timer_stop(&store_retry_timer_);
    return;
  }
  try {
    if (store_->state() == cache::StoreState::kReadOnly) {
      // One environment per file per process: close the reading one before opening for writes.
      if (::access(config_->persist.dir.c_str(), W_OK) != 0) return;
      if (promoter_) promoter_->stop();  // it reads the store about to close
      for (auto& zone : zones_) zone->store = nullptr;
      pipeline_.drain_store_reads();  // queued reads still use the store about to close
      store_->close();
      open_store();
      for (auto& zone : zones_) {
        if (zone->cache && store_ && store_readable()) zone->store = store_.get();
      }
      if (store_ && store_->state() == cache::StoreState::kOpen) {
        spdlog::info("persist {}: the directory is writable again; persistence is back",
                     config_->persist.dir);
        uv_timer_stop(&store_retry_timer_);
      }
      return;
    }
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
    pipeline_.drain_store_reads();  // reads queued before the swap use the old store
    old->close();
    spdlog::info("persist {}: the store opened after all; persistence is back",
                 config_->persist.dir);
    uv_timer_stop(&store_retry_timer_);
  } catch (...) {
  }
}

}  // namespace holdfast::server
