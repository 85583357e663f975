// Server block keys (`[dns://]ZONE[:PORT]`) and the directive table that dispatches to setups.
#include "config/server_block.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "config/address.h"
#include "config/config_error.h"
#include "config/zone.h"

namespace holdfast::config {
namespace {

enum class Occurrence { kOncePerBlock, kRepeatable };

struct DirectiveSpec {
  std::string_view name;
  DirectiveSetup setup;
  Occurrence occurrence;
};

// Once-only where the CoreDNS plugin returns plugin.ErrOnce.
constexpr std::array kDirectives = {
    DirectiveSpec{"bind", setup_bind, Occurrence::kRepeatable},
    DirectiveSpec{"forward", setup_forward, Occurrence::kOncePerBlock},
    DirectiveSpec{"cache", setup_cache, Occurrence::kOncePerBlock},
    DirectiveSpec{"log", setup_log, Occurrence::kRepeatable},
    DirectiveSpec{"errors", setup_errors, Occurrence::kOncePerBlock},
    DirectiveSpec{"reload", setup_reload, Occurrence::kOncePerBlock},
    DirectiveSpec{"loop", setup_loop, Occurrence::kOncePerBlock},
    DirectiveSpec{"health", setup_health, Occurrence::kOncePerBlock},
    DirectiveSpec{"prometheus", setup_prometheus, Occurrence::kOncePerBlock},
    DirectiveSpec{"persist", setup_persist, Occurrence::kOncePerBlock},
    DirectiveSpec{"upstream_limits", setup_upstream_limits, Occurrence::kOncePerBlock},
    DirectiveSpec{"admin", setup_admin, Occurrence::kOncePerBlock},
};

constexpr std::uint16_t kDefaultPort = 53;

struct Key {
  std::string zone;
  std::uint16_t port = kDefaultPort;
};

using ZonePort = std::pair<std::string, std::uint16_t>;

Key parse_key(const Token& token) {
  std::string_view text = token.text;
  const std::string quoted = "server block key '" + token.text + "'";
  if (const std::size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    const std::string_view name = text.substr(0, scheme);
    if (name != "dns") {
      fail_at(token.where,
              quoted + " uses transport '" + std::string(name) + "', which is not supported");
    }
    text.remove_prefix(scheme + 3);
  }
  Key key;
  if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    const std::optional<std::uint16_t> port = parse_port(text.substr(colon + 1));
    if (!port) fail_at(token.where, quoted + " has an invalid port");
    key.port = *port;
    text = text.substr(0, colon);
  }
  if (text.find('/') != std::string_view::npos) {
    fail_at(token.where, quoted +
                             ": zones from a CIDR are not supported; write the "
                             "in-addr.arpa or ip6.arpa zone");
  }
  std::optional<std::string> zone = normalize_zone(text);
  if (!zone) fail_at(token.where, quoted + " is not a valid zone");
  key.zone = std::move(*zone);
  return key;
}

void apply_keys(const BlockNode& node, ServerBlock& block,
                std::map<ZonePort, SourceLocation>& seen) {
  block.where = node.keys.front().where;
  for (std::size_t i = 0; i < node.keys.size(); ++i) {
    const Token& token = node.keys[i];
    Key key = parse_key(token);
    if (i == 0) {
      block.port = key.port;
    } else if (key.port != block.port) {
      fail_at(token.where, "server block mixes ports " + std::to_string(block.port) + " and " +
                               std::to_string(key.port) + "; use one block per port");
    }
    const auto [first, inserted] = seen.emplace(ZonePort{key.zone, key.port}, token.where);
    if (!inserted) {
      fail_at(token.where, "duplicate zone '" + key.zone + "' on port " + std::to_string(key.port) +
                               " (first at " + format_location(first->second) + ")");
    }
    block.zones.push_back(std::move(key.zone));
  }
}

void apply_directive(const DirectiveNode& node, ServerBlock& block, BuildContext& context,
                     std::map<std::string, SourceLocation>& first_use) {
  const std::string& name = node.name.text;
  const auto spec = std::find_if(kDirectives.begin(), kDirectives.end(),
                                 [&](const DirectiveSpec& d) { return d.name == name; });
  if (spec == kDirectives.end()) fail_at(node.name.where, "unknown directive '" + name + "'");
  const auto [first, inserted] = first_use.emplace(name, node.name.where);
  if (!inserted && spec->occurrence == Occurrence::kOncePerBlock) {
    fail_at(node.name.where, "directive '" + name + "' may appear only once per server block " +
                                 "(first at " + format_location(first->second) + ")");
  }
  spec->setup(node, block, context);
}

}  // namespace

std::vector<ServerBlock> build_server_blocks(const std::vector<BlockNode>& nodes,
                                             BuildContext& context) {
  std::vector<ServerBlock> blocks;
  std::map<ZonePort, SourceLocation> seen;
  for (const BlockNode& node : nodes) {
    ServerBlock block;
    apply_keys(node, block, seen);
    std::map<std::string, SourceLocation> first_use;
    for (const DirectiveNode& directive : node.directives) {
      apply_directive(directive, block, context, first_use);
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

}  // namespace holdfast::config
