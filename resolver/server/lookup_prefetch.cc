// Prefetching a batch's cache lookups: a cheap look at each question, then two passes of hints.
#include "server/lookup_prefetch.h"

#include <array>
#include <cstdint>

#include "cache/memory_cache.h"
#include "dns/message.h"

namespace holdfast::server {
namespace {

constexpr std::size_t kMaxBatch = 64;

}  // namespace

std::optional<cache::CacheKey> key_hint(dns::Bytes packet) noexcept {
  // Every return is `key`, built in the caller's place (NRVO): a CacheKey is 260 bytes, and
  // copying it cost as much as building it.
  std::optional<cache::CacheKey> key;
  if (const std::optional<dns::QuestionHint> hint = dns::question_hint(packet)) {
    key.emplace(packet, hint->question, cache::KeyBits{hint->do_bit, hint->cd_bit});
  }
  return key;
}

void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router) noexcept {
  if (router == nullptr) return;
  struct Pending {
    const cache::MemoryCache* cache;
    std::uint64_t hash;
  };
  std::array<Pending, kMaxBatch> pending;
  std::size_t count = 0;
  for (const dns::Bytes packet : packets.first(std::min(packets.size(), kMaxBatch))) {
    const std::optional<cache::CacheKey> key = key_hint(packet);
    if (!key) continue;
    const Zone* zone = router->route(key->name());
    if (zone == nullptr || !zone->cache) continue;
    pending[count++] = {zone->cache.get(), zone->cache->prefetch_slot(*key)};
  }
  // By now the first slots have arrived: their entries next.
  for (std::size_t i = 0; i < count; ++i) pending[i].cache->prefetch_entry(pending[i].hash);
}

}  // namespace holdfast::server
