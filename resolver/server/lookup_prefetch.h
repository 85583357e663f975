// Prefetching a batch's cache lookups. A listener reads up to 64 queries with one recvmmsg; each
// cache hit then waits on two cache misses in turn (the index slot, then the entry it points at),
// and with 10,000 names they were ~40 % of the user time of a hit (perf, bench/README.md). Asked
// for the whole batch before its queries are handled, those misses overlap instead.
#pragma once

#include <optional>
#include <span>

#include "cache/cache_key.h"
#include "dns/wire.h"
#include "server/router.h"

namespace holdfast::server {

// The cache key of a plain query (dns::question_hint) — the key the query gets whenever
// parse_query accepts it; nullopt when the packet is not a plain query.
std::optional<cache::CacheKey> key_hint(dns::Bytes packet) noexcept;

// What the prefetch read of one packet: its question, key (with its hash) and zone. The pipeline
// uses the key and zone instead of building and routing them again when parse_query finds the
// same question and bits (matches()); valid while the listener handles the batch, and only for the
// packet it was read from (matches() compares positions and bits, not the name's bytes).
struct LookupHint {
  LookupHint(dns::Bytes packet, const dns::QuestionHint& hint, const Router* by) noexcept
      : question(hint), key(packet, hint.question, {hint.do_bit, hint.cd_bit}), router(by) {}

  dns::QuestionHint question;
  cache::CacheKey key;
  const Router* router = nullptr;  // that routed the key
  Zone* zone = nullptr;            // the router's zone for the key, null for none

  bool matches(const dns::Question& q, bool do_bit, bool cd_bit) const noexcept {
    return question.question.name.offset == q.name.offset &&
           question.question.name.full_len == q.name.full_len &&
           question.question.qtype == q.qtype && question.question.qclass == q.qclass &&
           question.do_bit == do_bit && question.cd_bit == cd_bit;
  }
};

// For every packet's key_hint, routed by `router`: the index slot first, then the entry.
// hints[i] (when hints is not empty; as many as packets) gets packet i's LookupHint or nullopt.
void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router,
                      std::span<std::optional<LookupHint>> hints = {}) noexcept;

}  // namespace holdfast::server
