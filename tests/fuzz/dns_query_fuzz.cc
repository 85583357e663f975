// Fuzz target: a client's bytes through everything the server does with them before the cache:
// parse_query, the prefetch hint, error replies, UDP limits, truncation and the question's name
// functions.
// Built as a libFuzzer binary under clang; dns_test compiles it too and replays the seeds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/name.h"
#include "dns/reply.h"
#include "dns/response.h"
#include "dns_fuzz_check.h"

namespace {

using namespace holdfast::dns;

bool has_question(const ParsedQuery& parsed) noexcept {
  return parsed.query.question.end != 0;
}

// An error reply must parse as a response that carries the client's question and, when the
// client spoke EDNS, an OPT with the EDE we asked for.
void check_error_reply(Bytes packet, const ParsedQuery& parsed, std::optional<std::uint16_t> ede) {
  std::array<std::uint8_t, 1024> out{};  // header + a question of <= 259 bytes + OPT with EDE
  const std::size_t len = write_error_reply(packet, parsed, Rcode::kFormErr, ede, out);
  if (parsed.error == QueryError::kNoHeader || parsed.error == QueryError::kIsResponse) {
    HOLDFAST_FUZZ_CHECK(len == 0);
    return;
  }
  HOLDFAST_FUZZ_CHECK(len >= kHeaderSize);
  const Bytes reply(out.data(), len);
  HOLDFAST_FUZZ_CHECK(parse_query(reply).error == QueryError::kIsResponse);
  const auto info = parse_response(reply, [](std::size_t) {});
  if (!has_question(parsed)) {
    HOLDFAST_FUZZ_CHECK(len == kHeaderSize);
    return;
  }
  HOLDFAST_FUZZ_CHECK(info);
  HOLDFAST_FUZZ_CHECK(info->header.id == parsed.query.header.id);
  HOLDFAST_FUZZ_CHECK(info->header.rcode() == static_cast<std::uint8_t>(Rcode::kFormErr));
  HOLDFAST_FUZZ_CHECK(names_equal(reply, info->question.name, packet, parsed.query.question.name));
  HOLDFAST_FUZZ_CHECK(info->opt.has_value() == parsed.query.opt.has_value());
  if (info->opt) {
    HOLDFAST_FUZZ_CHECK(find_ede_code(reply, info->opt->rdata_offset, info->opt->rdata_len) == ede);
  }
}

// The question's name: lower-case copy, zone tests and a presentation-form round trip.
void check_question_name(Bytes packet, const NameRef& name) {
  std::array<std::uint8_t, kMaxNameWireLen> lower{};
  const std::size_t len = copy_name_lower(packet, name, lower.data());
  HOLDFAST_FUZZ_CHECK(len == name.full_len);
  const Bytes lower_name(lower.data(), len);
  const std::uint8_t root[] = {0};
  HOLDFAST_FUZZ_CHECK(is_subdomain(lower_name, lower_name));
  HOLDFAST_FUZZ_CHECK(is_subdomain(lower_name, root));

  const std::string text = name_to_text(packet, name);
  std::string wire(kHeaderSize, '\0');
  HOLDFAST_FUZZ_CHECK(text_to_wire(text, wire));
  const Bytes reparsed(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
  const auto again = read_name(reparsed, kHeaderSize);
  HOLDFAST_FUZZ_CHECK(again && again->full_len == name.full_len);
  HOLDFAST_FUZZ_CHECK(names_equal(reparsed, *again, packet, name));
}

// Truncating a copy of the query leaves a query that still parses, with the same question.
void check_truncation(Bytes packet, const ParsedQuery& parsed) {
  std::vector<std::uint8_t> copy(packet.begin(), packet.end());
  std::optional<OptToWrite> opt;
  if (parsed.query.opt) {
    opt.emplace();
    opt->do_bit = parsed.query.opt->do_bit;
  }
  const std::size_t len = truncate_reply(copy, parsed.query.question.end, opt);
  HOLDFAST_FUZZ_CHECK(len >= parsed.query.question.end);
  const ParsedQuery truncated = parse_query(Bytes(copy.data(), len));
  HOLDFAST_FUZZ_CHECK(truncated.error == QueryError::kNone);
  HOLDFAST_FUZZ_CHECK(truncated.query.header.tc());
  HOLDFAST_FUZZ_CHECK(truncated.query.question.end == parsed.query.question.end);
}

}  // namespace

// The listener's prefetch hint, read without parse_query's checks, names the question, DO bit
// and CD bit that parse_query finds whenever it accepts the packet.
void check_question_hint(Bytes packet, const ParsedQuery& parsed) {
  const std::optional<QuestionHint> hint = question_hint(packet);
  if (!hint || parsed.error != QueryError::kNone) return;
  const QueryView& query = parsed.query;
  HOLDFAST_FUZZ_CHECK(hint->question.name.offset == query.question.name.offset);
  HOLDFAST_FUZZ_CHECK(hint->question.name.wire_len == query.question.name.wire_len);
  HOLDFAST_FUZZ_CHECK(hint->question.name.full_len == query.question.name.full_len);
  HOLDFAST_FUZZ_CHECK(hint->question.qtype == query.question.qtype);
  HOLDFAST_FUZZ_CHECK(hint->question.qclass == query.question.qclass);
  HOLDFAST_FUZZ_CHECK(hint->do_bit == (query.opt && query.opt->do_bit));
  HOLDFAST_FUZZ_CHECK(hint->cd_bit == query.header.cd());
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes packet(data, size);
  const ParsedQuery parsed = parse_query(packet);
  check_question_hint(packet, parsed);
  check_error_reply(packet, parsed, std::nullopt);
  check_error_reply(packet, parsed, ede::kNoReachableAuthority);
  if (parsed.error != QueryError::kNone) return 0;

  const QueryView& query = parsed.query;
  HOLDFAST_FUZZ_CHECK(query.question.end <= size);
  const std::size_t limit = udp_limit(query, kDefaultMaxUdpPayload);
  HOLDFAST_FUZZ_CHECK(limit >= kMaxUdpPayloadNoEdns && limit <= kDefaultMaxUdpPayload);
  check_question_name(packet, query.question.name);
  check_truncation(packet, parsed);
  return 0;
}
