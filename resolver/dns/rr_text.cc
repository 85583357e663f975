// Presentation format of the record types a node cache sees most.
#include "dns/rr_text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <utility>

#include "dns/header.h"
#include "dns/message.h"
#include "dns/name.h"

namespace holdfast::dns {
namespace {

constexpr std::array<std::pair<std::uint16_t, const char*>, 17> kTypes = {{{1, "A"},
                                                                           {2, "NS"},
                                                                           {5, "CNAME"},
                                                                           {6, "SOA"},
                                                                           {12, "PTR"},
                                                                           {15, "MX"},
                                                                           {16, "TXT"},
                                                                           {28, "AAAA"},
                                                                           {33, "SRV"},
                                                                           {35, "NAPTR"},
                                                                           {43, "DS"},
                                                                           {46, "RRSIG"},
                                                                           {47, "NSEC"},
                                                                           {48, "DNSKEY"},
                                                                           {64, "SVCB"},
                                                                           {65, "HTTPS"},
                                                                           {255, "ANY"}}};

std::string name_at(Bytes packet, std::size_t offset) {
  auto name = read_name(packet, offset);
  return name ? name_to_text(packet, *name) : std::string("?");
}

std::string rdata_text(Bytes packet, const Record& r) {
  const std::uint8_t* p = packet.data() + r.rdata_offset;
  const std::size_t n = r.rdata_len;
  char buf[INET6_ADDRSTRLEN];
  switch (r.type) {
    case 1:
      if (n == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) return buf;
      break;
    case 28:
      if (n == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf)) return buf;
      break;
    case 2:
    case 5:
    case 12:
      return name_at(packet, r.rdata_offset);
    case 15:
      if (n > 2) return std::to_string(read_u16(p)) + " " + name_at(packet, r.rdata_offset + 2);
      break;
    case 33:
      if (n > 6) {
        return std::to_string(read_u16(p)) + " " + std::to_string(read_u16(p + 2)) + " " +
               std::to_string(read_u16(p + 4)) + " " + name_at(packet, r.rdata_offset + 6);
      }
      break;
    case 16: {
      std::string out;
      for (std::size_t i = 0; i < n;) {
        const std::size_t len = p[i++];
        if (i + len > n) return out + " ?";
        if (!out.empty()) out += ' ';
        out += '"';
        for (std::size_t j = 0; j < len; ++j) {
          const auto c = static_cast<char>(p[i + j]);
          if (c == '"' || c == '\\') out += '\\';
          if (std::isprint(static_cast<unsigned char>(c))) {
            out += c;
          } else {
            char esc[5];
            std::snprintf(esc, sizeof esc, "\\%03u", static_cast<unsigned>(p[i + j]));
            out += esc;
          }
        }
        out += '"';
        i += len;
      }
      return out;
    }
    case 6: {
      auto mname = read_name(packet, r.rdata_offset);
      if (!mname) break;
      auto rname = read_name(packet, r.rdata_offset + mname->wire_len);
      if (!rname) break;
      const std::size_t nums = r.rdata_offset + mname->wire_len + rname->wire_len;
      if (nums + 20 > r.end) break;
      std::string out = name_to_text(packet, *mname) + " " + name_to_text(packet, *rname);
      for (std::size_t i = 0; i < 5; ++i) {
        const std::uint8_t* q = packet.data() + nums + 4 * i;
        out += ' ';
        out += std::to_string((std::uint32_t{q[0]} << 24) | (std::uint32_t{q[1]} << 16) |
                              (std::uint32_t{q[2]} << 8) | q[3]);
      }
      return out;
    }
    default:
      break;
  }
  std::string out("\\# ");
  out += std::to_string(n);
  if (n > 0) out += ' ';
  for (std::size_t i = 0; i < n; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", p[i]);
    out += hex;
  }
  return out;
}

}  // namespace

std::string type_to_text(std::uint16_t type) {
  for (const auto& [value, name] : kTypes) {
    if (value == type) return name;
  }
  std::string out("TYPE");
  out += std::to_string(type);
  return out;
}

std::optional<std::uint16_t> text_to_type(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& [value, name] : kTypes) {
    if (upper == name) return value;
  }
  if (upper.rfind("TYPE", 0) == 0 && upper.size() > 4 && upper.size() <= 9) {
    unsigned long v = 0;
    for (std::size_t i = 4; i < upper.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(upper[i]))) return std::nullopt;
      v = v * 10 + static_cast<unsigned long>(upper[i] - '0');
    }
    if (v <= 65535) return static_cast<std::uint16_t>(v);
  }
  return std::nullopt;
}

std::vector<std::string> records_as_text(Bytes message) {
  std::vector<std::string> out;
  auto header = read_header(message);
  if (!header) return out;
  auto after = skip_questions(message, header->qdcount);
  if (!after) return out;
  walk_records(message, *header, *after, [&](const Record& r) {
    if (r.section == Section::kAdditional) return false;
    if (r.type == 41) return true;  // OPT
    std::string line = name_to_text(message, r.owner);
    line += ' ';
    line += std::to_string(r.ttl);
    line += r.rclass == 1 ? " IN " : " CLASS" + std::to_string(r.rclass) + " ";
    line += type_to_text(r.type);
    line += ' ';
    line += rdata_text(message, r);
    out.push_back(std::move(line));
    return true;
  });
  return out;
}

}  // namespace holdfast::dns
