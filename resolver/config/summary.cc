// The human-readable effective configuration printed by --check-config.
#include <sstream>

#include "config/address.h"
#include "config/config.h"
#include "config/config_error.h"
#include "config/duration.h"

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string seconds(std::uint32_t value) {
  return format_duration(milliseconds(value * 1000LL));
}

const char* policy_name(ForwardPolicy policy) {
  switch (policy) {
    case ForwardPolicy::kRandom:
      return "random";
    case ForwardPolicy::kRoundRobin:
      return "round_robin";
    case ForwardPolicy::kSequential:
      return "sequential";
  }
  return "random";
}

void write_forward(std::ostream& out, const std::optional<ForwardConfig>& forward) {
  if (!forward) {
    out << "  forward: none (queries are not forwarded)\n";
    return;
  }
  std::vector<std::string> targets;
  for (const Endpoint& endpoint : forward->to) targets.push_back(format_endpoint(endpoint));
  out << "  forward: " << forward->from << " to " << join(targets, " ") << "\n";
  std::vector<std::string> options;
  if (!forward->except.empty()) options.push_back("except " + join(forward->except, " "));
  if (forward->force_tcp) options.emplace_back("force_tcp");
  if (forward->prefer_udp) options.emplace_back("prefer_udp");
  options.push_back(std::string("policy ") + policy_name(forward->policy));
  options.push_back("max_fails " + std::to_string(forward->max_fails));
  options.push_back("expire " + format_duration(forward->expire));
  options.push_back("health_check " + format_duration(forward->health_check));
  options.push_back("max_concurrent " + (forward->max_concurrent
                                             ? std::to_string(*forward->max_concurrent)
                                             : std::string("unlimited")));
  out << "  forward options: " << join(options, ", ") << "\n";
}

std::string bucket(const char* name, std::uint32_t capacity, std::uint32_t min_ttl,
                   std::uint32_t max_ttl, bool disabled, const std::vector<std::string>& zones) {
  std::string text = std::string(name) + " capacity " + std::to_string(capacity) + ", TTL " +
                     seconds(min_ttl) + ".." + seconds(max_ttl);
  if (disabled) text += zones.empty() ? " (disabled)" : " (disabled in " + join(zones, " ") + ")";
  return text;
}

void write_cache(std::ostream& out, const CacheConfig& cache) {
  if (!cache.enabled) {
    out << "  cache: off\n";
    return;
  }
  out << "  cache: "
      << bucket("success", cache.success_capacity, cache.success_min_ttl, cache.success_max_ttl,
                cache.disable_success, cache.disable_success_zones)
      << "; "
      << bucket("denial", cache.denial_capacity, cache.denial_min_ttl, cache.denial_max_ttl,
                cache.disable_denial, cache.disable_denial_zones)
      << "; servfail " << seconds(cache.servfail_ttl) << "\n";
  out << "  cache zones: "
      << (cache.zones.empty() ? std::string("the block's zones") : join(cache.zones, " "))
      << (cache.keepttl ? ", keepttl" : "") << "\n";
  const ServeStaleConfig& stale = cache.serve_stale;
  if (stale.enabled) {
    out << "  serve_stale: up to " << format_duration(stale.max_stale) << " past expiry, "
        << (stale.refresh_mode == StaleRefreshMode::kVerify ? "verify" : "immediate") << ", ttl "
        << format_duration(stale.stale_ttl) << ", client_timeout "
        << format_duration(stale.client_timeout) << ", recheck " << format_duration(stale.recheck)
        << "\n";
  } else {
    out << "  serve_stale: off\n";
  }
  if (cache.prefetch.enabled) {
    out << "  prefetch: amount " << cache.prefetch.amount << " within "
        << format_duration(cache.prefetch.duration) << ", below " << cache.prefetch.percent
        << "% of the TTL\n";
  }
}

// The values of a directive that is accepted but not active yet, under its line.
std::string inactive_detail(const InactiveDirective& directive, const ServerBlock& block) {
  const CacheConfig& cache = block.cache;
  if (directive.name == "cache prefetch") {
    return "amount " + std::to_string(cache.prefetch.amount) + ", duration " +
           format_duration(cache.prefetch.duration) + ", percentage " +
           std::to_string(cache.prefetch.percent) + "%";
  }
  if (directive.name == "cache serve_stale") {
    return "up to " + format_duration(cache.serve_stale.max_stale) + " past expiry, refresh " +
           (cache.serve_stale.refresh_mode == StaleRefreshMode::kVerify ? "verify" : "immediate");
  }
  return "";
}

void write_block(std::ostream& out, const ServerBlock& block) {
  out << "server block at " << format_location(block.where) << "\n";
  out << "  zones: " << join(block.zones, " ") << "\n";
  out << "  port: " << block.port << "\n";
  out << "  bind: "
      << (block.bind.empty()
              ? std::string(block.acl.empty()
                                ? "all addresses (0.0.0.0 and ::), answering loopback "
                                  "and this node's subnets only"
                                : "all addresses (0.0.0.0 and ::)")
              : join(block.bind, " "))
      << "\n";
  write_forward(out, block.forward);
  write_cache(out, block.cache);
  const UpstreamLimits& limits = block.upstream_limits;
  out << "  upstream_limits: max_inflight " << limits.max_inflight << ", qps " << limits.qps
      << ", burst " << limits.burst << ", queue " << limits.queue << ", queue_wait "
      << format_duration(limits.queue_wait) << ", probe_interval "
      << format_duration(limits.probe_interval) << ", probes " << limits.probes << "\n";
  if (block.prometheus) out << "  prometheus: " << *block.prometheus << "\n";
  if (block.admin) out << "  admin: unix:" << *block.admin << "\n";
  for (const AclConfig& acl : block.acl) {
    static const char* const kActions[] = {"allow", "block", "filter", "drop"};
    out << "  acl";
    if (!acl.zones.empty()) out << ' ' << join(acl.zones, " ");
    out << ":";
    for (const AclRule& rule : acl.rules) {
      out << " " << kActions[static_cast<int>(rule.action)] << "(" << rule.types.size()
          << " types, " << rule.nets.size() << " nets)";
    }
    out << "\n";
  }
  if (block.rrl) {
    const RrlConfig& r = *block.rrl;
    out << "  rrl" << (r.zones.empty() ? "" : " " + join(r.zones, " ")) << ": window "
        << r.window_seconds << "s, prefixes /" << r.ipv4_prefix_bits << " /" << r.ipv6_prefix_bits
        << ", per second: responses " << r.responses_per_second << ", nodata "
        << r.nodata_per_second << ", nxdomains " << r.nxdomains_per_second << ", referrals "
        << r.referrals_per_second << ", errors " << r.errors_per_second << ", requests "
        << r.requests_per_second << "; slip-ratio " << r.slip_ratio << ", max-table-size "
        << r.max_table_size << (r.report_only ? ", report-only" : "") << "\n";
  }
  if (block.chaos) {
    out << "  chaos: version "
        << (block.chaos->version.empty() ? "holdfast-VERSION" : block.chaos->version);
    for (const std::string& author : block.chaos->authors) out << ", author " << author;
    out << "\n";
  }
  if (block.health) {
    out << "  health: " << *block.health << ", lameduck " << format_duration(block.health_lameduck)
        << "\n";
  }
  out << "  log: " << (block.log ? "on" : "off") << "\n";
  out << "  errors: " << (block.errors ? "on" : "off") << "\n";
  if (block.reload) {
    out << "  reload: the file's hash every " << format_duration(block.reload->interval) << " ± "
        << format_duration(block.reload->jitter) << "\n";
  }
  for (const InactiveDirective& directive : block.inactive) {
    out << "  " << directive.name << ": accepted, not active yet (" << directive.where.file << ":"
        << directive.where.line << ")\n";
    if (std::string detail = inactive_detail(directive, block); !detail.empty()) {
      out << "    " << detail << "\n";
    }
  }
}

}  // namespace

std::string summary(const Config& config) {
  std::ostringstream out;
  out << "configuration: " << config.source << "\n";
  for (const std::string& warning : config.warnings) out << "warning: " << warning << "\n";
  const PersistConfig& persist = config.persist;
  if (persist.enabled) {
    out << "persist: " << persist.dir << ", size " << persist.size_bytes << " bytes, flush "
        << format_duration(persist.flush) << ", sync " << format_duration(persist.sync)
        << ", negative_max " << persist.negative_cap_bytes() << " bytes\n";
  } else {
    out << "persist: off (memory only)\n";
  }
  out << "workers: " << config.workers << "\n";
  for (const ServerBlock& block : config.blocks) {
    out << "\n";
    write_block(out, block);
  }
  return out.str();
}

}  // namespace holdfast::config
