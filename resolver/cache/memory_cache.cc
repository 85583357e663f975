// Sharded LRU memory cache of whole wire responses.
#include "cache/memory_cache.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>

namespace holdfast::cache {
namespace {

std::size_t per_shard(std::size_t capacity, std::size_t shards) {
  return std::max<std::size_t>(1, (capacity + shards - 1) / shards);
}

}  // namespace

void MemoryCache::NodeFree::operator()(Node* node) const noexcept {
  ::operator delete(node);
}

MemoryCache::NodePtr MemoryCache::make_node(std::string_view key, std::uint64_t hash,
                                            const Entry& entry, std::int64_t now) {
  static_assert(sizeof(Node) == 64, "one cache line of header, no padding");
  static_assert(std::is_trivially_destructible_v<Node>, "freed without a destructor");
  const std::size_t offsets_bytes = 2 * entry.ttl_offsets.size();
  void* block = ::operator new(sizeof(Node) + key.size() + offsets_bytes + entry.wire.size());
  NodePtr node(new (block) Node);
  node->hash = hash;
  node->stored_at_seconds = entry.stored_at_seconds;
  node->window_start_seconds = now;
  node->ttl_seconds = entry.ttl_seconds;
  node->wire_len = static_cast<std::uint32_t>(entry.wire.size());
  node->key_len = static_cast<std::uint16_t>(key.size());
  node->ttl_count = static_cast<std::uint16_t>(entry.ttl_offsets.size());
  node->question_end = entry.question_end;
  node->rcode = entry.rcode;
  node->kind = entry.kind;
  auto* bytes = reinterpret_cast<std::uint8_t*>(node.get() + 1);
  std::memcpy(bytes, key.data(), key.size());
  if (offsets_bytes > 0) std::memcpy(bytes + key.size(), entry.ttl_offsets.data(), offsets_bytes);
  if (!entry.wire.empty()) {
    std::memcpy(bytes + key.size() + offsets_bytes, entry.wire.data(), entry.wire.size());
  }
  return node;
}

Entry MemoryCache::to_entry(const Node& node) {
  Entry entry;
  entry.wire.assign(node.wire_data(), node.wire_data() + node.wire_len);
  entry.ttl_offsets.resize(node.ttl_count);
  if (node.ttl_count > 0)
    std::memcpy(entry.ttl_offsets.data(), node.offsets_data(), 2 * std::size_t{node.ttl_count});
  entry.question_end = node.question_end;
  entry.stored_at_seconds = node.stored_at_seconds;
  entry.ttl_seconds = node.ttl_seconds;
  entry.rcode = node.rcode;
  entry.kind = node.kind;
  return entry;
}

std::size_t MemoryCache::render(const Node& node, std::uint32_t remaining_seconds,
                                const RenderOptions& options, dns::MutableBytes out) noexcept {
  return render_wire(dns::Bytes(node.wire_data(), node.wire_len), node.offsets_data(),
                     node.ttl_count, remaining_seconds, options, out);
}

void MemoryCache::NodeList::push_front(Node* node) noexcept {
  node->newer = nullptr;
  node->older = newest;
  if (newest != nullptr) newest->newer = node;
  newest = node;
  if (oldest == nullptr) oldest = node;
  ++size;
}

void MemoryCache::NodeList::unlink(Node* node) noexcept {
  (node->newer != nullptr ? node->newer->older : newest) = node->older;
  (node->older != nullptr ? node->older->newer : oldest) = node->newer;
  node->newer = node->older = nullptr;
  --size;
}

MemoryCache::Shard::~Shard() {
  for (NodeList* list : {&success, &denial}) {
    while (list->oldest != nullptr) {
      Node* node = list->oldest;
      list->unlink(node);
      NodeFree{}(node);
    }
  }
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

bool MemoryCache::is_usable(std::int64_t stored_at, std::uint32_t ttl, EntryKind kind,
                            std::int64_t now, StaleUse stale) const noexcept {
  const std::int64_t expires = stored_at + ttl;
  if (now < expires) return true;
  // SERVFAIL is never served stale: it is not data.
  return stale == StaleUse::kAllowStale && kind != EntryKind::kServfail &&
         now < expires + static_cast<std::int64_t>(options_.max_stale_seconds);
}

std::optional<Hit> MemoryCache::lookup(const CacheKey& key, dns::MutableBytes out, StaleUse stale,
                                       std::uint32_t stale_ttl) noexcept {
  const std::int64_t now = clock_.wall_seconds();
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  Node* node = shard.find(key.view(), hash);
  if (node == nullptr) {
    ++shard.misses;
    return std::nullopt;
  }
  return hit_locked(shard, node, now, out, stale, stale_ttl);
}

std::optional<Hit> MemoryCache::lookup_fresh(const CacheKey& key, dns::MutableBytes out) noexcept {
  const std::int64_t now = clock_.wall_seconds();
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  Node* node = shard.find(key.view(), hash);
  if (node == nullptr) return std::nullopt;
  // Fresh by the rule of hit_locked(), where a clock behind the entry's time is never fresh; a
  // cached SERVFAIL is the owner's to answer (it counts and logs errors).
  if (node->kind == EntryKind::kServfail || now < node->stored_at_seconds ||
      now - node->stored_at_seconds >= static_cast<std::int64_t>(node->ttl_seconds)) {
    return std::nullopt;
  }
  return hit_locked(shard, node, now, out, StaleUse::kFreshOnly, 0);
}

void MemoryCache::prefetch_slot(const CacheKey& key) const noexcept {
  const std::uint64_t hash = key.hash();
  __builtin_prefetch(shard_for(hash).index.home_address(hash));
}

void MemoryCache::prefetch_entry(const CacheKey& key) const noexcept {
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::unique_lock lock(shard.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return;
  // The header, the key and the start of the wire: what lookup() and render read.
  shard.index.prefetch_nodes(hash, 3);
}

std::optional<Hit> MemoryCache::hit_locked(Shard& shard, Node* node, std::int64_t now,
                                           dns::MutableBytes out, StaleUse stale,
                                           std::uint32_t stale_ttl) noexcept {
  // A clock that jumped backwards must not make an entry look fresh for longer than its TTL:
  // such an entry counts as just expired (servable stale only) until a new answer replaces it.
  const std::int64_t effective_now =
      now >= node->stored_at_seconds ? now : node->stored_at_seconds + node->ttl_seconds;
  // A pinned entry past its stale window is still served stale (never "expires").
  const bool usable =
      is_usable(node->stored_at_seconds, node->ttl_seconds, node->kind, effective_now, stale) ||
      (node->pinned && stale == StaleUse::kAllowStale && node->kind != EntryKind::kServfail);
  if (!usable) {
    ++shard.misses;
    if (!node->pinned && !is_usable(node->stored_at_seconds, node->ttl_seconds, node->kind,
                                    effective_now, StaleUse::kAllowStale)) {
      // Past its stale window too: nobody may be served it any more, so free it now.
      remove_locked(shard, node);
    }
    return std::nullopt;
  }
  const std::int64_t age = effective_now - node->stored_at_seconds;
  Hit hit;
  hit.stale = age >= static_cast<std::int64_t>(node->ttl_seconds);
  hit.remaining_seconds = hit.stale ? 0 : static_cast<std::uint32_t>(node->ttl_seconds - age);
  hit.age_seconds = static_cast<std::uint32_t>(std::max<std::int64_t>(0, age));
  hit.stale_seconds = hit.stale ? static_cast<std::uint32_t>(age - node->ttl_seconds) : 0;
  RenderOptions options;
  if (hit.stale) {
    options.mode = TtlMode::kFixed;
    options.fixed_ttl = stale_ttl;
  } else if (options_.keep_ttl) {
    options.mode = TtlMode::kKeep;
  }
  hit.wire_len = render(*node, hit.remaining_seconds, options, out);
  if (hit.wire_len == 0) return std::nullopt;
  hit.question_end = node->question_end;
  hit.rcode = node->rcode;
  hit.kind = node->kind;
  if (!hit.stale) hit.prefetch_due = count_hit_for_prefetch(*node, now, hit.remaining_seconds);
  if (!node->referenced) node->referenced = true;  // written once: read-mostly for the other loops
  ++shard.hits;
  if (node->kind != EntryKind::kSuccess) ++shard.hits_denial;
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
  const std::uint64_t ttl = node.ttl_seconds;
  const bool popular = node.window_hits >= options_.prefetch_amount;
  const bool expiring = std::uint64_t{remaining} * 100 <= ttl * options_.prefetch_percent;
  if (!popular || !expiring) return false;
  node.window_hits = 0;  // one refresh per window; the flight table dedups the rest
  return true;
}

void MemoryCache::insert(const CacheKey& key, const Entry& entry) {
  if (entry.kind == EntryKind::kUncacheable) return;
  const std::int64_t now = clock_.wall_seconds();
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  insert_locked(shard, key, hash, entry, now);
}

std::optional<Hit> MemoryCache::insert_and_lookup(const CacheKey& key, const Entry& entry,
                                                  dns::MutableBytes out, StaleUse stale,
                                                  std::uint32_t stale_ttl) {
  const std::int64_t now = clock_.wall_seconds();
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  Node* node = nullptr;
  if (entry.kind != EntryKind::kUncacheable) node = insert_locked(shard, key, hash, entry, now);
  if (node == nullptr) {  // nothing stored: answer from whatever the key already has, as lookup()
    node = shard.find(key.view(), hash);
    if (node == nullptr) {
      ++shard.misses;
      return std::nullopt;
    }
  }
  return hit_locked(shard, node, now, out, stale, stale_ttl);
}

bool MemoryCache::insert_if_absent(const CacheKey& key, const Entry& entry) {
  if (entry.kind == EntryKind::kUncacheable) return false;
  const std::int64_t now = clock_.wall_seconds();
  const std::uint64_t hash = key.hash();
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  if (shard.find(key.view(), hash) != nullptr) return false;
  add_locked(shard, key, hash, entry, now);
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

MemoryCache::Node* MemoryCache::insert_locked(Shard& shard, const CacheKey& key, std::uint64_t hash,
                                              const Entry& entry, std::int64_t now) {
  if (Node* old = shard.find(key.view(), hash); old != nullptr) {
    if (entry.kind == EntryKind::kServfail && old->kind != EntryKind::kServfail &&
        is_usable(old->stored_at_seconds, old->ttl_seconds, old->kind, now,
                  StaleUse::kAllowStale)) {
      return nullptr;  // RFC 8767 §4: an error never replaces data that can still be served
    }
    remove_locked(shard, old);
  }
  return add_locked(shard, key, hash, entry, now);
}

MemoryCache::Node* MemoryCache::add_locked(Shard& shard, const CacheKey& key, std::uint64_t hash,
                                           const Entry& entry, std::int64_t now) {
  const bool success = entry.kind == EntryKind::kSuccess;
  NodeList& list = success ? shard.success : shard.denial;
  const std::size_t capacity = success ? success_per_shard_ : denial_per_shard_;
  evict_below(shard, list, capacity, success);
  NodePtr node = make_node(key.view(), hash, entry, now);
  node->pinned = !shard.pins.empty() && shard.pins.find(key.view()) != shard.pins.end();
  shard.index.insert(hash, node.get());  // may throw (grow): the node is freed then
  list.push_front(node.release());
  (success ? entries_success_ : entries_denial_).fetch_add(1, std::memory_order_relaxed);
  inserts_.fetch_add(1, std::memory_order_relaxed);
  return list.newest;
}

void MemoryCache::remove_locked(Shard& shard, Node* node) noexcept {
  const bool success = node->kind == EntryKind::kSuccess;
  (success ? entries_success_ : entries_denial_).fetch_sub(1, std::memory_order_relaxed);
  shard.index.erase(node->hash, node);
  shard.list_of(*node).unlink(node);
  NodeFree{}(node);
}

void MemoryCache::evict_below(Shard& shard, NodeList& list, std::size_t capacity,
                              bool success) noexcept {
  // Evict from the cold end, passing over pinned entries (a shard of only pins may outgrow its
  // share: pins are a handful of names by design) and giving an entry hit since it was last here
  // a second chance at the front (CLOCK, an approximation of LRU without a write per hit).
  std::size_t passed = 0;
  std::size_t second_chances = 0;
  while (list.size >= capacity && passed < list.size) {
    Node* cold = list.oldest;
    if (cold->pinned) {
      list.unlink(cold);
      list.push_front(cold);
      ++passed;
      continue;
    }
    if (cold->referenced && second_chances < list.size) {
      cold->referenced = false;
      list.unlink(cold);
      list.push_front(cold);
      ++second_chances;
      continue;
    }
    remove_locked(shard, cold);
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
  const std::uint64_t hash = hash_of(key);
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  const Node* node = shard.find(key, hash);
  if (node == nullptr) return std::nullopt;
  return to_entry(*node);
}

void MemoryCache::for_each(
    const std::function<void(std::string_view, const Entry&, bool)>& visit) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (const NodeList* list : {&shard->success, &shard->denial}) {
      for (const Node* node = list->newest; node != nullptr; node = node->older) {
        visit(node->key(), to_entry(*node), node->pinned);
      }
    }
  }
}

std::size_t MemoryCache::erase_if(const std::function<bool(std::string_view)>& match) {
  std::size_t erased = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (NodeList* list : {&shard->success, &shard->denial}) {
      for (Node* node = list->newest; node != nullptr;) {
        Node* older = node->older;
        if (match(node->key())) {
          remove_locked(*shard, node);
          ++erased;
        }
        node = older;
      }
    }
  }
  return erased;
}

void MemoryCache::set_pinned(std::string_view key, bool pinned) {
  const std::uint64_t hash = hash_of(key);
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  if (pinned) {
    shard.pins.emplace(key);
  } else if (auto pin = shard.pins.find(key); pin != shard.pins.end()) {
    shard.pins.erase(pin);
  }
  if (Node* node = shard.find(key, hash); node != nullptr) node->pinned = pinned;
}

bool MemoryCache::pinned(std::string_view key) const {
  Shard& shard = shard_for(hash_of(key));
  std::lock_guard lock(shard.mutex);
  return shard.pins.find(key) != shard.pins.end();
}

std::size_t MemoryCache::size() const noexcept {
  return entries_success_.load(std::memory_order_relaxed) +
         entries_denial_.load(std::memory_order_relaxed);
}

}  // namespace holdfast::cache
