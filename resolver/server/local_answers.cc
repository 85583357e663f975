// CHAOS and ANY answered locally.
#include "server/local_answers.h"

#include <array>
#include <cstring>

#include "dns/name.h"
#include "dns/reply.h"
#include "dns/wire.h"

namespace holdfast::server {
namespace {

constexpr std::uint16_t kTypeTxt = 16;
constexpr std::uint16_t kTypeHinfo = 13;
constexpr std::uint16_t kTypeAny = 255;
constexpr std::uint32_t kChaosTtl = 0;
constexpr std::uint32_t kHinfoTtl = 3600;

// Lower-case wire form of the question's name compared with a dotted name ("version.bind").
bool name_is(dns::Bytes packet, const dns::Question& question, std::string_view dotted) noexcept {
  std::array<std::uint8_t, dns::kMaxNameWireLen> wire{};
  const std::size_t len = dns::copy_name_lower(packet, question.name, wire.data());
  std::size_t at = 0;
  std::size_t start = 0;
  while (start <= dotted.size()) {
    std::size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    const std::size_t label = dot - start;
    if (label == 0) break;
    if (at + 1 + label > len || wire[at] != label ||
        std::memcmp(wire.data() + at + 1, dotted.data() + start, label) != 0) {
      return false;
    }
    at += 1 + label;
    start = dot + 1;
  }
  return at + 1 == len && wire[at] == 0;
}

// Builds the no-data reply, then inserts one record (the question's name, `type`, `qclass`,
// `ttl`, `rdata`) after the question, before any OPT.
std::size_t write_answer(dns::Bytes packet, const dns::ParsedQuery& parsed, std::uint16_t type,
                         std::uint16_t qclass, std::uint32_t ttl, dns::Bytes rdata,
                         dns::MutableBytes out) noexcept {
  const std::size_t len =
      dns::write_error_reply(packet, parsed, dns::Rcode::kNoError, std::nullopt, out);
  const std::size_t question_end = parsed.query.question.end;
  const std::size_t record = 2 + 2 + 2 + 4 + 2 + rdata.size();
  if (len == 0 || question_end > len || len + record > out.size() || rdata.size() > 0xffff) {
    return 0;
  }
  std::uint8_t* at = out.data() + question_end;
  std::memmove(at + record, at, len - question_end);  // the OPT, when there is one
  dns::write_u16(at, 0xc00c);                         // the question's name
  dns::write_u16(at + 2, type);
  dns::write_u16(at + 4, qclass);
  dns::write_u32(at + 6, ttl);
  dns::write_u16(at + 10, static_cast<std::uint16_t>(rdata.size()));
  if (!rdata.empty()) std::memcpy(at + 12, rdata.data(), rdata.size());
  dns::write_u16(out.data() + 6, 1);  // ANCOUNT
  return len + record;
}

// TXT rdata: each string as <length><bytes>, at most 255 bytes each.
std::size_t txt_rdata(std::initializer_list<std::string_view> strings, std::uint8_t* out,
                      std::size_t room) noexcept {
  std::size_t at = 0;
  for (std::string_view s : strings) {
    const std::size_t n = std::min<std::size_t>(s.size(), 255);
    if (at + 1 + n > room) break;
    out[at] = static_cast<std::uint8_t>(n);
    std::memcpy(out + at + 1, s.data(), n);
    at += 1 + n;
  }
  return at;
}

}  // namespace

LocalAnswer answer_locally(dns::Bytes packet, const dns::ParsedQuery& parsed,
                           const config::ServerBlock* block, std::string_view version,
                           std::string_view hostname, dns::MutableBytes out) noexcept {
  const dns::Question& question = parsed.query.question;
  if (question.qclass == kClassChaos) {
    if (block == nullptr || !block->chaos ||
        (question.qtype != kTypeTxt && question.qtype != kTypeAny)) {
      return {LocalKind::kRefuse, 0};
    }
    std::array<std::uint8_t, 1024> rdata{};
    std::size_t rdata_len = 0;
    if (name_is(packet, question, "version.bind") || name_is(packet, question, "version.server")) {
      const std::string_view v =
          block->chaos->version.empty() ? version : std::string_view(block->chaos->version);
      rdata_len = txt_rdata({v}, rdata.data(), rdata.size());
    } else if (name_is(packet, question, "hostname.bind") ||
               name_is(packet, question, "id.server")) {
      rdata_len = txt_rdata({hostname}, rdata.data(), rdata.size());
    } else if (name_is(packet, question, "authors.bind") && !block->chaos->authors.empty()) {
      for (const std::string& author : block->chaos->authors) {
        rdata_len += txt_rdata({author}, rdata.data() + rdata_len, rdata.size() - rdata_len);
      }
    } else {
      return {LocalKind::kRefuse, 0};
    }
    const std::size_t len = write_answer(packet, parsed, kTypeTxt, kClassChaos, kChaosTtl,
                                         dns::Bytes(rdata.data(), rdata_len), out);
    return len == 0 ? LocalAnswer{LocalKind::kRefuse, 0} : LocalAnswer{LocalKind::kAnswer, len};
  }
  if (question.qtype == kTypeAny && question.qclass == dns::kClassIn && block != nullptr) {
    // RFC 8482 §4.2: CPU "RFC8482", OS "".
    static constexpr std::uint8_t kHinfo[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
    const std::size_t len = write_answer(packet, parsed, kTypeHinfo, dns::kClassIn, kHinfoTtl,
                                         dns::Bytes(kHinfo, sizeof kHinfo), out);
    if (len > 0) return {LocalKind::kAnswer, len};
  }
  return {};
}

}  // namespace holdfast::server
