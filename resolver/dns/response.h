// Summaries of upstream responses that the cache needs: TTL positions, minimum TTLs, SOA, OPT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/message.h"

namespace holdfast::dns {

inline constexpr std::size_t kMaxTtlOffsets = 512;

// RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
inline constexpr std::uint32_t effective_ttl(std::uint32_t wire_ttl) noexcept {
  return wire_ttl > 0x7fff'ffffu ? 0 : wire_ttl;
}

struct ResponseInfo {
  Header header;
  Question question;
  std::optional<Opt> opt;
  // Smallest TTL over answer + authority records, ignoring OPT; nullopt if there are none.
  std::optional<std::uint32_t> min_ttl;
  // The SOA in the authority section (negative caching, RFC 2308 §5): its TTL and MINIMUM.
  std::optional<std::uint32_t> soa_ttl;
  std::optional<std::uint32_t> soa_minimum;
  std::uint16_t answer_count_of_qtype = 0;  // answer RRs whose type == question type or CNAME
  std::size_t record_count = 0;
};

// Parses a response (QR=1, QDCOUNT=1) fully, calling `ttl_offset(std::size_t)` for the TTL field
// of every record except OPT, in packet order. nullopt when malformed. Does not allocate.
template <class OnTtl>
std::optional<ResponseInfo> parse_response(Bytes packet, OnTtl&& ttl_offset) noexcept;

namespace detail {
std::optional<ResponseInfo> parse_response_head(Bytes packet, std::size_t& after_question) noexcept;
std::optional<std::uint32_t> read_soa_minimum(Bytes packet, const Record& soa) noexcept;
}  // namespace detail

template <class OnTtl>
std::optional<ResponseInfo> parse_response(Bytes packet, OnTtl&& ttl_offset) noexcept {
  std::size_t offset = 0;
  auto info = detail::parse_response_head(packet, offset);
  if (!info) return std::nullopt;
  bool ok = true;
  int opt_count = 0;
  bool walked = walk_records(packet, info->header, offset, [&](const Record& r) {
    ++info->record_count;
    if (r.type == qtype::kOpt) {
      if (r.section != Section::kAdditional || r.owner.full_len != 1 || ++opt_count > 1) {
        ok = false;
        return false;
      }
      info->opt = opt_from_record(r);
      return true;
    }
    ttl_offset(r.ttl_offset);
    if (r.section != Section::kAdditional) {
      const std::uint32_t ttl = effective_ttl(r.ttl);
      if (!info->min_ttl || ttl < *info->min_ttl) info->min_ttl = ttl;
    }
    if (r.section == Section::kAnswer &&
        (r.type == info->question.qtype || r.type == qtype::kCname)) {
      ++info->answer_count_of_qtype;
    }
    if (r.section == Section::kAuthority && r.type == qtype::kSoa && !info->soa_ttl) {
      auto minimum = detail::read_soa_minimum(packet, r);
      if (!minimum) {
        ok = false;
        return false;
      }
      info->soa_ttl = effective_ttl(r.ttl);
      info->soa_minimum = *minimum;
    }
    return true;
  });
  if (!walked || !ok) return std::nullopt;
  return info;
}

}  // namespace holdfast::dns
