// The in-memory answer cache: sharded, capacity-bounded per kind (success / denial) with LRU
// eviction, answering hits by copying the stored response into the caller's buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/string_hash.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "config/config.h"

namespace holdfast::cache {

struct MemoryCacheOptions {
  // Defaults: the Corefile's (config::CacheConfig, config::PrefetchConfig), defined there once.
  std::size_t success_capacity = config::CacheConfig{}.success_capacity;
  std::size_t denial_capacity =
      config::CacheConfig{}.denial_capacity;  // NXDOMAIN, NODATA, SERVFAIL
  std::size_t shards = 16;
  bool keep_ttl = false;
  // How long past expiry an entry may still be returned as stale (0 = never). Serve-stale uses it.
  std::uint32_t max_stale_seconds = 0;
  // CoreDNS `prefetch AMOUNT DURATION PERCENT`: an entry hit at least `amount` times within
  // `duration` is due for a refresh once less than `percent` of its TTL is left.
  bool prefetch = false;
  std::uint32_t prefetch_amount = static_cast<std::uint32_t>(config::PrefetchConfig{}.amount);
  std::uint32_t prefetch_window_seconds =
      static_cast<std::uint32_t>(config::PrefetchConfig{}.duration.count());
  std::uint32_t prefetch_percent = static_cast<std::uint32_t>(config::PrefetchConfig{}.percent);
};

struct Hit {
  std::size_t wire_len = 0;
  std::uint16_t question_end = 0;
  std::uint8_t rcode = 0;
  EntryKind kind = EntryKind::kSuccess;
  std::uint32_t remaining_seconds = 0;  // 0 when stale
  std::uint32_t stale_seconds = 0;      // how long past its expiry (0 when fresh)
  std::uint32_t age_seconds = 0;        // since it was stored
  bool stale = false;
  bool prefetch_due = false;  // popular and close to expiry: refresh it now
};

enum class StaleUse : std::uint8_t { kFreshOnly, kAllowStale };

struct CacheCounters {
  std::uint64_t entries_success = 0;
  std::uint64_t entries_denial = 0;
  std::uint64_t hits = 0;
  std::uint64_t hits_denial = 0;  // of those, NXDOMAIN/NODATA
  std::uint64_t misses = 0;
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;
  std::uint64_t evictions_denial = 0;  // of those, NXDOMAIN/NODATA
};

// Thread-safe: every call takes one shard lock. The clock must outlive the cache.
class MemoryCache {
 public:
  MemoryCache(const MemoryCacheOptions& options, const Clock& clock);
  MemoryCache(const MemoryCache&) = delete;
  MemoryCache& operator=(const MemoryCache&) = delete;

  // On a hit, renders the entry into `out` (TTLs aged) and returns its facts; the caller then
  // patches ID, question case and EDNS. Expired entries are returned only with kAllowStale and
  // within max_stale_seconds, rendered with `stale_ttl`.
  std::optional<Hit> lookup(const CacheKey& key, dns::MutableBytes out,
                            StaleUse stale = StaleUse::kFreshOnly,
                            std::uint32_t stale_ttl = 30) noexcept;

  // A worker loop's hit (server/hit_path.h): only a fresh entry is rendered and counted (as
  // lookup() counts a hit); on anything else — absent, stale, expired — nothing is counted or
  // changed and nullopt says "ask the owner loop", whose lookup() then counts the miss once.
  std::optional<Hit> lookup_fresh(const CacheKey& key, dns::MutableBytes out) noexcept;

  // Stores an entry (kSuccess, kDenial or kServfail; others are ignored), replacing any entry
  // under the same key. A SERVFAIL never replaces a live or stale-servable answer.
  void insert(const CacheKey& key, Entry entry);

  // A memory miss the store answered: stores `entry` as insert() does, then answers from it as
  // lookup() would (same bytes, TTLs, stale rules and counters: an insert, then a hit or a
  // miss), under one lock and without searching the index again.
  std::optional<Hit> insert_and_lookup(const CacheKey& key, Entry entry, dns::MutableBytes out,
                                       StaleUse stale = StaleUse::kFreshOnly,
                                       std::uint32_t stale_ttl = 30);

  // Start-up promotion: stores `entry` only when nothing (fresh, stale or expired) is cached
  // under `key` yet, since what was answered after the start is newer than the store. True when
  // stored; `entry` is moved from only then.
  bool insert_if_absent(const CacheKey& key, Entry& entry);

  // About `entries` answers are on their way (start-up promotion): sizes every shard's index for
  // its share now (capacity at most), so filling the cache does not rehash it again and again on
  // the loop while the loop also answers. Allocates the index's buckets (8 bytes an entry).
  void reserve(std::size_t entries);

  CacheCounters counters() const noexcept;
  std::size_t size() const noexcept;

  // A reload changed the block's cache settings: the entries stay, the new capacities, stale
  // window, keepttl and prefetch apply from now on; a smaller capacity evicts the coldest
  // entries now (pins excepted). The shard count never changes (`shards` is ignored).
  void reconfigure(const MemoryCacheOptions& options);
  const MemoryCacheOptions& options() const noexcept { return options_; }

  // The operator's view and levers (admin socket); not on the query path.
  // A copy of the entry under `key`, without touching recency or counters.
  std::optional<Entry> peek(std::string_view key) const;
  // Calls `visit(key, entry, pinned)` for every entry, one shard locked at a time.
  void for_each(const std::function<void(std::string_view, const Entry&, bool)>& visit) const;
  // Removes the entries whose key `match` accepts (pinned ones too); returns how many.
  std::size_t erase_if(const std::function<bool(std::string_view)>& match);
  // A pinned key's entry is never evicted and never freed for age: past max_stale it is still
  // served stale. The pin holds for whatever entry the key gets later too.
  void set_pinned(std::string_view key, bool pinned);
  bool pinned(std::string_view key) const;

 private:
  // Memory per entry matters at a million answers (bench/persist): members ordered so the node
  // has no padding, and the index keys are views of the node's key, not a second copy (list
  // nodes never move; an index entry is erased before its node).
  // A key kept inside its node when it fits (46 bytes: a name of about 40 characters, as most
  // of a cluster's are), on the heap otherwise. A std::string's own allocation for such a key
  // was a 64-byte malloc chunk per entry, a fifth of the memory per entry (bench/persist).
  // Move-only; the view stays valid while the node lives (list nodes never move).
  class NodeKey {
   public:
    explicit NodeKey(std::string_view key);
    NodeKey(NodeKey&& other) noexcept;
    NodeKey(const NodeKey&) = delete;
    NodeKey& operator=(const NodeKey&) = delete;
    NodeKey& operator=(NodeKey&&) = delete;
    ~NodeKey();
    std::string_view view() const noexcept { return {data(), size_}; }

   private:
    static constexpr std::size_t kInline = 46;  // with size_: 48 bytes, no padding
    bool on_heap() const noexcept { return size_ > kInline; }
    const char* data() const noexcept;
    char bytes_[kInline];  // the key, or (on_heap()) a pointer to it
    std::uint16_t size_ = 0;
  };
  struct Node {
    NodeKey key;
    Entry entry;
    std::int64_t window_start_seconds = 0;  // prefetch: hits are counted per window
    std::uint32_t window_hits = 0;
    bool pinned = false;
    // Hit since it last passed the cold end (CLOCK's second chance): a hit sets this instead of
    // moving the node to the front, which wrote its neighbours and the list head on every hit
    // (three more cache lines, shared between worker loops).
    bool referenced = false;
  };
  using Lru = std::list<Node>;
  // A key with its hash, computed once per lookup: it picks the shard and is the index's hash
  // (heterogeneous lookup), where each used to hash the key again (callgrind: ~55 instructions).
  struct HashedKey {
    std::string_view view;
    std::size_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return StringHash{}(key); }
    std::size_t operator()(const HashedKey& key) const noexcept { return key.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const HashedKey& a, std::string_view b) const noexcept { return a.view == b; }
    bool operator()(std::string_view a, const HashedKey& b) const noexcept { return a == b.view; }
  };
  static HashedKey hashed(std::string_view key) noexcept { return {key, StringHash{}(key)}; }
  // One cache line at least, so that loops hitting different shards never share one. The hit
  // counters live here, under the shard's lock: several worker loops counting hits in one atomic
  // would bounce its line between their cores on every hit.
  struct alignas(64) Shard {
    std::mutex mutex;
    std::uint64_t hits = 0;
    std::uint64_t hits_denial = 0;
    std::uint64_t misses = 0;
    Lru success;  // front = most recently used
    Lru denial;
    std::unordered_map<std::string_view, Lru::iterator, KeyHash, KeyEqual> index;
    std::unordered_set<std::string, StringHash, std::equal_to<>> pins;
  };

  Shard& shard_for(std::string_view key) const noexcept { return shard_for(hashed(key)); }
  // The hash's high half picks the shard; the index's buckets use it modulo their (prime) count.
  Shard& shard_for(const HashedKey& key) const noexcept {
    return *shards_[(key.hash >> 32) % shards_.size()];
  }
  // The shard's lock is held in these two. insert_locked: the new node, or nullopt when a
  // SERVFAIL may not replace the entry there. hit_locked: lookup() past the index search.
  std::optional<Lru::iterator> insert_locked(Shard& shard, const CacheKey& key, Entry&& entry,
                                             std::int64_t now);
  // insert_locked() once nothing is under the key any more.
  Lru::iterator add_locked(Shard& shard, const CacheKey& key, Entry&& entry, std::int64_t now);
  std::optional<Hit> hit_locked(Shard& shard, Lru::iterator node, std::int64_t now,
                                dns::MutableBytes out, StaleUse stale,
                                std::uint32_t stale_ttl) noexcept;
  bool is_usable(const Entry& entry, std::int64_t now, StaleUse stale) const noexcept;
  bool count_hit_for_prefetch(Node& node, std::int64_t now, std::uint32_t remaining) const noexcept;
  // Evicts unpinned entries from the cold end until `lru` is below `capacity` (or only pins
  // are left to pass over). The shard's lock is held.
  void evict_below(Shard& shard, Lru& lru, std::size_t capacity, bool success) noexcept;

  MemoryCacheOptions options_;
  const Clock& clock_;
  std::size_t success_per_shard_;
  std::size_t denial_per_shard_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> entries_success_{0};
  std::atomic<std::uint64_t> entries_denial_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> evictions_denial_{0};
};

}  // namespace holdfast::cache
