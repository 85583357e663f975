// Setup of `cache [TTL] [ZONES...] [{ properties }]` (CoreDNS cache plugin): capacities, TTL
// bounds, servfail caching, prefetch and serve-stale (RFC 8767).
#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();
constexpr milliseconds kMaxServfailTtl{5 * 60 * 1000};  // CoreDNS refuses longer
constexpr int kMinPrefetchPercent = 10;                 // CoreDNS's accepted range
constexpr int kMaxPrefetchPercent = 90;

std::string who(const DirectiveNode& property) {
  return "cache: '" + property.name.text + "'";
}

std::uint32_t to_seconds_rounding_up(milliseconds duration) {
  return static_cast<std::uint32_t>(std::chrono::ceil<std::chrono::seconds>(duration).count());
}

// `success|denial CAPACITY [TTL [MINTTL]]`.
void set_bucket(const DirectiveNode& property, std::uint32_t& capacity, std::uint32_t& max_ttl,
                std::uint32_t& min_ttl) {
  const std::string name = who(property);
  const std::string usage = name + " expects CAPACITY [TTL [MINTTL]]";
  expect_min_args(property, 1, usage);
  expect_max_args(property, 3, usage);
  const std::vector<Token>& args = property.args;
  capacity = static_cast<std::uint32_t>(
      expect_integer(args[0], 1, kMaxUint32, name + " capacity must be a positive integer"));
  if (args.size() < 2) return;
  max_ttl = static_cast<std::uint32_t>(
      expect_integer(args[1], 1, kMaxUint32, name + " TTL must be a positive integer"));
  if (args.size() < 3) return;
  min_ttl = static_cast<std::uint32_t>(
      expect_integer(args[2], 0, kMaxUint32, name + " minimum TTL must be a non-negative integer"));
  if (min_ttl > max_ttl) {
    fail_at(args[2].where, name + " minimum TTL " + std::to_string(min_ttl) + " exceeds TTL " +
                               std::to_string(max_ttl));
  }
}

void set_success(const DirectiveNode& property, ServerBlock& block) {
  CacheConfig& cache = block.cache;
  set_bucket(property, cache.success_capacity, cache.success_max_ttl, cache.success_min_ttl);
}

void set_denial(const DirectiveNode& property, ServerBlock& block) {
  CacheConfig& cache = block.cache;
  set_bucket(property, cache.denial_capacity, cache.denial_max_ttl, cache.denial_min_ttl);
}

void set_servfail(const DirectiveNode& property, ServerBlock& block) {
  const Token& arg = expect_one_arg(property, who(property));
  const milliseconds ttl = expect_duration(arg, who(property) + " expects a duration such as 5s");
  if (ttl > kMaxServfailTtl)
    fail_at(arg.where, "cache: 'servfail' may be at most 5m, got '" + arg.text + "'");
  block.cache.servfail_ttl = to_seconds_rounding_up(ttl);
}

// `disable success|denial [ZONES...]`.
void set_disable(const DirectiveNode& property, ServerBlock& block) {
  expect_min_args(property, 1, "cache: 'disable' expects success or denial, then optional zones");
  const Token& kind = property.args.front();
  if (kind.text != "success" && kind.text != "denial") {
    fail_at(kind.where, "cache: 'disable' expects success or denial, got '" + kind.text + "'");
  }
  CacheConfig& cache = block.cache;
  const bool success = kind.text == "success";
  (success ? cache.disable_success : cache.disable_denial) = true;
  std::vector<std::string>& zones =
      success ? cache.disable_success_zones : cache.disable_denial_zones;
  for (std::size_t i = 1; i < property.args.size(); ++i) {
    zones.push_back(expect_zone(property.args[i], "cache"));
  }
}

void set_keepttl(const DirectiveNode& property, ServerBlock& block) {
  expect_no_args(property, who(property));
  block.cache.keepttl = true;
}

int expect_percentage(const Token& token) {
  std::string_view text = token.text;
  const bool has_sign = text.ends_with('%');
  if (has_sign) text.remove_suffix(1);
  const std::optional<std::int64_t> percent = parse_integer(text);
  if (!has_sign || !percent || *percent < kMinPrefetchPercent || *percent > kMaxPrefetchPercent) {
    fail_at(token.where,
            "cache: 'prefetch' percentage must be between 10% and 90%, got '" + token.text + "'");
  }
  return static_cast<int>(*percent);
}

// `prefetch AMOUNT [DURATION [PERCENTAGE%]]`.
void set_prefetch(const DirectiveNode& property, ServerBlock& block) {
  const std::string usage = "cache: 'prefetch' expects AMOUNT [DURATION [PERCENTAGE%]]";
  expect_min_args(property, 1, usage);
  expect_max_args(property, 3, usage);
  const std::vector<Token>& args = property.args;
  PrefetchConfig& prefetch = block.cache.prefetch;
  prefetch.enabled = true;
  prefetch.amount =
      static_cast<int>(expect_integer(args[0], 0, std::numeric_limits<int>::max(),
                                      "cache: 'prefetch' amount must be a non-negative integer"));
  if (args.size() >= 2) {
    const milliseconds duration =
        expect_duration(args[1], "cache: 'prefetch' duration expects a duration such as 1m");
    prefetch.duration = std::chrono::ceil<std::chrono::seconds>(duration);
  }
  if (args.size() == 3) prefetch.percent = expect_percentage(args[2]);
}

// `serve_stale off` or `serve_stale [MAX_STALE] [immediate|verify] [{ ttl DUR  client_timeout
// DUR  recheck DUR }]`. Unset values keep Holdfast's defaults (72h, verify, 30s, 400ms, 30s).
void set_serve_stale_property(const DirectiveNode& option, ServeStaleConfig& stale) {
  const std::string who_option = "serve_stale: '" + option.name.text + "'";
  expect_no_block(option, who_option);
  const Token& arg = expect_one_arg(option, who_option);
  const milliseconds value = expect_duration(arg, who_option + " expects a duration such as 30s");
  if (option.name.text == "ttl") {
    if (value < std::chrono::seconds(1)) fail_at(arg.where, who_option + " must be at least 1s");
    stale.stale_ttl = std::chrono::ceil<std::chrono::seconds>(value);
  } else if (option.name.text == "client_timeout") {
    if (value < milliseconds(1)) fail_at(arg.where, who_option + " must be at least 1ms");
    stale.client_timeout = value;
  } else if (option.name.text == "recheck") {
    if (value < milliseconds(100)) fail_at(arg.where, who_option + " must be at least 100ms");
    stale.recheck = value;
  } else {
    fail_at(option.name.where, "serve_stale: unknown property '" + option.name.text + "'");
  }
}

void set_serve_stale(const DirectiveNode& property, ServerBlock& block) {
  ServeStaleConfig& stale = block.cache.serve_stale;
  if (property.args.size() == 1 && property.args[0].text == "off") {
    expect_no_block(property, "cache: 'serve_stale off'");
    stale.enabled = false;
    return;
  }
  expect_max_args(property, 2,
                  "cache: 'serve_stale' expects at most 2 arguments ([MAX_STALE] "
                  "[immediate|verify]) or 'off'");
  stale.enabled = true;
  for (const Token& arg : property.args) {
    std::string lower = arg.text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower == "immediate" || lower == "verify") {
      stale.refresh_mode =
          lower == "verify" ? StaleRefreshMode::kVerify : StaleRefreshMode::kImmediate;
      continue;
    }
    if (&arg != &property.args.front()) {
      fail_at(arg.where, "cache: 'serve_stale' refresh mode must be immediate or verify, got '" +
                             arg.text + "'");
    }
    const milliseconds max_stale =
        expect_duration(arg, "cache: 'serve_stale' expects a duration such as 72h");
    stale.max_stale = std::chrono::ceil<std::chrono::seconds>(max_stale);
  }
  for (const DirectiveNode& option : property.children) set_serve_stale_property(option, stale);
}

struct Property {
  std::string_view name;
  void (*apply)(const DirectiveNode& property, ServerBlock& block);
};

constexpr std::array kProperties = {
    Property{"success", set_success},         Property{"denial", set_denial},
    Property{"servfail", set_servfail},       Property{"disable", set_disable},
    Property{"keepttl", set_keepttl},         Property{"prefetch", set_prefetch},
    Property{"serve_stale", set_serve_stale},
};

void apply_property(const DirectiveNode& property, ServerBlock& block) {
  const auto* const found =
      std::find_if(kProperties.begin(), kProperties.end(),
                   [&](const Property& p) { return p.name == property.name.text; });
  if (found == kProperties.end()) {
    fail_at(property.name.where, "cache: unknown property '" + property.name.text + "'");
  }
  if (property.name.text != "serve_stale") expect_no_block(property, who(property));
  found->apply(property, block);
}

// `cache [TTL] [ZONES...]`: a leading integer is the maximum TTL of success and denial.
void apply_arguments(const DirectiveNode& node, CacheConfig& cache) {
  std::size_t first_zone = 0;
  if (!node.args.empty() && parse_integer(node.args.front().text)) {
    const auto ttl = static_cast<std::uint32_t>(
        expect_integer(node.args.front(), 1, kMaxUint32, "cache: TTL must be a positive integer"));
    cache.success_max_ttl = ttl;
    cache.denial_max_ttl = ttl;
    first_zone = 1;
  }
  for (std::size_t i = first_zone; i < node.args.size(); ++i) {
    cache.zones.push_back(expect_zone(node.args[i], "cache"));
  }
}

}  // namespace

void setup_cache(const DirectiveNode& node, ServerBlock& block, BuildContext&) {
  CacheConfig& cache = block.cache;
  cache.enabled = true;
  apply_arguments(node, cache);
  for (const DirectiveNode& property : node.children) apply_property(property, block);
  // A maximum below the default minimum (`cache 2`) lowers the minimum with it; an explicit
  // minimum above its own TTL was refused in set_bucket.
  cache.success_min_ttl = std::min(cache.success_min_ttl, cache.success_max_ttl);
  cache.denial_min_ttl = std::min(cache.denial_min_ttl, cache.denial_max_ttl);
}

}  // namespace holdfast::config
