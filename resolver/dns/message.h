// Parsing whole DNS messages into views over the packet: client queries and upstream responses.
// Nothing here allocates; every view is valid only while the packet bytes are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/header.h"
#include "dns/name.h"
#include "dns/wire.h"

namespace holdfast::dns {

enum class Section : std::uint8_t { kAnswer, kAuthority, kAdditional };

struct Question {
  NameRef name;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::size_t end = 0;  // offset just past QCLASS
};

// The EDNS(0) OPT pseudo-record (RFC 6891 §6.1), when present.
struct Opt {
  std::size_t offset = 0;  // first byte of the OPT RR (its root owner name)
  std::size_t end = 0;     // just past its RDATA
  std::uint16_t udp_size = 0;
  std::uint8_t extended_rcode = 0;
  std::uint8_t version = 0;
  bool do_bit = false;
  std::size_t rdata_offset = 0;
  std::uint16_t rdata_len = 0;
};

// One resource record, as found by walk_records.
struct Record {
  Section section = Section::kAnswer;
  NameRef owner;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;
  std::uint32_t ttl = 0;
  std::size_t offset = 0;      // first byte of the owner name
  std::size_t ttl_offset = 0;  // FORMAT: the 4 TTL bytes
  std::size_t rdata_offset = 0;
  std::uint16_t rdata_len = 0;
  std::size_t end = 0;  // just past RDATA
};

enum class QueryError : std::uint8_t {
  kNone,
  kNoHeader,        // < 12 bytes: nothing can be answered; drop and count
  kIsResponse,      // QR=1: never answer a response (reflection loops); drop and count
  kNotImplemented,  // opcode != QUERY: answer NOTIMP
  kMalformed,       // header readable, rest not: answer FORMERR
};

// A client query: header, exactly one question, optional OPT in the additional section.
struct QueryView {
  Header header;
  Question question;
  std::optional<Opt> opt;
  bool edns_bad_version = false;  // OPT version != 0 (RFC 6891 §6.1.3: BADVERS)
};

struct ParsedQuery {
  QueryError error = QueryError::kNone;
  // Meaningful when error == kNone. For kIsResponse, kNotImplemented and kMalformed the header is
  // set, and the question too when QDCOUNT is 1 and it can be read (question.end != 0), so that an
  // error reply can echo it. `opt` is set for kNotImplemented when the whole query parses, and
  // never for kMalformed.
  QueryView query;
};

// Parses a client query. QDCOUNT != 1 is kMalformed. Answer and authority records are walked and
// bounds-checked (a query may carry them) but otherwise ignored. More than one OPT is kMalformed.
ParsedQuery parse_query(Bytes packet) noexcept;

// The question of a plain query read without parse_query's checks, for a cache prefetch before
// the query is parsed (server/lookup_prefetch.h): the header of a query (QR clear, opcode QUERY)
// with QDCOUNT 1, no answer or authority records and at most one additional record; the DO bit
// when that record is an OPT right after the question. nullopt for anything else. A hint, never a
// verdict — but whenever parse_query accepts the same packet, the hint has its question, DO bit
// and CD bit (tests/fuzz/dns_query_fuzz.cc checks it).
struct QuestionHint {
  Question question;
  bool do_bit = false;
  bool cd_bit = false;
};
std::optional<QuestionHint> question_hint(Bytes packet) noexcept;

// Walks every RR after the question section(s), calling `visit(const Record&)` for each; returns
// false (having called visit for a prefix) when any record overruns the packet or has a bad name,
// or when the counts in the header exceed the records present. Trailing bytes after the last
// record are allowed. `visit` returning false stops the walk early (walk_records returns true).
template <class Visitor>
bool walk_records(Bytes packet, const Header& header, std::size_t after_questions,
                  Visitor&& visit) noexcept;

// Reads one question entry (QNAME, QTYPE, QCLASS) at `offset`; nullopt when it overruns or its
// name is bad.
std::optional<Question> read_question(Bytes packet, std::size_t offset) noexcept;

// Skips QDCOUNT questions starting at offset 12; returns the offset after them or nullopt.
std::optional<std::size_t> skip_questions(Bytes packet, std::uint16_t qdcount) noexcept;

// The OPT fields of a record whose type is OPT.
Opt opt_from_record(const Record& record) noexcept;

// Parses one record at `offset`. nullopt when it overruns or its owner name is bad.
std::optional<Record> read_record(Bytes packet, std::size_t offset, Section section) noexcept;

template <class Visitor>
bool walk_records(Bytes packet, const Header& header, std::size_t after_questions,
                  Visitor&& visit) noexcept {
  std::size_t offset = after_questions;
  const std::uint32_t counts[3] = {header.ancount, header.nscount, header.arcount};
  const Section sections[3] = {Section::kAnswer, Section::kAuthority, Section::kAdditional};
  for (int s = 0; s < 3; ++s) {
    for (std::uint32_t i = 0; i < counts[s]; ++i) {
      auto record = read_record(packet, offset, sections[s]);
      if (!record) return false;
      offset = record->end;
      if (!visit(*record)) return true;
    }
  }
  return true;
}

}  // namespace holdfast::dns
