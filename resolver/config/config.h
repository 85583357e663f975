// The typed configuration that a Corefile becomes: server blocks with their directives, defaults
// filled in. Built once at start; read-only afterwards.
#pragma once

#include <array>
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

// `serve_stale [MAX_STALE] [immediate|verify] { ttl DUR  client_timeout DUR  recheck DUR }` or
// `serve_stale off` inside `cache` (RFC 8767). On by default whenever `cache` is.
struct ServeStaleConfig {
  bool enabled = true;
  std::chrono::seconds max_stale{72 * 3600};  // how long past expiry an answer may be served
  StaleRefreshMode refresh_mode = StaleRefreshMode::kVerify;
  std::chrono::seconds stale_ttl{30};  // TTL of stale answers (RFC 8767 §4 suggests 30 s)
  // verify: the longest a client waits for the upstream before it gets the stale answer. The
  // wait itself follows the upstream's latency (see upstream/latency.h); this caps it. RFC 8767
  // §5 suggests 1.8 s; in front of glibc's 5 s timeout a node-local cache can answer sooner.
  std::chrono::milliseconds client_timeout{400};
  // After an outage: names that were served stale and that no client asks again are refreshed
  // in the background, spread with jitter over this period (names clients ask are refreshed at
  // once, as they ask).
  std::chrono::milliseconds recheck{30'000};
};

// `persist [DIR|off] { size SIZE  flush DUR  sync DUR  negative_max SIZE|PERCENT }`: the LMDB
// store all blocks share.
struct PersistConfig {
  bool enabled = true;
  std::string dir;  // resolved default: /var/lib/holdfast (root), else $XDG_STATE_HOME/holdfast
  std::uint64_t size_bytes = std::uint64_t{1} << 30;
  std::chrono::milliseconds flush{100};
  std::chrono::milliseconds sync{1000};
  // The most the negative answers (NXDOMAIN, NODATA, SERVFAIL) may take of the store: a SIZE, or
  // when unset negative_max_percent of size_bytes. Past it no more negatives are stored, so a
  // flood of random names cannot push out the names that resolve (README "Persistence").
  std::optional<std::uint64_t> negative_max_bytes;
  double negative_max_percent = 10;
  SourceLocation where;  // empty file when nothing was written (the default)
  std::uint64_t negative_cap_bytes() const {
    return negative_max_bytes ? *negative_max_bytes
                              : static_cast<std::uint64_t>(static_cast<double>(size_bytes) *
                                                           negative_max_percent / 100);
  }
  bool operator==(const PersistConfig& other) const {
    return enabled == other.enabled && dir == other.dir && size_bytes == other.size_bytes &&
           flush == other.flush && sync == other.sync &&
           negative_cap_bytes() == other.negative_cap_bytes();
  }
};

// `upstream_limits { max_inflight N  qps N  burst N  queue N  queue_wait DUR  probe_interval DUR
// probes N }`: what one block's forwarder group may ask of its upstreams. Past a limit a query with
// stale data gets it at once; one without waits its turn in a bounded queue, and only when the
// queue is full or its wait runs out gets SERVFAIL (EDE 22). Defaults: see README "Upstream
// protection" for why they are safe for a fleet.
struct UpstreamLimits {
  int max_inflight = 256;
  int qps = 5000;
  int burst = 1000;
  int queue = 10'000;  // misses waiting for a token or an in-flight slot; 0 = refuse at once
  std::chrono::milliseconds queue_wait{3000};  // below glibc's first retry (5 s)
  // While every upstream is down: a timed probe every probe_interval (±20 %), and at most
  // `probes` probe queries (timed or real misses) outstanding at once.
  std::chrono::milliseconds probe_interval{1000};
  int probes = 2;
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

// `chaos [VERSION] [AUTHORS...]` (CoreDNS's chaos plugin): CHAOS-class TXT answers for
// version.bind/version.server (VERSION), authors.bind (AUTHORS) and hostname.bind/id.server (the
// host name). Without it every CHAOS-class query is refused: nothing about the software or the
// host is revealed, and none is ever forwarded.
struct ChaosConfig {
  std::string version;  // empty: "holdfast-" + the daemon's version
  std::vector<std::string> authors;
};

// `acl [ZONES...] { ACTION [type QTYPE...] [net CIDR...] }` (CoreDNS's acl plugin). For a query
// under ZONES (default: the block's), the first rule whose types and networks both match decides;
// no rule matching allows. block → REFUSED with EDE 18 (Prohibited); filter → NOERROR without
// answers, EDE 17 (Filtered); drop → no reply at all.
enum class AclAction : std::uint8_t { kAllow, kBlock, kFilter, kDrop };

struct AclNetwork {
  std::uint8_t family = 0;  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> address{};
  std::uint8_t prefix_bits = 0;
};

struct AclRule {
  AclAction action = AclAction::kAllow;
  std::vector<std::uint16_t> types;  // empty: every type
  std::vector<AclNetwork> nets;      // empty: every client
};

struct AclConfig {
  std::vector<std::string> zones;  // empty: the block's zones
  std::vector<AclRule> rules;
};

// `rrl [ZONES...] { window SECONDS  ipv4-prefix-length N  ipv6-prefix-length N
// responses-per-second N  nodata-per-second N  nxdomains-per-second N  referrals-per-second N
// errors-per-second N  requests-per-second N  slip-ratio N  max-table-size N  report-only }`
// (the CoreDNS external plugin rrl, BIND's response rate limiting). Defaults are the plugin's: no
// allowance set means nothing is limited. An allowance of 0 disables limiting of its category.
struct RrlConfig {
  std::vector<std::string> zones;  // empty: the block's zones
  double window_seconds = 15;      // how far an account may go into debt
  int ipv4_prefix_bits = 24;
  int ipv6_prefix_bits = 56;
  double responses_per_second = 0;
  double nodata_per_second = 0;          // unset: responses_per_second
  double nxdomains_per_second = 0;       // unset: responses_per_second
  double referrals_per_second = 0;       // unset: responses_per_second
  double errors_per_second = 0;          // unset: responses_per_second
  double requests_per_second = 0;        // per client prefix, before any answer; UDP and TCP
  int slip_ratio = 0;                    // every Nth limited UDP response goes out empty with TC=1
  std::size_t max_table_size = 100'000;  // accounts tracked; the least recently used is evicted
  bool report_only = false;              // count what would be limited, limit nothing
  SourceLocation where;
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
  std::optional<std::string> admin;              // `admin unix:PATH`: the socket path
  std::optional<ReloadConfig> reload;
  std::optional<ChaosConfig> chaos;
  std::vector<AclConfig> acl;
  std::optional<RrlConfig> rrl;
  bool loop = false;
  // `workers N|auto` as written in this block (0 = auto); Config::workers is the result.
  std::optional<std::uint32_t> workers;
  SourceLocation workers_where;
  std::optional<PersistConfig> persist;  // as written in this block; Config::persist is the result
  UpstreamLimits upstream_limits;
  std::vector<InactiveDirective> inactive;
  SourceLocation where;
};

inline constexpr std::uint32_t kMaxWorkers = 64;

struct Config {
  std::vector<ServerBlock> blocks;
  PersistConfig persist;  // the one store, from the blocks' `persist` (they must agree) or defaults
  // Loops answering UDP queries (`workers`; the blocks must agree): the owner loop, which does
  // everything, and workers - 1 loops answering fresh cache hits (server/worker_pool.h).
  std::uint32_t workers = 1;
  std::string source;  // file name, or "<embedded default>"
  // Things worth telling the operator that do not stop the start, each "FILE:LINE:COL: text" or
  // "FILE: text" (an import glob that matched nothing, the glibc resolv.conf fallback).
  std::vector<std::string> warnings;
  // resolv.conf files `forward` read its nameservers from: when one changes (a DHCP lease, a VPN),
  // the configuration is read again (server/reloader.h).
  std::vector<std::string> files_read;
};

struct ParseOptions {
  // Where resolv.conf-style forward targets are read from when the Corefile names one; tests
  // point this elsewhere. Relative `import` paths resolve against the importing file's folder.
  std::string default_resolv_conf = "/etc/resolv.conf";
  // Where the store lives when no `persist DIR` is given; empty = /var/lib/holdfast for root,
  // else $XDG_STATE_HOME/holdfast (fallback ~/.local/state/holdfast).
  std::string default_persist_dir;
  // The port of a server block key without one (CoreDNS's -dns.port; node-cache passes it on).
  std::uint16_t default_port = 53;
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
