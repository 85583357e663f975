// The in-memory answer cache: sharded, capacity-bounded per kind (success / denial) with CLOCK
// (second-chance LRU) eviction, answering hits by copying the stored response into the caller's
// buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/string_hash.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/open_index.h"
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

  // Prefetching for a batch of lookups (a listener's recvmmsg batch): prefetch_slot() for every
  // key first, then prefetch_entry() for each, then the lookups. Their cache
  // misses (the index slot, then the entry it points at) then overlap instead of following one
  // another. Hints only: nothing is read but the run of slots, nothing changes or is counted.
  // prefetch_slot takes no lock; prefetch_entry tries the shard's lock and gives up when it is
  // taken (a worker loop's hit in that shard: the prefetch is not worth waiting for).
  void prefetch_slot(const CacheKey& key) const noexcept;
  void prefetch_entry(const CacheKey& key) const noexcept;

  // Stores an entry (kSuccess, kDenial or kServfail; others are ignored), replacing any entry
  // under the same key. A SERVFAIL never replaces a live or stale-servable answer.
  void insert(const CacheKey& key, const Entry& entry);

  // A memory miss the store answered: stores `entry` as insert() does, then answers from it as
  // lookup() would (same bytes, TTLs, stale rules and counters: an insert, then a hit or a
  // miss), under one lock and without searching the index again.
  std::optional<Hit> insert_and_lookup(const CacheKey& key, const Entry& entry,
                                       dns::MutableBytes out, StaleUse stale = StaleUse::kFreshOnly,
                                       std::uint32_t stale_ttl = 30);

  // Start-up promotion: stores (a copy of) `entry` only when nothing (fresh, stale or expired)
  // is cached under `key` yet, since what was answered after the start is newer than the store.
  // True when stored.
  bool insert_if_absent(const CacheKey& key, const Entry& entry);

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
  // One allocation per entry: this header, then the key, the TTL offsets (2 bytes each, FORMAT as
  // Entry::ttl_offsets) and the wire. A hit reads an index slot and then this one block, where it
  // used to follow an index node, a list node, the wire's vector and the offsets' vector: four
  // to five dependent cache misses with 10,000 names (bench/compare). Also ~100 bytes less per
  // entry than those five allocations (bench/persist).
  struct Node {
    Node* newer = nullptr;  // the kind's recency list (front = newest)
    Node* older = nullptr;
    std::uint64_t hash = 0;  // of the key: its index slot
    std::int64_t stored_at_seconds = 0;
    std::int64_t window_start_seconds = 0;  // prefetch: hits are counted per window
    std::uint32_t ttl_seconds = 0;
    std::uint32_t window_hits = 0;
    std::uint32_t wire_len = 0;
    std::uint16_t key_len = 0;
    std::uint16_t ttl_count = 0;
    std::uint16_t question_end = 0;
    std::uint8_t rcode = 0;
    EntryKind kind = EntryKind::kUncacheable;
    bool pinned = false;
    // Hit since it last passed the cold end (CLOCK's second chance): a hit sets this instead of
    // moving the node to the front, which wrote its neighbours and the list head on every hit
    // (three more cache lines, shared between worker loops).
    bool referenced = false;

    const char* key_data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    std::string_view key() const noexcept { return {key_data(), key_len}; }
    const std::uint8_t* offsets_data() const noexcept {
      return reinterpret_cast<const std::uint8_t*>(key_data() + key_len);
    }
    const std::uint8_t* wire_data() const noexcept {
      return offsets_data() + 2 * std::size_t{ttl_count};
    }
  };
  struct NodeFree {
    void operator()(Node* node) const noexcept;
  };
  using NodePtr = std::unique_ptr<Node, NodeFree>;
  // The node for `entry` under `key`: one allocation, everything copied in.
  static NodePtr make_node(std::string_view key, std::uint64_t hash, const Entry& entry,
                           std::int64_t now);
  static Entry to_entry(const Node& node);
  // Copies the wire to `out` and patches the TTLs as render_entry() does; 0 when `out` is small.
  static std::size_t render(const Node& node, std::uint32_t remaining_seconds,
                            const RenderOptions& options, dns::MutableBytes out) noexcept;

  // An intrusive recency list of one kind's nodes; it owns them.
  struct NodeList {
    Node* newest = nullptr;
    Node* oldest = nullptr;
    std::size_t size = 0;
    void push_front(Node* node) noexcept;
    void unlink(Node* node) noexcept;  // the caller then owns `node`
  };

  static std::uint64_t hash_of(std::string_view key) noexcept { return StringHash{}(key); }
  // One cache line at least, so that loops hitting different shards never share one. The hit
  // counters live here, under the shard's lock: several worker loops counting hits in one atomic
  // would bounce its line between their cores on every hit.
  struct alignas(64) Shard {
    Shard() = default;
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;
    ~Shard();
    std::mutex mutex;
    std::uint64_t hits = 0;
    std::uint64_t hits_denial = 0;
    std::uint64_t misses = 0;
    NodeList success;
    NodeList denial;
    OpenIndex<Node> index;
    std::unordered_set<std::string, StringHash, std::equal_to<>> pins;

    Node* find(std::string_view key, std::uint64_t hash) const noexcept {
      return index.find(hash, [key](const Node& node) { return node.key() == key; });
    }
    NodeList& list_of(const Node& node) noexcept {
      return node.kind == EntryKind::kSuccess ? success : denial;
    }
  };
  // The hash's high half picks the shard; the index's slots use its low bits.
  Shard& shard_for(std::uint64_t hash) const noexcept {
    return *shards_[(hash >> 32) % shards_.size()];
  }
  // The shard's lock is held in these. insert_locked: the new node, or null when a SERVFAIL may
  // not replace the entry there. hit_locked: lookup() past the index search.
  Node* insert_locked(Shard& shard, const CacheKey& key, std::uint64_t hash, const Entry& entry,
                      std::int64_t now);
  // insert_locked() once nothing is under the key any more.
  Node* add_locked(Shard& shard, const CacheKey& key, std::uint64_t hash, const Entry& entry,
                   std::int64_t now);
  // Takes `node` out of the index and its list and frees it, counting it as no longer cached.
  void remove_locked(Shard& shard, Node* node) noexcept;
  std::optional<Hit> hit_locked(Shard& shard, Node* node, std::int64_t now, dns::MutableBytes out,
                                StaleUse stale, std::uint32_t stale_ttl) noexcept;
  bool is_usable(std::int64_t stored_at, std::uint32_t ttl, EntryKind kind, std::int64_t now,
                 StaleUse stale) const noexcept;
  bool count_hit_for_prefetch(Node& node, std::int64_t now, std::uint32_t remaining) const noexcept;
  // Evicts unpinned entries from the cold end until `list` is below `capacity` (or only pins
  // are left to pass over). The shard's lock is held.
  void evict_below(Shard& shard, NodeList& list, std::size_t capacity, bool success) noexcept;

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
