// Setup of `persist [DIR|off] { size SIZE  flush DUR  sync DUR  negative_max SIZE|PERCENT }` and of
// `upstream_limits { max_inflight N  qps N  burst N  queue N  queue_wait DUR  probe_interval DUR
// probes N }`, and the merge of `persist` across blocks.
#include "config/persist.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"

namespace holdfast::config {
namespace {

constexpr std::uint64_t kMinStoreBytes = std::uint64_t{1} << 20;  // LMDB needs a few pages
constexpr std::int64_t kMaxLimit = 10'000'000;
constexpr std::int64_t kMaxQps = 1'000'000;

// `negative_max 64MiB` or `negative_max 10%` (0 stores no negative answer at all).
void set_negative_max(const Token& arg, const std::string& who, PersistConfig& persist) {
  const std::string& text = arg.text;
  const std::string wrong =
      who + " expects a size such as 64MiB or a percentage from 0% to 100%, got '" + text + "'";
  if (!text.empty() && text.back() == '%') {
    const auto percent = parse_integer(std::string_view(text).substr(0, text.size() - 1));
    if (!percent || *percent < 0 || *percent > 100) fail_at(arg.where, wrong);
    persist.negative_max_bytes.reset();
    persist.negative_max_percent = static_cast<double>(*percent);
    return;
  }
  const auto size = parse_size(text);
  if (!size) fail_at(arg.where, wrong);
  persist.negative_max_bytes = *size;
}

void set_persist_property(const DirectiveNode& option, PersistConfig& persist) {
  const std::string who = "persist: '" + option.name.text + "'";
  expect_no_block(option, who);
  const Token& arg = expect_one_arg(option, who);
  if (option.name.text == "size") {
    const auto size = parse_size(arg.text);
    if (!size)
      fail_at(arg.where, who + " expects a size such as 1GiB or 512MiB, got '" + arg.text + "'");
    if (*size < kMinStoreBytes) fail_at(arg.where, who + " must be at least 1MiB");
    persist.size_bytes = *size;
  } else if (option.name.text == "flush") {
    persist.flush = expect_duration(arg, who + " expects a duration such as 100ms");
    if (persist.flush.count() < 1) fail_at(arg.where, who + " must be at least 1ms");
  } else if (option.name.text == "sync") {
    persist.sync = expect_duration(arg, who + " expects a duration such as 1s");
  } else if (option.name.text == "negative_max") {
    set_negative_max(arg, who, persist);
  } else {
    fail_at(option.name.where, "persist: unknown property '" + option.name.text + "'");
  }
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const auto number = parse_integer(text.substr(0, digits));
  if (!number) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  struct Unit {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr Unit kUnits[] = {{"", 1},
                                    {"B", 1},
                                    {"KB", 1000},
                                    {"KiB", 1024},
                                    {"MB", 1000ull * 1000},
                                    {"MiB", 1024ull * 1024},
                                    {"GB", 1000ull * 1000 * 1000},
                                    {"GiB", 1024ull * 1024 * 1024},
                                    {"TB", 1000ull * 1000 * 1000 * 1000},
                                    {"TiB", 1024ull * 1024 * 1024 * 1024}};
  for (const Unit& u : kUnits) {
    if (unit == u.name) return static_cast<std::uint64_t>(*number) * u.factor;
  }
  return std::nullopt;
}

std::string default_persist_dir() {
  if (geteuid() == 0) return "/var/lib/holdfast";
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state == '/') {
    return std::string(state) + "/holdfast";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/state/holdfast";
}

void setup_persist(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  PersistConfig persist;
  persist.where = node.name.where;
  expect_max_args(node, 1, "directive 'persist' expects at most 1 argument (DIR or off)");
  if (!node.args.empty()) {
    const Token& arg = node.args.front();
    if (arg.text == "off") {
      expect_no_block(node, "directive 'persist off'");
      persist.enabled = false;
    } else if (arg.text.empty()) {
      fail_at(arg.where, "persist: the directory must not be empty");
    } else {
      persist.dir = arg.text;
    }
  }
  for (const DirectiveNode& option : node.children) set_persist_property(option, persist);
  block.persist = persist;
}

void setup_upstream_limits(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  expect_no_args(node, "directive 'upstream_limits'");
  UpstreamLimits& limits = block.upstream_limits;
  for (const DirectiveNode& option : node.children) {
    const std::string& name = option.name.text;
    static constexpr std::string_view kKnown[] = {
        "max_inflight", "qps", "burst", "queue", "queue_wait", "probe_interval", "probes"};
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      fail_at(option.name.where, "upstream_limits: unknown property '" + name + "'");
    }
    const std::string who = "upstream_limits: '" + name + "'";
    expect_no_block(option, who);
    const Token& arg = expect_one_arg(option, who);
    if (name == "queue_wait" || name == "probe_interval") {
      const auto value = expect_duration(arg, who + " expects a duration such as 1s");
      if (value.count() < 1) fail_at(arg.where, who + " must be at least 1ms");
      (name == "queue_wait" ? limits.queue_wait : limits.probe_interval) = value;
      continue;
    }
    if (name == "qps") {  // the limiter keeps the last qps admission times (8 bytes each)
      limits.qps = static_cast<int>(expect_integer(
          arg, 1, kMaxQps, who + " expects a positive integer up to " + std::to_string(kMaxQps)));
      continue;
    }
    if (name == "queue") {  // 0 is meaningful: no queue, over the limits means SERVFAIL at once
      limits.queue = static_cast<int>(
          expect_integer(arg, 0, kMaxLimit, who + " expects a non-negative integer"));
      continue;
    }
    const int value =
        static_cast<int>(expect_integer(arg, 1, kMaxLimit, who + " expects a positive integer"));
    if (name == "max_inflight") {
      limits.max_inflight = value;
    } else if (name == "qps") {
      limits.qps = value;
    } else if (name == "burst") {
      limits.burst = value;
    } else if (name == "probes") {
      limits.probes = value;
    } else {
      fail_at(option.name.where, "upstream_limits: unknown property '" + name + "'");
    }
  }
}

PersistConfig resolve_persist(const std::vector<ServerBlock>& blocks, const ParseOptions& options) {
  const ServerBlock* first = nullptr;
  for (const ServerBlock& block : blocks) {
    if (!block.persist) continue;
    if (first == nullptr) {
      first = &block;
    } else if (!(*block.persist == *first->persist)) {
      fail_at(block.persist->where,
              "persist: all blocks share one store, but this differs from the one at " +
                  first->persist->where.file + ":" + std::to_string(first->persist->where.line));
    }
  }
  PersistConfig persist = first != nullptr ? *first->persist : PersistConfig{};
  if (persist.dir.empty()) {
    persist.dir =
        options.default_persist_dir.empty() ? default_persist_dir() : options.default_persist_dir;
  }
  return persist;
}

}  // namespace holdfast::config
