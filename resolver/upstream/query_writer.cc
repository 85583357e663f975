// Canonical upstream queries and the answer-matches-question check.
#include "upstream/query_writer.h"

#include "dns/edns.h"
#include "dns/header.h"
#include "dns/name.h"

namespace holdfast::upstream {

std::size_t write_upstream_query(dns::Bytes client_packet, const dns::Question& question,
                                 const UpstreamQueryOptions& options,
                                 dns::MutableBytes out) noexcept {
  if (out.size() < dns::kHeaderSize + dns::kMaxNameWireLen + 4) return 0;
  dns::Header header;
  header.flags = dns::flag::kRd | (options.cd_bit ? dns::flag::kCd : 0);
  header.qdcount = 1;
  header.arcount = 1;
  dns::write_header(out, header);
  std::size_t offset = dns::kHeaderSize;
  offset += dns::copy_name_lower(client_packet, question.name, out.data() + offset);
  dns::write_u16(out.data() + offset, question.qtype);
  dns::write_u16(out.data() + offset + 2, question.qclass);
  offset += 4;
  dns::OptToWrite opt;
  opt.udp_size = options.udp_size;
  opt.do_bit = options.do_bit;
  return dns::write_opt_record(out, offset, opt);
}

bool response_matches(dns::Bytes query, dns::Bytes response) noexcept {
  const dns::ParsedQuery asked = dns::parse_query(query);
  auto header = dns::read_header(response);
  if (asked.error != dns::QueryError::kNone || !header) return false;
  if (!header->qr() || header->opcode() != 0 || header->qdcount != 1) return false;
  auto name = dns::read_name(response, dns::kHeaderSize);
  if (!name || dns::kHeaderSize + name->wire_len + 4 > response.size()) return false;
  const std::uint8_t* p = response.data() + dns::kHeaderSize + name->wire_len;
  return dns::read_u16(p) == asked.query.question.qtype &&
         dns::read_u16(p + 2) == asked.query.question.qclass &&
         dns::names_equal(query, asked.query.question.name, response, *name);
}

}  // namespace holdfast::upstream
