// Replies built in a caller's buffer: error replies to a query, the UDP size a reply may use,
// and truncation to header + question (+ OPT) with TC set.
#include "dns/reply.h"

#include <cstring>

namespace holdfast::dns {
namespace {

constexpr std::uint16_t kOpcodeMask = 0x7800;
constexpr std::uint16_t kRcodeMask = 0x000f;
constexpr std::size_t kCountsOffset = 6;  // ANCOUNT, NSCOUNT, ARCOUNT: three 16-bit words

}  // namespace

std::size_t write_error_reply(Bytes query_packet, const ParsedQuery& parsed, Rcode rcode,
                              std::optional<std::uint16_t> ede_code, MutableBytes out) noexcept {
  return write_extended_error_reply(query_packet, parsed, static_cast<std::uint16_t>(rcode),
                                    ede_code, out);
}

std::size_t write_extended_error_reply(Bytes query_packet, const ParsedQuery& parsed,
                                       std::uint16_t rcode12, std::optional<std::uint16_t> ede_code,
                                       MutableBytes out) noexcept {
  // Too short to answer, or a response (answering would start a reflection loop).
  if (parsed.error == QueryError::kNoHeader || parsed.error == QueryError::kIsResponse) return 0;
  if (query_packet.size() < kHeaderSize || out.size() < kHeaderSize) return 0;
  const QueryView& query = parsed.query;
  const std::size_t question_end = query.question.end;
  const bool has_question = question_end > kHeaderSize && question_end <= query_packet.size();
  const std::size_t question_len = has_question ? question_end - kHeaderSize : 0;

  std::optional<OptToWrite> opt;
  if (query.opt) {
    opt.emplace();
    opt->udp_size = kDefaultMaxUdpPayload;
    opt->do_bit = query.opt->do_bit;
    opt->ede_code = ede_code;  // RFC 8914: EDE only travels inside an OPT the client asked for
    opt->extended_rcode = static_cast<std::uint8_t>(rcode12 >> 4);
  }
  const std::size_t needed = kHeaderSize + question_len + (opt ? opt_record_size(*opt) : 0);
  if (out.size() < needed) return 0;

  // The question goes first: `out` may be the query's own buffer, and the header fields we need
  // are already in `parsed`. memmove because the two may overlap exactly.
  if (question_len > 0) {
    std::memmove(out.data() + kHeaderSize, query_packet.data() + kHeaderSize, question_len);
  }
  Header header;
  header.id = query.header.id;
  header.flags =
      static_cast<std::uint16_t>((query.header.flags & (kOpcodeMask | flag::kRd | flag::kCd)) |
                                 flag::kQr | flag::kRa | (rcode12 & kRcodeMask));
  header.qdcount = has_question ? 1 : 0;
  header.arcount = opt ? 1 : 0;
  write_header(out, header);
  std::size_t end = kHeaderSize + question_len;
  if (opt) end = write_opt_record(out, end, *opt);
  return end;
}

std::size_t udp_limit(const QueryView& query, std::size_t max_udp_payload) noexcept {
  if (!query.opt) return kMaxUdpPayloadNoEdns;
  // RFC 6891 §6.2.5: values below 512 are treated as 512.
  std::size_t limit = query.opt->udp_size;
  if (limit > max_udp_payload) limit = max_udp_payload;
  if (limit < kMaxUdpPayloadNoEdns) limit = kMaxUdpPayloadNoEdns;
  return limit;
}

std::size_t truncate_reply(MutableBytes reply, std::size_t question_end,
                           const std::optional<OptToWrite>& opt) noexcept {
  if (question_end < kHeaderSize || question_end > reply.size()) return 0;  // caller's bug
  reply[2] |= static_cast<std::uint8_t>(flag::kTc >> 8);
  std::memset(reply.data() + kCountsOffset, 0, kHeaderSize - kCountsOffset);
  if (!opt) return question_end;
  const std::size_t end = write_opt_record(reply, question_end, *opt);
  if (end == 0) return question_end;  // no room for the OPT: still a valid truncated reply
  write_u16(reply.data() + 10, 1);    // ARCOUNT
  return end;
}

}  // namespace holdfast::dns
