// Server block keys (`[dns://]ZONE[:PORT]`) and the directive table that dispatches to setups.
#include "config/server_block.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
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
    DirectiveSpec{"chaos", setup_chaos, Occurrence::kOncePerBlock},
    DirectiveSpec{"acl", setup_acl, Occurrence::kRepeatable},
    DirectiveSpec{"rrl", setup_rrl, Occurrence::kOncePerBlock},
    DirectiveSpec{"workers", setup_workers, Occurrence::kOncePerBlock},
};

struct Key {
  std::string zone;
  std::uint16_t port = 53;
};

using ZonePort = std::pair<std::string, std::uint16_t>;

Key parse_key(const Token& token, std::uint16_t default_port) {
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
  key.port = default_port;
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

void apply_keys(const BlockNode& node, ServerBlock& block, std::uint16_t default_port,
                std::map<ZonePort, SourceLocation>& seen) {
  block.where = node.keys.front().where;
  for (std::size_t i = 0; i < node.keys.size(); ++i) {
    const Token& token = node.keys[i];
    Key key = parse_key(token, default_port);
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
  const auto* const spec = std::find_if(kDirectives.begin(), kDirectives.end(),
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
    apply_keys(node, block, context.options.default_port, seen);
    std::map<std::string, SourceLocation> first_use;
    for (const DirectiveNode& directive : node.directives) {
      apply_directive(directive, block, context, first_use);
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

namespace {

// The 16 bytes of an IPv6 address, IPv4 as v4-mapped; nullopt when not a literal.
std::optional<std::array<std::uint8_t, 16>> address_bytes(const std::string& host) {
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), out.data()) == 1) return out;
  return std::nullopt;
}

bool is_wildcard_or_loopback(const std::array<std::uint8_t, 16>& a) {
  static const std::array<std::uint8_t, 16> kAny6{};
  std::array<std::uint8_t, 16> loop6{};
  loop6[15] = 1;
  const bool mapped = std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) &&
                      a[10] == 0xff && a[11] == 0xff;
  if (mapped) return a[12] == 127 || (a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 0);
  return a == kAny6 || a == loop6;
}

// True when a name under `zone_a` can be under `zone_b` too (one contains the other).
bool zones_overlap(const std::string& a, const std::string& b) {
  auto under = [](const std::string& name, const std::string& zone) {
    if (zone == ".") return true;
    return name == zone || (name.size() > zone.size() &&
                            name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
                            name[name.size() - zone.size() - 1] == '.');
  };
  return under(a, b) || under(b, a);
}

}  // namespace

void reject_forwarding_loops(const std::vector<ServerBlock>& blocks) {
  for (const ServerBlock& block : blocks) {
    if (!block.forward) continue;
    for (const Endpoint& target : block.forward->to) {
      const auto target_bytes = address_bytes(target.host);
      if (!target_bytes) continue;
      for (const ServerBlock& listener : blocks) {
        if (listener.port != target.port) continue;
        // The names this forward sends: under one of its block's zones and under FROM. A loop
        // needs the listener to serve some of them.
        const bool serves_names =
            std::any_of(block.zones.begin(), block.zones.end(), [&](const std::string& forwarded) {
              return zones_overlap(forwarded, block.forward->from) &&
                     std::any_of(listener.zones.begin(), listener.zones.end(),
                                 [&](const std::string& served) {
                                   return zones_overlap(served, forwarded);
                                 });
            });
        if (!serves_names) continue;
        // Without `bind` the block listens on every address: a loopback target is us.
        bool ours = listener.bind.empty() && is_wildcard_or_loopback(*target_bytes);
        for (const std::string& bound : listener.bind) {
          ours = ours || address_bytes(bound) == target_bytes;
        }
        if (ours) {
          fail_at(block.forward->where,
                  "forward " + block.forward->from + ": " + target.host + ":" +
                      std::to_string(target.port) + " is this server's own address (" +
                      listener.zones.front() + ":" + std::to_string(listener.port) +
                      " listens there): every query would loop back; forward to the upstream");
        }
      }
    }
  }
}

}  // namespace holdfast::config
