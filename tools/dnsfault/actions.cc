// Packet work for the actions: synthesised replies, TTL rewrites and deliberate corruption.
#include "actions.h"

#include "dns/header.h"
#include "dns/name.h"
#include "dns/reply.h"
#include "dns/response.h"

namespace holdfast::dnsfault {

std::string_view name_for_rules(dns::Bytes packet, const dns::NameRef& name,
                                std::array<char, kMaxNameText>& buf) noexcept {
  std::array<std::uint8_t, dns::kMaxNameWireLen + 1> wire{};
  const std::size_t wire_len = dns::copy_name_lower(packet, name, wire.data());
  std::size_t out = 0;
  std::size_t pos = 0;
  while (pos < wire_len && wire[pos] != 0) {
    const std::size_t len = wire[pos];
    if (pos + 1 + len > wire_len) break;
    if (out != 0) buf[out++] = '.';
    for (std::size_t i = 0; i < len && out < buf.size(); ++i) {
      buf[out++] = static_cast<char>(wire[pos + 1 + i]);
    }
    pos += 1 + len;
  }
  return std::string_view(buf.data(), out);
}

std::size_t write_synthesised_reply(dns::Bytes query, const dns::ParsedQuery& parsed,
                                    ActionKind kind, dns::Rcode rcode,
                                    dns::MutableBytes out) noexcept {
  const dns::Rcode code = kind == ActionKind::kRcode ? rcode : dns::Rcode::kNoError;
  const std::size_t len = dns::write_error_reply(query, parsed, code, std::nullopt, out);
  if (len != 0 && kind == ActionKind::kTruncate) {
    out[2] |= static_cast<std::uint8_t>(dns::flag::kTc >> 8);
  }
  return len;
}

bool rewrite_ttls(dns::MutableBytes response, std::uint32_t ttl_seconds) noexcept {
  // Collect first, write after: parse_response reads the packet while it walks it.
  std::array<std::size_t, dns::kMaxTtlOffsets> offsets;
  std::size_t count = 0;
  auto info = dns::parse_response(dns::Bytes(response), [&](std::size_t offset) {
    if (count < offsets.size()) offsets[count++] = offset;
  });
  if (!info) return false;
  for (std::size_t i = 0; i < count; ++i) {
    dns::write_u32(response.data() + offsets[i], ttl_seconds);
  }
  return true;
}

std::size_t garble_response(dns::MutableBytes response, GarbleMode mode) noexcept {
  const std::size_t len = response.size();
  if (len < dns::kHeaderSize) return len / 2;
  switch (mode) {
    case GarbleMode::kWrongId: {
      const std::uint16_t id = dns::read_u16(response.data());
      dns::write_u16(response.data(), static_cast<std::uint16_t>(id ^ 0x5a5a));
      return len;
    }
    case GarbleMode::kWrongQuestion: {
      auto question = dns::read_question(dns::Bytes(response), dns::kHeaderSize);
      if (!question) return len;
      const std::size_t name_at = dns::kHeaderSize;
      if (response[name_at] != 0 && response[name_at] < 0x40) {
        // First byte of the first label: a letter no case-insensitive compare can forgive.
        std::uint8_t& c = response[name_at + 1];
        c = (c == 'x' || c == 'X') ? std::uint8_t{'q'} : std::uint8_t{'x'};
      } else {
        const std::size_t type_at = question->end - 4;
        const std::uint16_t qtype = dns::read_u16(response.data() + type_at);
        dns::write_u16(response.data() + type_at, static_cast<std::uint16_t>(qtype ^ 0x0100));
      }
      return len;
    }
    case GarbleMode::kCutShort:
    case GarbleMode::kAny:
      break;
  }
  return dns::kHeaderSize + (len - dns::kHeaderSize) / 2 - (len == dns::kHeaderSize ? 6 : 0);
}

}  // namespace holdfast::dnsfault
