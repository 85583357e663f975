// Sharded LRU memory cache of whole wire responses.
#include "cache/memory_cache.h"

#include <algorithm>
#include <cstring>

namespace holdfast::cache {
namespace {

std::size_t per_shard(std::size_t capacity, std::size_t shards) {
  return std::max<std::size_t>(1, (capacity + shards - 1) / shards);
}

}  // namespace

MemoryCache::NodeKey::NodeKey(std::string_view key)
    : size_(static_cast<std::uint16_t>(key.size())) {
  static_assert(sizeof(NodeKey) == 48, "the inline bytes and the size, no padding");
  if (!on_heap()) {
    std::memcpy(bytes_, key.data(), key.size());
    return;
  }
  char* heap = new char[key.size()];
  std::memcpy(heap, key.data(), key.size());
  std::memcpy(bytes_, &heap, sizeof heap);
}

MemoryCache::NodeKey::NodeKey(NodeKey&& other) noexcept : size_(other.size_) {
  std::memcpy(bytes_, other.bytes_, on_heap() ? sizeof(char*) : size_);
  other.size_ = 0;  // a heap key now belongs to this one
}

MemoryCache::NodeKey::~NodeKey() {
  if (on_heap()) delete[] const_cast<char*>(data());
}

const char* MemoryCache::NodeKey::data() const noexcept {
  if (!on_heap()) return bytes_;
  char* heap = nullptr;
  std::memcpy(&heap, bytes_, sizeof heap);
  return heap;
}

MemoryCache::MemoryCache(const MemoryCacheOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      success_per_shard_(
          per_shard(options.success_capacity, std::max<std::size_t>(1, options.shards))),
      denial_per_shard_(
          per_shard(options.denial_capacity, std::max<std::size_t>(1, options.shards))) {
  const std::size_t shards = std::max<std::size_t>(1, options.shards);
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

bool MemoryCache::is_usable(const Entry& entry, std::int64_t now, StaleUse stale) const noexcept {
  const std::int64_t expires = entry.stored_at_seconds + entry.ttl_seconds;
  if (now < expires) return true;
  // SERVFAIL is never served stale: it is not data.
  return stale == StaleUse::kAllowStale && entry.kind != EntryKind::kServfail &&
         now < expires + static_cast<std::int64_t>(options_.max_stale_seconds);
}

std::optional<Hit> MemoryCache::lookup(const CacheKey& key, dns::MutableBytes out, StaleUse stale,
                                       std::uint32_t stale_ttl) noexcept {
  const std::int64_t now = clock_.wall_seconds();
  const HashedKey hashed_key = hashed(key.view());
  Shard& shard = shard_for(hashed_key);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(hashed_key);
  if (found == shard.index.end()) {
    ++shard.misses;
    return std::nullopt;
  }
  return hit_locked(shard, found->second, now, out, stale, stale_ttl);
}

std::optional<Hit> MemoryCache::lookup_fresh(const CacheKey& key, dns::MutableBytes out) noexcept {
  const std::int64_t now = clock_.wall_seconds();
  const HashedKey hashed_key = hashed(key.view());
  Shard& shard = shard_for(hashed_key);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(hashed_key);
  if (found == shard.index.end()) return std::nullopt;
  const Entry& entry = found->second->entry;
  // Fresh by the rule of hit_locked(), where a clock behind the entry's time is never fresh; a
  // cached SERVFAIL is the owner's to answer (it counts and logs errors).
  if (entry.kind == EntryKind::kServfail || now < entry.stored_at_seconds ||
      now - entry.stored_at_seconds >= static_cast<std::int64_t>(entry.ttl_seconds)) {
    return std::nullopt;
  }
  return hit_locked(shard, found->second, now, out, StaleUse::kFreshOnly, 0);
}

std::optional<Hit> MemoryCache::hit_locked(Shard& shard, Lru::iterator node, std::int64_t now,
                                           dns::MutableBytes out, StaleUse stale,
                                           std::uint32_t stale_ttl) noexcept {
  const Entry& entry = node->entry;
  // A clock that jumped backwards must not make an entry look fresh for longer than its TTL:
  // such an entry counts as just expired (servable stale only) until a new answer replaces it.
  const std::int64_t effective_now =
      now >= entry.stored_at_seconds ? now : entry.stored_at_seconds + entry.ttl_seconds;
  // A pinned entry past its stale window is still served stale (never "expires").
  const bool usable =
      is_usable(entry, effective_now, stale) ||
      (node->pinned && stale == StaleUse::kAllowStale && entry.kind != EntryKind::kServfail);
  if (!usable) {
    ++shard.misses;
    if (!node->pinned && !is_usable(entry, effective_now, StaleUse::kAllowStale)) {
      // Past its stale window too: nobody may be served it any more, so free it now.
      const bool success = entry.kind == EntryKind::kSuccess;
      (success ? entries_success_ : entries_denial_).fetch_sub(1, std::memory_order_relaxed);
      shard.index.erase(node->key.view());  // first: the index's key is a view of the node's
      (success ? shard.success : shard.denial).erase(node);
    }
    return std::nullopt;
  }
  const std::int64_t age = effective_now - entry.stored_at_seconds;
  Hit hit;
  hit.stale = age >= static_cast<std::int64_t>(entry.ttl_seconds);
  hit.remaining_seconds = hit.stale ? 0 : static_cast<std::uint32_t>(entry.ttl_seconds - age);
  hit.age_seconds = static_cast<std::uint32_t>(std::max<std::int64_t>(0, age));
  hit.stale_seconds = hit.stale ? static_cast<std::uint32_t>(age - entry.ttl_seconds) : 0;
  RenderOptions render;
  if (hit.stale) {
    render.mode = TtlMode::kFixed;
    render.fixed_ttl = stale_ttl;
  } else if (options_.keep_ttl) {
    render.mode = TtlMode::kKeep;
  }
  hit.wire_len = render_entry(entry, hit.remaining_seconds, render, out);
  if (hit.wire_len == 0) return std::nullopt;
  hit.question_end = entry.question_end;
  hit.rcode = entry.rcode;
  hit.kind = entry.kind;
  if (!hit.stale) hit.prefetch_due = count_hit_for_prefetch(*node, now, hit.remaining_seconds);
  if (!node->referenced) node->referenced = true;  // written once: read-mostly for the other loops
  ++shard.hits;
  if (entry.kind != EntryKind::kSuccess) ++shard.hits_denial;
  return hit;
}

bool MemoryCache::count_hit_for_prefetch(Node& node, std::int64_t now,
                                         std::uint32_t remaining) const noexcept {
  if (!options_.prefetch) return false;
  if (now - node.window_start_seconds >= options_.prefetch_window_seconds) {
    node.window_start_seconds = now;
    node.window_hits = 0;
  }
  ++node.window_hits;
  const std::uint64_t ttl = node.entry.ttl_seconds;
  const bool popular = node.window_hits >= options_.prefetch_amount;
  const bool expiring = std::uint64_t{remaining} * 100 <= ttl * options_.prefetch_percent;
  if (!popular || !expiring) return false;
  node.window_hits = 0;  // one refresh per window; the flight table dedups the rest
  return true;
}

void MemoryCache::insert(const CacheKey& key, Entry entry) {
  if (entry.kind == EntryKind::kUncacheable) return;
  const std::int64_t now = clock_.wall_seconds();
  Shard& shard = shard_for(key.view());
  std::lock_guard lock(shard.mutex);
  insert_locked(shard, key, std::move(entry), now);
}

std::optional<Hit> MemoryCache::insert_and_lookup(const CacheKey& key, Entry entry,
                                                  dns::MutableBytes out, StaleUse stale,
                                                  std::uint32_t stale_ttl) {
  const std::int64_t now = clock_.wall_seconds();
  Shard& shard = shard_for(key.view());
  std::lock_guard lock(shard.mutex);
  std::optional<Lru::iterator> node;
  if (entry.kind != EntryKind::kUncacheable)
    node = insert_locked(shard, key, std::move(entry), now);
  if (!node) {  // nothing stored: answer from whatever the key already has, as lookup() would
    auto found = shard.index.find(key.view());
    if (found == shard.index.end()) {
      ++shard.misses;
      return std::nullopt;
    }
    node = found->second;
  }
  return hit_locked(shard, *node, now, out, stale, stale_ttl);
}

bool MemoryCache::insert_if_absent(const CacheKey& key, Entry& entry) {
  if (entry.kind == EntryKind::kUncacheable) return false;
  const std::int64_t now = clock_.wall_seconds();
  Shard& shard = shard_for(key.view());
  std::lock_guard lock(shard.mutex);
  if (shard.index.find(key.view()) != shard.index.end()) return false;
  add_locked(shard, key, std::move(entry), now);
  return true;
}

void MemoryCache::reserve(std::size_t entries) {
  // Names spread over the shards by hash, not exactly evenly: an eighth more than the mean.
  const std::size_t mean = entries / shards_.size() + 1;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    const std::size_t capacity = success_per_shard_ + denial_per_shard_;
    shard->index.reserve(std::min(mean + mean / 8, capacity));
  }
}

std::optional<MemoryCache::Lru::iterator> MemoryCache::insert_locked(Shard& shard,
                                                                     const CacheKey& key,
                                                                     Entry&& entry,
                                                                     std::int64_t now) {
  auto found = shard.index.find(key.view());
  if (found != shard.index.end()) {
    const Entry& old = found->second->entry;
    if (entry.kind == EntryKind::kServfail && old.kind != EntryKind::kServfail &&
        is_usable(old, now, StaleUse::kAllowStale)) {
      return std::nullopt;  // RFC 8767 §4: an error never replaces data that can still be served
    }
    Lru& old_lru = old.kind == EntryKind::kSuccess ? shard.success : shard.denial;
    (old.kind == EntryKind::kSuccess ? entries_success_ : entries_denial_)
        .fetch_sub(1, std::memory_order_relaxed);
    const Lru::iterator old_node = found->second;
    shard.index.erase(found);  // first: the index's key is a view of the node's
    old_lru.erase(old_node);
  }
  return add_locked(shard, key, std::move(entry), now);
}

MemoryCache::Lru::iterator MemoryCache::add_locked(Shard& shard, const CacheKey& key, Entry&& entry,
                                                   std::int64_t now) {
  const bool success = entry.kind == EntryKind::kSuccess;
  Lru& lru = success ? shard.success : shard.denial;
  const std::size_t capacity = success ? success_per_shard_ : denial_per_shard_;
  evict_below(shard, lru, capacity, success);
  const bool pinned = !shard.pins.empty() && shard.pins.find(key.view()) != shard.pins.end();
  lru.push_front(Node{NodeKey(key.view()), std::move(entry), now, 0, pinned});
  shard.index.emplace(lru.front().key.view(), lru.begin());
  (success ? entries_success_ : entries_denial_).fetch_add(1, std::memory_order_relaxed);
  inserts_.fetch_add(1, std::memory_order_relaxed);
  return lru.begin();
}

void MemoryCache::evict_below(Shard& shard, Lru& lru, std::size_t capacity, bool success) noexcept {
  // Evict from the cold end, passing over pinned entries (a shard of only pins may outgrow its
  // share: pins are a handful of names by design) and giving an entry hit since it was last here
  // a second chance at the front (CLOCK, an approximation of LRU without a write per hit).
  std::size_t passed = 0;
  std::size_t second_chances = 0;
  while (lru.size() >= capacity && passed < lru.size()) {
    Node& cold = lru.back();
    if (cold.pinned) {
      lru.splice(lru.begin(), lru, std::prev(lru.end()));
      ++passed;
      continue;
    }
    if (cold.referenced && second_chances < lru.size()) {
      cold.referenced = false;
      lru.splice(lru.begin(), lru, std::prev(lru.end()));
      ++second_chances;
      continue;
    }
    shard.index.erase(lru.back().key.view());
    lru.pop_back();
    (success ? entries_success_ : entries_denial_).fetch_sub(1, std::memory_order_relaxed);
    evictions_.fetch_add(1, std::memory_order_relaxed);
    if (!success) evictions_denial_.fetch_add(1, std::memory_order_relaxed);
  }
}

void MemoryCache::reconfigure(const MemoryCacheOptions& options) {
  // Every shard locked (in order) so no lookup sees half of the new settings.
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shards_.size());
  for (auto& shard : shards_) locks.emplace_back(shard->mutex);
  const std::size_t shards = shards_.size();
  MemoryCacheOptions next = options;
  next.shards = shards;
  options_ = next;
  success_per_shard_ = per_shard(options.success_capacity, shards);
  denial_per_shard_ = per_shard(options.denial_capacity, shards);
  for (auto& shard : shards_) {
    // Below capacity + 1: what insert() leaves after making room for one more.
    evict_below(*shard, shard->success, success_per_shard_ + 1, true);
    evict_below(*shard, shard->denial, denial_per_shard_ + 1, false);
  }
}

CacheCounters MemoryCache::counters() const noexcept {
  CacheCounters c;
  c.entries_success = entries_success_.load(std::memory_order_relaxed);
  c.entries_denial = entries_denial_.load(std::memory_order_relaxed);
  c.inserts = inserts_.load(std::memory_order_relaxed);
  c.evictions = evictions_.load(std::memory_order_relaxed);
  c.evictions_denial = evictions_denial_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    c.hits += shard->hits;
    c.hits_denial += shard->hits_denial;
    c.misses += shard->misses;
  }
  return c;
}

std::optional<Entry> MemoryCache::peek(std::string_view key) const {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  auto found = shard.index.find(key);
  if (found == shard.index.end()) return std::nullopt;
  return found->second->entry;
}

void MemoryCache::for_each(
    const std::function<void(std::string_view, const Entry&, bool)>& visit) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (const Lru* lru : {&shard->success, &shard->denial}) {
      for (const Node& node : *lru) visit(node.key.view(), node.entry, node.pinned);
    }
  }
}

std::size_t MemoryCache::erase_if(const std::function<bool(std::string_view)>& match) {
  std::size_t erased = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (Lru* lru : {&shard->success, &shard->denial}) {
      for (auto node = lru->begin(); node != lru->end();) {
        if (!match(node->key.view())) {
          ++node;
          continue;
        }
        const bool success = node->entry.kind == EntryKind::kSuccess;
        (success ? entries_success_ : entries_denial_).fetch_sub(1, std::memory_order_relaxed);
        shard->index.erase(node->key.view());
        node = lru->erase(node);
        ++erased;
      }
    }
  }
  return erased;
}

void MemoryCache::set_pinned(std::string_view key, bool pinned) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  if (pinned) {
    shard.pins.emplace(key);
  } else if (auto pin = shard.pins.find(key); pin != shard.pins.end()) {
    shard.pins.erase(pin);
  }
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    found->second->pinned = pinned;
  }
}

bool MemoryCache::pinned(std::string_view key) const {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  return shard.pins.find(key) != shard.pins.end();
}

std::size_t MemoryCache::size() const noexcept {
  return entries_success_.load(std::memory_order_relaxed) +
         entries_denial_.load(std::memory_order_relaxed);
}

}  // namespace holdfast::cache
