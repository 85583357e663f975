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

// For every packet's key_hint, routed by `router`: the index slot first, then the entry.
void prefetch_lookups(std::span<const dns::Bytes> packets, const Router* router) noexcept;

}  // namespace holdfast::server
