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

void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router,
                      std::span<std::optional<LookupHint>> hints) noexcept {
  struct Pending {
    const cache::MemoryCache* cache;
    std::uint64_t hash;
  };
  std::array<Pending, kMaxBatch> pending;
  std::size_t count = 0;
  packets = packets.first(std::min(packets.size(), kMaxBatch));
  for (std::size_t i = 0; i < packets.size(); ++i) {
    std::optional<LookupHint>* hint = i < hints.size() ? &hints[i] : nullptr;
    if (hint != nullptr) hint->reset();
    if (router == nullptr) continue;
    const std::optional<dns::QuestionHint> question = dns::question_hint(packets[i]);
    if (!question) continue;
    // Built in place: a key is 270 bytes.
    std::optional<cache::CacheKey> own;
    const cache::CacheKey* key = nullptr;
    const cache::KeyBits bits{question->do_bit, question->cd_bit};
    if (hint != nullptr) {
      key = &hint->emplace(packets[i], *question, router).key;
    } else {
      key = &own.emplace(packets[i], question->question, bits);
    }
    Zone* zone = router->route(key->name());
    if (hint != nullptr) (*hint)->zone = zone;
    if (zone == nullptr || !zone->cache) continue;
    zone->cache->prefetch_slot(*key);
    pending[count++] = {zone->cache.get(), key->hash()};
  }
  // By now the first slots have arrived: their entries next.
  for (std::size_t i = 0; i < count; ++i) pending[i].cache->prefetch_entry(pending[i].hash);
}

}  // namespace holdfast::server
