// Client queries and resource records as views over the packet: the question, the RR walk and
// the validation of a query's OPT record (RFC 1035 §4.1, RFC 6891 §6.1.1).
#include "dns/message.h"

namespace holdfast::dns {
namespace {

constexpr std::size_t kQuestionFixedLen = 4;  // QTYPE, QCLASS
constexpr std::size_t kRecordFixedLen = 10;   // TYPE, CLASS, TTL, RDLENGTH

// Walks the records after the question; fills `query.opt`. False on any malformation.
bool read_query_records(Bytes packet, QueryView& query) noexcept {
  bool ok = true;
  const bool walked =
      walk_records(packet, query.header, query.question.end, [&](const Record& record) {
        if (record.type != qtype::kOpt) return true;
        // RFC 6891 §6.1.1: one OPT at most, in the additional section, owned by the root.
        if (record.section != Section::kAdditional || record.owner.full_len != 1 || query.opt) {
          ok = false;
          return false;
        }
        query.opt = opt_from_record(record);
        return true;
      });
  return walked && ok;
}

}  // namespace

std::optional<Question> read_question(Bytes packet, std::size_t offset) noexcept {
  const auto name = read_name(packet, offset);
  if (!name) return std::nullopt;
  const std::size_t fixed = offset + name->wire_len;
  if (packet.size() - fixed < kQuestionFixedLen) return std::nullopt;
  Question question;
  question.name = *name;
  question.qtype = read_u16(packet.data() + fixed);
  question.qclass = read_u16(packet.data() + fixed + 2);
  question.end = fixed + kQuestionFixedLen;
  return question;
}

std::optional<std::size_t> skip_questions(Bytes packet, std::uint16_t qdcount) noexcept {
  if (packet.size() < kHeaderSize) return std::nullopt;
  std::size_t offset = kHeaderSize;
  for (std::uint16_t i = 0; i < qdcount; ++i) {
    const auto question = read_question(packet, offset);
    if (!question) return std::nullopt;
    offset = question->end;
  }
  return offset;
}

std::optional<Record> read_record(Bytes packet, std::size_t offset, Section section) noexcept {
  const auto owner = read_name(packet, offset);
  if (!owner) return std::nullopt;
  const std::size_t fixed = offset + owner->wire_len;
  if (packet.size() - fixed < kRecordFixedLen) return std::nullopt;
  const std::uint8_t* p = packet.data() + fixed;
  Record record;
  record.section = section;
  record.owner = *owner;
  record.type = read_u16(p);
  record.rclass = read_u16(p + 2);
  record.ttl = read_u32(p + 4);
  record.rdata_len = read_u16(p + 8);
  record.offset = offset;
  record.ttl_offset = fixed + 4;
  record.rdata_offset = fixed + kRecordFixedLen;
  if (packet.size() - record.rdata_offset < record.rdata_len) return std::nullopt;
  record.end = record.rdata_offset + record.rdata_len;
  return record;
}

std::optional<QuestionHint> question_hint(Bytes packet) noexcept {
  if (packet.size() < kHeaderSize) return std::nullopt;
  const std::uint8_t* h = packet.data();
  if ((h[2] & 0xf8) != 0 || read_u16(h + 4) != 1 || read_u16(h + 6) != 0 || read_u16(h + 8) != 0 ||
      read_u16(h + 10) > 1) {
    return std::nullopt;
  }
  const std::optional<Question> question = read_question(packet, kHeaderSize);
  if (!question) return std::nullopt;
  QuestionHint hint{*question, false, (h[3] & 0x10) != 0};
  // An OPT's TTL field: extended RCODE, version, then the flags whose top bit is DO (RFC 6891).
  const std::size_t opt = question->end;
  if (read_u16(h + 10) == 1 && packet.size() >= opt + 11 && h[opt] == 0 &&
      read_u16(h + opt + 1) == qtype::kOpt) {
    hint.do_bit = (h[opt + 7] & 0x80) != 0;
  }
  return hint;
}

ParsedQuery parse_query(Bytes packet) noexcept {
  ParsedQuery parsed;
  const auto header = read_header(packet);
  if (!header) {
    parsed.error = QueryError::kNoHeader;
    return parsed;
  }
  QueryView& query = parsed.query;
  query.header = *header;
  if (header->qr()) {
    parsed.error = QueryError::kIsResponse;
    return parsed;
  }
  // The question is kept whenever it can be read, so that error replies can echo it.
  const auto question = header->qdcount == 1 ? read_question(packet, kHeaderSize) : std::nullopt;
  if (question) query.question = *question;
  const bool records_ok = question && read_query_records(packet, query);
  if (header->opcode() != static_cast<std::uint8_t>(Opcode::kQuery)) {
    parsed.error = QueryError::kNotImplemented;
    if (!records_ok) query.opt.reset();
    return parsed;
  }
  if (!records_ok) {
    parsed.error = QueryError::kMalformed;
    query.opt.reset();  // the additional section cannot be trusted: answer without EDNS
    return parsed;
  }
  query.edns_bad_version = query.opt && query.opt->version != 0;
  return parsed;
}

Opt opt_from_record(const Record& record) noexcept {
  // FORMAT: RFC 6891 §6.1.3, CLASS is the UDP size, TTL is EXTENDED-RCODE, VERSION, DO, Z.
  Opt opt;
  opt.offset = record.offset;
  opt.end = record.end;
  opt.udp_size = record.rclass;
  opt.extended_rcode = static_cast<std::uint8_t>(record.ttl >> 24);
  opt.version = static_cast<std::uint8_t>(record.ttl >> 16);
  opt.do_bit = (record.ttl & kEdnsDoBit) != 0;
  opt.rdata_offset = record.rdata_offset;
  opt.rdata_len = record.rdata_len;
  return opt;
}

}  // namespace holdfast::dns
