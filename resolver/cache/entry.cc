// Classifying upstream responses for caching (RFC 2308, CoreDNS cache semantics) and rendering
// cached entries with aged TTLs.
#include "cache/entry.h"

#include <algorithm>
#include <cstring>

#include "dns/response.h"

namespace holdfast::cache {
namespace {

std::uint32_t clamp_ttl(std::uint32_t ttl, std::uint32_t min_ttl, std::uint32_t max_ttl) {
  return std::clamp(ttl, std::min(min_ttl, max_ttl), max_ttl);
}

}  // namespace

std::optional<Entry> make_entry(dns::Bytes response, const TtlPolicy& policy,
                                std::int64_t now_seconds) {
  Entry entry;
  auto info = dns::parse_response(response, [&](std::size_t offset) {
    entry.ttl_offsets.push_back(static_cast<std::uint16_t>(offset));
  });
  if (!info || response.size() > dns::kMaxMessageSize) return std::nullopt;

  // Drop the OPT record. It is almost always the last record; when it is not, everything from
  // it on is additional data that the client can do without.
  std::size_t keep_len = response.size();
  std::uint16_t arcount = info->header.arcount;
  if (info->opt) {
    keep_len = info->opt->offset;
    std::uint16_t kept_additional = 0;
    dns::walk_records(response, info->header, info->question.end, [&](const dns::Record& r) {
      if (r.section == dns::Section::kAdditional) {
        if (r.offset >= info->opt->offset) return false;
        ++kept_additional;
      }
      return true;
    });
    arcount = kept_additional;
    std::erase_if(entry.ttl_offsets, [&](std::uint16_t off) { return off >= keep_len; });
  }
  entry.wire.assign(response.begin(), response.begin() + static_cast<std::ptrdiff_t>(keep_len));
  dns::write_u16(entry.wire.data(), 0);
  dns::write_u16(entry.wire.data() + 10, arcount);
  for (std::uint16_t offset : entry.ttl_offsets) {  // served as 0, never as the cap
    std::uint8_t* field = entry.wire.data() + offset;
    dns::write_u32(field, dns::effective_ttl(dns::read_u32(field)));
  }
  entry.question_end = static_cast<std::uint16_t>(info->question.end);
  entry.stored_at_seconds = now_seconds;
  entry.rcode = info->header.rcode();

  const auto rcode = static_cast<dns::Rcode>(entry.rcode);
  if (info->header.tc()) {
    entry.kind = EntryKind::kUncacheable;  // a truncated answer is not the whole answer
    return entry;
  }
  if (rcode == dns::Rcode::kNoError && info->header.ancount > 0 && info->min_ttl) {
    entry.kind = EntryKind::kSuccess;
    entry.ttl_seconds = clamp_ttl(*info->min_ttl, policy.success_min_ttl, policy.success_max_ttl);
  } else if ((rcode == dns::Rcode::kNxDomain ||
              (rcode == dns::Rcode::kNoError && info->header.ancount == 0)) &&
             info->soa_ttl) {
    // RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field.
    entry.kind = EntryKind::kDenial;
    entry.ttl_seconds = clamp_ttl(std::min(*info->soa_ttl, *info->soa_minimum),
                                  policy.denial_min_ttl, policy.denial_max_ttl);
  } else if (rcode == dns::Rcode::kServFail && policy.servfail_ttl > 0) {
    entry.kind = EntryKind::kServfail;
    entry.ttl_seconds = policy.servfail_ttl;
  } else {
    entry.kind = EntryKind::kUncacheable;
  }
  return entry;
}

std::size_t render_wire(dns::Bytes wire, const std::uint8_t* ttl_offsets, std::size_t ttl_count,
                        std::uint32_t remaining_seconds, const RenderOptions& options,
                        dns::MutableBytes out) noexcept {
  const std::size_t len = wire.size();
  if (out.size() < len) return 0;
  std::memcpy(out.data(), wire.data(), len);
  if (options.mode == TtlMode::kKeep) return len;
  for (std::size_t i = 0; i < ttl_count; ++i) {
    std::uint16_t offset;
    std::memcpy(&offset, ttl_offsets + 2 * i, sizeof offset);
    std::uint8_t* field = out.data() + offset;
    const std::uint32_t original = dns::read_u32(field);
    const std::uint32_t ttl =
        options.mode == TtlMode::kFixed ? options.fixed_ttl : std::min(original, remaining_seconds);
    dns::write_u32(field, ttl);
  }
  return len;
}

std::size_t render_entry(const Entry& entry, std::uint32_t remaining_seconds,
                         const RenderOptions& options, dns::MutableBytes out) noexcept {
  return render_wire(entry.wire, reinterpret_cast<const std::uint8_t*>(entry.ttl_offsets.data()),
                     entry.ttl_offsets.size(), remaining_seconds, options, out);
}

}  // namespace holdfast::cache
