// Prefetching a batch's cache lookups: a cheap look at each question, then two passes of hints.
#include "server/lookup_prefetch.h"

#include <algorithm>

#include "cache/memory_cache.h"

namespace holdfast::server {

void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router,
                      std::span<std::optional<LookupHint>> hints) noexcept {
  const std::size_t count = std::min(packets.size(), hints.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::optional<LookupHint>& hint = hints[i];
    hint.reset();
    if (router == nullptr) continue;
    const std::optional<dns::QuestionHint> question = dns::question_hint(packets[i]);
    if (!question) continue;
    hint.emplace(packets[i], *question, router);  // in place: a key is 270 bytes
    if (hint->zone != nullptr && hint->zone->cache) hint->zone->cache->prefetch_slot(hint->key);
  }
  // By now the first slots have arrived: their entries next.
  for (std::size_t i = 0; i < count; ++i) {
    const std::optional<LookupHint>& hint = hints[i];
    if (hint && hint->zone != nullptr && hint->zone->cache) {
      hint->zone->cache->prefetch_entry(hint->key);
    }
  }
}

RoutedKey::RoutedKey(dns::Bytes packet, const dns::QueryView& query, const Router* router,
                     const LookupHint* hint) noexcept {
  if (hint != nullptr && hint->router == router && hint->matches(query)) {
    key_ = &hint->key;
    zone_ = hint->zone;
    return;
  }
  key_ = &built_.emplace(packet, query);
  zone_ = router != nullptr ? router->route(key_->name()) : nullptr;
}

}  // namespace holdfast::server
