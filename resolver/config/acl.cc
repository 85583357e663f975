// Setup of the `acl` directive (CoreDNS's acl plugin syntax).
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cctype>
#include <charconv>

#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"
#include "config/zone.h"
#include "dns/rr_text.h"

namespace holdfast::config {
namespace {

std::optional<AclAction> parse_action(std::string_view text) {
  if (text == "allow") return AclAction::kAllow;
  if (text == "block") return AclAction::kBlock;
  if (text == "filter") return AclAction::kFilter;
  if (text == "drop") return AclAction::kDrop;
  return std::nullopt;
}

// A type name (A, AAAA, ... as rr_text knows them, plus the query-only ANY, AXFR, IXFR) or TYPEn.
std::optional<std::uint16_t> query_type(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ANY") return 255;
  if (upper == "AXFR") return 252;
  if (upper == "IXFR") return 251;
  return dns::text_to_type(upper);
}

// `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128). Host bits must be zero.
AclNetwork parse_network(const Token& token) {
  const std::string& text = token.text;
  const std::size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  AclNetwork net;
  if (::inet_pton(AF_INET, address.c_str(), net.address.data()) == 1) {
    net.family = AF_INET;
    net.prefix_bits = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), net.address.data()) == 1) {
    net.family = AF_INET6;
    net.prefix_bits = 128;
  } else {
    fail_at(token.where,
            "acl: 'net' expects CIDR networks such as 10.0.0.0/8 or fd00::/8, got '" + text + "'");
  }
  if (slash != std::string::npos) {
    const std::string bits = text.substr(slash + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() ||
        value > net.prefix_bits) {
      fail_at(token.where, "acl: invalid prefix length in '" + text + "'");
    }
    net.prefix_bits = static_cast<std::uint8_t>(value);
  }
  for (unsigned bit = net.prefix_bits; bit < (net.family == AF_INET ? 32u : 128u); ++bit) {
    if (net.address[bit / 8] & (0x80 >> (bit % 8))) {
      fail_at(token.where, "acl: '" + text + "' has bits set past its prefix length");
    }
  }
  return net;
}

AclRule parse_rule(const DirectiveNode& line) {
  AclRule rule;
  const auto action = parse_action(line.name.text);
  if (!action) {
    fail_at(line.name.where,
            "acl: unknown action '" + line.name.text + "' (expected allow, block, filter or drop)");
  }
  expect_no_block(line, "acl: a rule");
  rule.action = *action;
  enum class Part { kNone, kType, kNet } part = Part::kNone;
  bool all_types = false;
  bool all_nets = false;
  for (const Token& arg : line.args) {
    if (arg.text == "type") {
      part = Part::kType;
    } else if (arg.text == "net") {
      part = Part::kNet;
    } else if (part == Part::kType) {
      if (arg.text == "*") {
        all_types = true;
        continue;
      }
      const auto type = query_type(arg.text);
      if (!type) fail_at(arg.where, "acl: unknown query type '" + arg.text + "'");
      rule.types.push_back(*type);
    } else if (part == Part::kNet) {
      if (arg.text == "*") {
        all_nets = true;
        continue;
      }
      rule.nets.push_back(parse_network(arg));
    } else {
      fail_at(arg.where, "acl: expected 'type' or 'net' before '" + arg.text + "'");
    }
  }
  if (all_types) rule.types.clear();
  if (all_nets) rule.nets.clear();
  return rule;
}

}  // namespace

void setup_acl(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  AclConfig acl;
  for (const Token& arg : node.args) {
    std::optional<std::string> zone = normalize_zone(arg.text);
    if (!zone) fail_at(arg.where, "acl: '" + arg.text + "' is not a valid zone");
    acl.zones.push_back(std::move(*zone));
  }
  if (!node.has_block || node.children.empty()) {
    fail_at(node.name.where,
            "acl: expects a block of rules: acl [ZONES...] { ACTION [type "
            "QTYPE...] [net CIDR...] }");
  }
  for (const DirectiveNode& line : node.children) acl.rules.push_back(parse_rule(line));
  block.acl.push_back(std::move(acl));
}

}  // namespace holdfast::config
