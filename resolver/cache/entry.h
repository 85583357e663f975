// A cacheable answer: an upstream response reduced to what every client may receive, plus the
// rules (RFC 2308, CoreDNS cache) that decide whether and for how long it is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "config/config.h"
#include "dns/wire.h"

namespace holdfast::cache {

enum class EntryKind : std::uint8_t {
  kSuccess,   // NOERROR with answers
  kDenial,    // NXDOMAIN or NODATA, with an SOA (RFC 2308 §5)
  kServfail,  // kept briefly so a broken name does not hammer the upstream
  kUncacheable,
};

// TTL bounds for each kind, from the `cache` directive.
// Defaults: the Corefile's `cache` (config::CacheConfig), defined there once.
struct TtlPolicy {
  std::uint32_t success_min_ttl = config::CacheConfig{}.success_min_ttl;
  std::uint32_t success_max_ttl = config::CacheConfig{}.success_max_ttl;
  std::uint32_t denial_min_ttl = config::CacheConfig{}.denial_min_ttl;
  std::uint32_t denial_max_ttl = config::CacheConfig{}.denial_max_ttl;
  std::uint32_t servfail_ttl = config::CacheConfig{}.servfail_ttl;
};

// Owned copy of a response. `wire` has no OPT record (EDNS is hop-by-hop: each client gets its
// own), a zero ID, and the question as the upstream echoed it.
struct Entry {
  std::vector<std::uint8_t> wire;
  std::vector<std::uint16_t> ttl_offsets;  // FORMAT: every RR TTL field in `wire`
  std::uint16_t question_end = 0;
  std::int64_t stored_at_seconds = 0;  // wall clock
  std::uint32_t ttl_seconds = 0;       // lifetime from stored_at_seconds
  std::uint8_t rcode = 0;
  EntryKind kind = EntryKind::kUncacheable;
};

// Turns an upstream response (already validated against the question) into an Entry. nullopt
// when the bytes are malformed. kUncacheable entries can still be rendered to waiting clients.
std::optional<Entry> make_entry(dns::Bytes response, const TtlPolicy& policy,
                                std::int64_t now_seconds);

enum class TtlMode : std::uint8_t {
  kAged,   // every TTL = min(its own, time left)
  kKeep,   // `keepttl`: TTLs as the upstream sent them
  kFixed,  // every TTL = fixed_ttl (stale answers, RFC 8767 §4)
};

struct RenderOptions {
  TtlMode mode = TtlMode::kAged;
  std::uint32_t fixed_ttl = 30;
};

// Copies `entry.wire` to `out` and patches the TTLs in place; returns the length, 0 when `out`
// is too small. `remaining_seconds` is the entry's time left (>= 0).
std::size_t render_entry(const Entry& entry, std::uint32_t remaining_seconds,
                         const RenderOptions& options, dns::MutableBytes out) noexcept;
// The same for wire bytes and TTL offsets held elsewhere (the memory cache's own block): the
// offsets are `ttl_count` 2-byte values at any alignment, in the machine's byte order.
std::size_t render_wire(dns::Bytes wire, const std::uint8_t* ttl_offsets, std::size_t ttl_count,
                        std::uint32_t remaining_seconds, const RenderOptions& options,
                        dns::MutableBytes out) noexcept;

}  // namespace holdfast::cache
