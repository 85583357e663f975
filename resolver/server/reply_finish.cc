// Patching a rendered answer for its client (server/reply_finish.h).
#include "server/reply_finish.h"

#include <cstring>

#include "dns/edns.h"
#include "dns/header.h"
#include "dns/reply.h"

namespace holdfast::server {
namespace {

// The header flags a client sees: the upstream's answer flags with the client's RD and CD, AA
// cleared (a cache is not authoritative) and AD only for clients that asked for it (RFC 6840 §5.8).
std::uint16_t client_flags(std::uint16_t answer_flags, const dns::Header& query,
                           bool client_do) noexcept {
  std::uint16_t flags = answer_flags & ~(dns::flag::kRd | dns::flag::kCd | dns::flag::kAa);
  flags |= query.flags & (dns::flag::kRd | dns::flag::kCd);
  flags |= dns::flag::kQr | dns::flag::kRa;
  if (!client_do && !(query.flags & dns::flag::kAd)) flags &= ~dns::flag::kAd;
  return flags;
}

}  // namespace

FinishedReply finish_reply(dns::MutableBytes out, std::size_t length, std::size_t question_end,
                           dns::Bytes packet, const dns::QueryView& query, Transport transport,
                           std::size_t max_udp_payload, std::optional<std::uint16_t> ede) noexcept {
  FinishedReply reply{length, false};
  dns::set_id(out, query.header.id);
  // Restore the client's spelling of the name (RFC 4343; 0x20 clients check it). The stored
  // question is uncompressed at offset 12 and equal to the client's ignoring case.
  const std::size_t name_len = question_end - 4 - dns::kHeaderSize;
  if (query.question.name.wire_len == query.question.name.full_len &&
      query.question.name.full_len == name_len) {
    std::memcpy(out.data() + dns::kHeaderSize, packet.data() + query.question.name.offset,
                name_len);
  }
  const bool client_do = query.opt && query.opt->do_bit;
  dns::write_u16(out.data() + 2,
                 client_flags(dns::read_u16(out.data() + 2), query.header, client_do));
  std::optional<dns::OptToWrite> opt;
  if (query.opt) {
    opt.emplace();
    opt->udp_size = static_cast<std::uint16_t>(max_udp_payload);
    opt->do_bit = client_do;
    opt->ede_code = ede;
    const std::size_t end = dns::write_opt_record(out, reply.length, *opt);
    if (end != 0) {
      reply.length = end;
      dns::write_u16(out.data() + 10,
                     static_cast<std::uint16_t>(dns::read_u16(out.data() + 10) + 1));
    }
  }
  if (transport == Transport::kUdp && reply.length > dns::udp_limit(query, max_udp_payload)) {
    reply.truncated = true;
    reply.length = dns::truncate_reply(out, question_end, opt);
  }
  return reply;
}

}  // namespace holdfast::server
