// Setup of `forward FROM TO... [{ options }]` (CoreDNS forward plugin): destinations, resolv.conf
// expansion and the option block.
#include <filesystem>
#include <limits>

#include <algorithm>

#include "config/address.h"
#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"
#include "config/resolv_conf.h"

namespace holdfast::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxDestinations = 15;  // CoreDNS forward's limit
constexpr std::string_view kSystemResolvConf = "/etc/resolv.conf";
constexpr int kMaxInt = std::numeric_limits<int>::max();

// "/etc/resolv.conf" reads ParseOptions::default_resolv_conf; relative paths resolve against the
// folder of the file that names them, as `import` does.
std::string resolv_conf_path(const Token& token, const BuildContext& context) {
  if (token.text == kSystemResolvConf) return context.options.default_resolv_conf;
  const fs::path path(token.text);
  if (path.is_absolute()) return token.text;
  return (fs::path(token.where.file).parent_path() / path).string();
}

std::vector<Endpoint> glibc_default(const Token& token, const std::string& path,
                                    BuildContext& context) {
  context.warnings.push_back(format_location(token.where) + ": no nameserver in '" + path +
                             "'; forwarding to 127.0.0.1:53 (the glibc default)");
  return {Endpoint{"127.0.0.1", 53}};
}

std::vector<Endpoint> read_destination_file(const Token& token, BuildContext& context) {
  const std::string path = resolv_conf_path(token, context);
  std::error_code error;
  if (token.text.find('/') == std::string::npos && !fs::is_regular_file(path, error)) {
    fail_at(token.where, "forward: '" + token.text + "' is not an IP address or a file");
  }
  const bool use_glibc_default = context.empty_resolv_conf == EmptyResolvConf::kUseGlibcDefault;
  if (context.files_read != nullptr &&
      std::find(context.files_read->begin(), context.files_read->end(), path) ==
          context.files_read->end()) {
    context.files_read->push_back(path);
  }
  Result<std::vector<Endpoint>> servers = read_resolv_conf(path);
  if (!servers) {
    if (use_glibc_default) return glibc_default(token, path, context);
    fail_at(token.where, "forward: " + servers.error().message);
  }
  if (servers->empty()) {
    if (use_glibc_default) return glibc_default(token, path, context);
    fail_at(token.where, "forward: no nameserver in '" + path + "'");
  }
  return *servers;
}

std::vector<Endpoint> resolve_destination(const Token& token, BuildContext& context) {
  std::string_view text = token.text;
  if (const std::size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    const std::string_view name = text.substr(0, scheme);
    if (name != "dns") {
      fail_at(token.where, "forward: '" + token.text + "' uses transport '" + std::string(name) +
                               "', which is not supported");
    }
    text.remove_prefix(scheme + 3);
    if (std::optional<Endpoint> endpoint = parse_endpoint(text, 53)) return {*endpoint};
    fail_at(token.where, "forward: '" + token.text + "' is not an IP address");
  }
  if (std::optional<Endpoint> endpoint = parse_endpoint(text, 53)) return {*endpoint};
  return read_destination_file(token, context);
}

void set_transport(const DirectiveNode& option, ForwardConfig& forward) {
  expect_no_args(option, "forward: '" + option.name.text + "'");
  const bool tcp = option.name.text == "force_tcp";
  if (tcp ? forward.prefer_udp : forward.force_tcp) {
    fail_at(option.name.where, "forward: force_tcp and prefer_udp cannot both be set");
  }
  (tcp ? forward.force_tcp : forward.prefer_udp) = true;
}

ForwardPolicy expect_policy(const Token& token) {
  if (token.text == "random") return ForwardPolicy::kRandom;
  if (token.text == "round_robin") return ForwardPolicy::kRoundRobin;
  if (token.text == "sequential") return ForwardPolicy::kSequential;
  fail_at(token.where, "forward: unknown policy '" + token.text +
                           "' (expected random, round_robin or sequential)");
}

// `health_check DURATION [no_rec] [domain NAME]`: only the duration is supported.
void set_health_check(const DirectiveNode& option, ForwardConfig& forward) {
  expect_min_args(option, 1, "forward: 'health_check' expects a duration");
  if (option.args.size() > 1) {
    fail_at(option.args[1].where,
            "forward: health_check option '" + option.args[1].text + "' is not supported");
  }
  forward.health_check =
      expect_duration(option.args[0], "forward: 'health_check' expects a duration such as 500ms");
}

void apply_option(const DirectiveNode& option, ForwardConfig& forward) {
  const std::string& name = option.name.text;
  const std::string who = "forward: '" + name + "'";
  expect_no_block(option, who);
  if (name == "except") {
    expect_min_args(option, 1, "forward: 'except' expects at least 1 zone");
    for (const Token& arg : option.args) forward.except.push_back(expect_zone(arg, "forward"));
  } else if (name == "force_tcp" || name == "prefer_udp") {
    set_transport(option, forward);
  } else if (name == "max_fails") {
    forward.max_fails = static_cast<int>(expect_integer(expect_one_arg(option, who), 0, kMaxInt,
                                                        who + " expects a non-negative integer"));
  } else if (name == "policy") {
    forward.policy = expect_policy(expect_one_arg(option, who));
  } else if (name == "expire") {
    forward.expire =
        expect_duration(expect_one_arg(option, who), who + " expects a duration such as 10s");
  } else if (name == "health_check") {
    set_health_check(option, forward);
  } else if (name == "max_concurrent") {
    const int limit = static_cast<int>(expect_integer(expect_one_arg(option, who), 0, kMaxInt,
                                                      who + " expects a non-negative integer"));
    forward.max_concurrent = limit == 0 ? std::nullopt : std::optional<int>(limit);
  } else if (name == "tls" || name == "tls_servername") {
    fail_at(option.name.where, "forward: '" + name + "' is not supported");
  } else {
    fail_at(option.name.where, "forward: unknown property '" + name + "'");
  }
}

}  // namespace

void setup_forward(const DirectiveNode& node, ServerBlock& block, BuildContext& context) {
  expect_min_args(node, 2, "directive 'forward' expects a zone and at least 1 destination");
  ForwardConfig forward;
  forward.where = node.name.where;
  forward.from = expect_zone(node.args.front(), "forward");
  for (std::size_t i = 1; i < node.args.size(); ++i) {
    for (Endpoint& endpoint : resolve_destination(node.args[i], context)) {
      if (forward.to.size() == kMaxDestinations) {
        fail_at(node.args[i].where, "forward: at most 15 destinations are allowed");
      }
      forward.to.push_back(std::move(endpoint));
    }
  }
  for (const DirectiveNode& option : node.children) apply_option(option, forward);
  block.forward = std::move(forward);
}

}  // namespace holdfast::config
