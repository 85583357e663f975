// Prefetching a batch's cache lookups. A listener reads up to 64 queries with one recvmmsg; each
// cache hit then waits on two cache misses in turn (the index slot, then the entry it points at),
// and with 10,000 names they were ~40 % of the user time of a hit (perf, bench/README.md). Asked
// for the whole batch before its queries are handled, those misses overlap instead — and the key
// and zone read for it are the ones the query's lookup then uses.
#pragma once

#include <optional>
#include <span>

#include "cache/cache_key.h"
#include "dns/message.h"
#include "dns/wire.h"
#include "server/router.h"

namespace holdfast::server {

// What the prefetch read of one packet (dns::question_hint): its question, its key (with its
// hash) and the zone `by` routes the key to (null for none; `by` must not be null). Valid while
// the listener handles the batch, and only for the packet it was read from: matches() compares
// positions and bits, not the name's bytes.
struct LookupHint {
  LookupHint(dns::Bytes packet, const dns::QuestionHint& hint, const Router* by) noexcept
      : question(hint),
        key(packet, hint.question, {hint.do_bit, hint.cd_bit}),
        router(by),
        zone(by->route(key.name())) {}

  // True when parse_query found the same question and bits in the packet.
  bool matches(const dns::QueryView& query) const noexcept {
    const dns::Question& q = query.question;
    return question.question.name.offset == q.name.offset &&
           question.question.name.full_len == q.name.full_len &&
           question.question.qtype == q.qtype && question.question.qclass == q.qclass &&
           question.do_bit == (query.opt && query.opt->do_bit) &&
           question.cd_bit == query.header.cd();
  }

  dns::QuestionHint question;
  cache::CacheKey key;
  const Router* router;  // that routed the key
  Zone* zone;
};

// hints[i] gets packet i's LookupHint (nullopt when it is not a plain query, or `router` is null;
// one place per packet), and every hinted entry of a cache is prefetched: all the index slots
// first, then the entries they point at.
void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router,
                      std::span<std::optional<LookupHint>> hints) noexcept;

// The cache key and zone of a parsed query: the hint's when it read the same question and bits
// with the same router, otherwise built here and routed by `router` (null: no zone). Refers to
// the hint, so it is used while the hint lives.
class RoutedKey {
 public:
  RoutedKey(dns::Bytes packet, const dns::QueryView& query, const Router* router,
            const LookupHint* hint) noexcept;
  RoutedKey(const RoutedKey&) = delete;
  RoutedKey& operator=(const RoutedKey&) = delete;

  const cache::CacheKey& key() const noexcept { return *key_; }
  Zone* zone() const noexcept { return zone_; }

 private:
  std::optional<cache::CacheKey> built_;  // when there is no usable hint
  const cache::CacheKey* key_ = nullptr;
  Zone* zone_ = nullptr;
};

}  // namespace holdfast::server
