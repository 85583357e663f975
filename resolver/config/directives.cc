// Setup of the small directives: bind, log, errors, reload, loop, health, prometheus, workers.
#include <sched.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "config/address.h"
#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"
#include "config/duration.h"

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinReloadInterval{2'000};  // CoreDNS reload plugin limits
constexpr milliseconds kMinReloadJitter{1'000};
constexpr std::string_view kDefaultHealthAddress = ":8080";
constexpr std::string_view kDefaultPrometheusAddress = "localhost:9153";

void mark_inactive(const DirectiveNode& node, ServerBlock& block) {
  block.inactive.push_back({node.name.text, node.name.where});
}

// "eth0" or "lo": a word with a letter and neither '.' nor ':'.
bool looks_like_interface(const std::string& text) {
  return text.find_first_of(".:") == std::string::npos &&
         std::any_of(text.begin(), text.end(),
                     [](unsigned char ch) { return std::isalpha(ch) != 0; });
}

std::string expect_listen_address(const Token& token, const std::string& directive,
                                  std::string_view example) {
  if (!is_listen_address(token.text)) {
    fail_at(token.where, directive + ": '" + token.text +
                             "' is not an address with a port, such as " + std::string(example));
  }
  return token.text;
}

void check_log_classes(const DirectiveNode& property) {
  constexpr std::array<std::string_view, 4> kClasses = {"success", "denial", "error", "all"};
  expect_no_block(property, "log: 'class'");
  expect_min_args(property, 1, "log: 'class' expects at least 1 class");
  for (const Token& arg : property.args) {
    std::string lower = arg.text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (std::find(kClasses.begin(), kClasses.end(), lower) == kClasses.end()) {
      fail_at(arg.where,
              "log: unknown class '" + arg.text + "' (expected success, denial, error or all)");
    }
  }
}

}  // namespace

void setup_bind(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'bind'");
  expect_min_args(node, 1, "directive 'bind' expects at least 1 address");
  for (const Token& arg : node.args) {
    const std::optional<std::string> ip = canonical_ip(arg.text);
    if (!ip) {
      fail_at(arg.where,
              "bind: '" + arg.text + "' is not an IP address" +
                  (looks_like_interface(arg.text) ? " (interface names are not supported)" : ""));
    }
    if (std::find(block.bind.begin(), block.bind.end(), *ip) == block.bind.end()) {
      block.bind.push_back(*ip);
    }
  }
}

// `log [NAMES...] [FORMAT] [{ class CLASSES... }]`: names and format are accepted as written.
void setup_log(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  for (const DirectiveNode& property : node.children) {
    if (property.name.text != "class") {
      fail_at(property.name.where, "log: unknown property '" + property.name.text + "'");
    }
    check_log_classes(property);
  }
  block.log = true;
}

void setup_errors(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_max_args(node, 1, "directive 'errors' expects at most 1 argument (stdout)");
  if (!node.args.empty() && node.args.front().text != "stdout") {
    fail_at(node.args.front().where,
            "errors: unknown argument '" + node.args.front().text + "' (only stdout)");
  }
  for (const DirectiveNode& property : node.children) {
    const std::string& name = property.name.text;
    if (name == "consolidate" || name == "stacktrace") {
      fail_at(property.name.where, "errors: '" + name + "' is not supported");
    }
    fail_at(property.name.where, "errors: unknown property '" + name + "'");
  }
  block.errors = true;
}

void setup_reload(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'reload'");
  expect_max_args(node, 2, "directive 'reload' expects at most 2 arguments (INTERVAL [JITTER])");
  ReloadConfig reload;
  if (!node.args.empty()) {
    const Token& arg = node.args[0];
    reload.interval = expect_duration(arg, "reload: interval expects a duration such as 30s");
    if (reload.interval < kMinReloadInterval) {
      fail_at(arg.where, "reload: interval must be at least 2s, got '" + arg.text + "'");
    }
  }
  if (node.args.size() == 2) {
    const Token& arg = node.args[1];
    reload.jitter = expect_duration(arg, "reload: jitter expects a duration such as 15s");
    if (reload.jitter < kMinReloadJitter) {
      fail_at(arg.where, "reload: jitter must be at least 1s, got '" + arg.text + "'");
    }
  }
  reload.jitter = std::min(reload.jitter, reload.interval / 2);  // CoreDNS clamps the same way
  block.reload = reload;
}

void setup_loop(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'loop'");
  expect_no_args(node, "directive 'loop'");
  block.loop = true;
  mark_inactive(node, block);
}

// `health [ADDRESS] [{ lameduck DURATION }]`.
void setup_health(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_max_args(node, 1, "directive 'health' expects at most 1 address");
  block.health = node.args.empty()
                     ? std::string(kDefaultHealthAddress)
                     : expect_listen_address(node.args.front(), "health", kDefaultHealthAddress);
  for (const DirectiveNode& property : node.children) {
    if (property.name.text != "lameduck") {
      fail_at(property.name.where, "health: unknown property '" + property.name.text + "'");
    }
    expect_no_block(property, "health: 'lameduck'");
    const Token& arg = expect_one_arg(property, "health: 'lameduck'");
    block.health_lameduck =
        expect_duration(arg, "health: 'lameduck' expects a duration such as 5s");
  }
}

void setup_prometheus(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'prometheus'");
  expect_max_args(node, 1, "directive 'prometheus' expects at most 1 address");
  block.prometheus = node.args.empty() ? std::string(kDefaultPrometheusAddress)
                                       : expect_listen_address(node.args.front(), "prometheus",
                                                               kDefaultPrometheusAddress);
}

void setup_chaos(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'chaos'");
  ChaosConfig chaos;
  for (std::size_t i = 0; i < node.args.size(); ++i) {
    const Token& arg = node.args[i];
    if (arg.text.empty() || arg.text.size() > 255) {
      fail_at(arg.where, "chaos: each value must be 1 to 255 characters (one TXT string)");
    }
    if (i == 0) {
      chaos.version = arg.text;
    } else {
      chaos.authors.push_back(arg.text);
    }
  }
  block.chaos = std::move(chaos);
}

void setup_admin(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'admin'");
  const Token& arg = expect_one_arg(node, "directive 'admin' expects unix:PATH");
  constexpr std::string_view kScheme = "unix:";
  if (arg.text.rfind(kScheme, 0) != 0 || arg.text.size() <= kScheme.size() ||
      arg.text[kScheme.size()] != '/') {
    fail_at(arg.where, "admin: expects unix:/ABSOLUTE/PATH, got '" + arg.text + "'");
  }
  block.admin = arg.text.substr(kScheme.size());
}

// `workers N|auto`: how many loops answer UDP (1 to kMaxWorkers).
void setup_workers(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_block(node, "directive 'workers'");
  const Token& arg = expect_one_arg(node, "directive 'workers'");
  block.workers_where = node.name.where;
  if (arg.text == "auto") {
    block.workers = 0;
    return;
  }
  block.workers = static_cast<std::uint32_t>(expect_integer(
      arg, 1, kMaxWorkers,
      "workers: expects 'auto' or a count from 1 to " + std::to_string(kMaxWorkers)));
}

std::uint32_t resolve_workers(const std::vector<ServerBlock>& blocks) {
  const ServerBlock* first = nullptr;
  for (const ServerBlock& block : blocks) {
    if (!block.workers) continue;
    if (first == nullptr) {
      first = &block;
    } else if (*block.workers != *first->workers) {
      fail_at(block.workers_where,
              "workers: every block must name the same count (the loops "
              "serve the whole process), " +
                  format_location(first->workers_where) + " says otherwise");
    }
  }
  if (first == nullptr) return 1;
  if (*first->workers != 0) return *first->workers;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
  return static_cast<std::uint32_t>(
      std::clamp<int>(CPU_COUNT(&cpus), 1, static_cast<int>(kMaxWorkers)));
}

}  // namespace holdfast::config
