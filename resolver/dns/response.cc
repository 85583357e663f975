// Upstream responses: the header and question checks and the SOA rdata read behind
// parse_response (response.h), which summarises a response for the cache.
#include "dns/response.h"

namespace holdfast::dns::detail {
namespace {

constexpr std::size_t kSoaFixedLen = 20;  // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM

// The end of the name at `offset` if it is valid and its own bytes stay before `limit`.
std::optional<std::size_t> name_end_within(Bytes packet, std::size_t offset,
                                           std::size_t limit) noexcept {
  const auto name = read_name(packet, offset);
  if (!name || name->wire_len > limit - offset) return std::nullopt;
  return offset + name->wire_len;
}

}  // namespace

std::optional<ResponseInfo> parse_response_head(Bytes packet,
                                                std::size_t& after_question) noexcept {
  const auto header = read_header(packet);
  if (!header || !header->qr() || header->qdcount != 1) return std::nullopt;
  const auto question = read_question(packet, kHeaderSize);
  if (!question) return std::nullopt;
  ResponseInfo info;
  info.header = *header;
  info.question = *question;
  after_question = info.question.end;
  return info;
}

std::optional<std::uint32_t> read_soa_minimum(Bytes packet, const Record& soa) noexcept {
  // FORMAT: RFC 1035 §3.3.13, MNAME and RNAME (compressible) then five 32-bit fields, nothing
  // after.
  const std::size_t rdata_end = soa.rdata_offset + soa.rdata_len;
  if (rdata_end > packet.size() || soa.rdata_offset > rdata_end) return std::nullopt;
  const auto mname_end = name_end_within(packet, soa.rdata_offset, rdata_end);
  if (!mname_end) return std::nullopt;
  const auto rname_end = name_end_within(packet, *mname_end, rdata_end);
  if (!rname_end || rdata_end - *rname_end != kSoaFixedLen) return std::nullopt;
  return read_u32(packet.data() + rdata_end - 4);
}

}  // namespace holdfast::dns::detail
