// The typed configuration that a Corefile becomes: server blocks with their directives, defaults
// filled in. Built once at start; read-only afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace holdfast::config {

struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// An IP literal with a port. `host` is a numeric IPv4 or IPv6 address without brackets.
struct Endpoint {
  std::string host;
  std::uint16_t port = 53;
  bool operator==(const Endpoint&) const = default;
};

enum class ForwardPolicy { kRandom, kRoundRobin, kSequential };

// `forward FROM TO... { options }` (CoreDNS forward plugin).
struct ForwardConfig {
  std::string from = ".";           // zone in presentation form, lower-case, ending in '.'
  std::vector<std::string> except;  // zones not forwarded, same form
  std::vector<Endpoint> to;         // resolv.conf paths already expanded to their nameservers
  bool force_tcp = false;
  bool prefer_udp = false;
  int max_fails = 2;
  ForwardPolicy policy = ForwardPolicy::kRandom;
  std::chrono::milliseconds expire{10'000};
  std::chrono::milliseconds health_check{500};
  std::optional<int> max_concurrent;  // nullopt = no limit (also `max_concurrent 0`)
  SourceLocation where;
};

enum class StaleRefreshMode { kImmediate, kVerify };

// `serve_stale [DURATION] [immediate|verify]` inside `cache` (CoreDNS cache plugin).
struct ServeStaleConfig {
  bool enabled = false;
  std::chrono::seconds max_stale{3600};  // how long past expiry an answer may still be served
  StaleRefreshMode refresh_mode = StaleRefreshMode::kImmediate;
};

struct PrefetchConfig {
  bool enabled = false;
  int amount = 2;
  std::chrono::seconds duration{60};
  int percent = 10;
};

// `cache [TTL] [ZONES...]` or its block form (CoreDNS cache plugin defaults).
struct CacheConfig {
  bool enabled = false;
  std::uint32_t success_capacity = 9984;
  std::uint32_t success_max_ttl = 3600;
  std::uint32_t success_min_ttl = 5;
  std::uint32_t denial_capacity = 9984;
  std::uint32_t denial_max_ttl = 1800;
  std::uint32_t denial_min_ttl = 5;
  std::uint32_t servfail_ttl = 5;                  // `servfail DUR`, at most 5 minutes; 0 disables
  std::vector<std::string> zones;                  // empty = the block's zones
  bool disable_success = false;                    // `disable success [ZONES]`
  bool disable_denial = false;                     // `disable denial [ZONES]`
  std::vector<std::string> disable_success_zones;  // empty = every zone of the cache
  std::vector<std::string> disable_denial_zones;   // empty = every zone of the cache
  bool keepttl = false;
  PrefetchConfig prefetch;
  ServeStaleConfig serve_stale;
};

// `reload [INTERVAL [JITTER]]` (CoreDNS reload plugin; jitter is clamped to interval / 2).
struct ReloadConfig {
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds jitter{15'000};
};

// A directive that is parsed and validated but whose behaviour arrives in a later release.
struct InactiveDirective {
  // "health", "prometheus", "reload", "loop", or "cache prefetch" / "cache serve_stale" for the
  // cache properties.
  std::string name;
  SourceLocation where;
};

struct ServerBlock {
  std::vector<std::string> zones;  // presentation form, lower-case, ending in '.'
  std::uint16_t port = 53;
  std::vector<std::string> bind;  // IP literals; empty = all interfaces ("0.0.0.0" and "::")
  std::optional<ForwardConfig> forward;
  CacheConfig cache;
  bool log = false;
  bool errors = false;
  std::optional<std::string> health;             // address, e.g. "169.254.20.10:8080"
  std::chrono::milliseconds health_lameduck{0};  // `health { lameduck DUR }`
  std::optional<std::string> prometheus;         // address, e.g. ":9253"
  std::optional<ReloadConfig> reload;
  bool loop = false;
  std::vector<InactiveDirective> inactive;
  SourceLocation where;
};

struct Config {
  std::vector<ServerBlock> blocks;
  std::string source;  // file name, or "<embedded default>"
  // Things worth telling the operator that do not stop the start, each "FILE:LINE:COL: text" or
  // "FILE: text" (an import glob that matched nothing, the glibc resolv.conf fallback).
  std::vector<std::string> warnings;
};

struct ParseOptions {
  // Where resolv.conf-style forward targets are read from when the Corefile names one; tests
  // point this elsewhere. Relative `import` paths resolve against the importing file's folder.
  std::string default_resolv_conf = "/etc/resolv.conf";
};

// Parses a Corefile. Errors are "FILE:LINE:COL: message" (one line, naming the directive and
// what was expected).
Result<Config> parse_corefile_file(const std::string& path, const ParseOptions& options = {});
Result<Config> parse_corefile_text(const std::string& text, const std::string& file_name,
                                   const ParseOptions& options = {});

// The built-in configuration used when no -conf is given: 127.0.0.1 and ::1 on port 5353,
// forward . to the nameservers of /etc/resolv.conf, cache on.
Result<Config> embedded_default(const ParseOptions& options = {});
const char* embedded_default_text() noexcept;

// The effective configuration for --check-config: one block per paragraph, every directive with
// its effective values, and "accepted, not active yet" for each inactive directive.
std::string summary(const Config& config);

}  // namespace holdfast::config
