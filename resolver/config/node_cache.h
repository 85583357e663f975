// node-local-dns compatibility: node-cache's command line (kubernetes/dns cmd/node-cache) and the
// Corefile it builds from its template, so the official DaemonSet's args and ConfigMap run as-is.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace holdfast::config {

// node-cache's flags with node-cache's defaults (cmd/node-cache/main.go; -conf, -pidfile and
// -dns.port are CoreDNS's own flags, and -conf stays with holdfast's CLI).
struct NodeCacheFlags {
  std::vector<std::string> local_ips;  // -localip, as written (IPv4 and IPv6 may be mixed)
  std::string base_corefile = "/etc/coredns/Corefile.base";
  std::string corefile = "/etc/Corefile";  // where the filled template goes unless -conf is given
  std::string upstream_svc = "kube-dns";
  std::string kubedns_cm;  // empty: /etc/kube-dns when that folder exists (node-cache)
  bool setup_interface = true;
  bool setup_iptables = true;
  std::string interface_name = "nodelocaldns";
  std::chrono::milliseconds sync_interval{60'000};
  std::uint16_t health_port = 8080;
  std::string metrics_listen_address = "0.0.0.0:9353";
  bool skip_teardown = false;
  std::string pidfile;
  std::uint16_t dns_port = 53;
  bool reload_with_signal = false;
};

struct NodeCacheArguments {
  NodeCacheFlags flags;
  // True when a flag only node-cache has was given (every one but -conf, -pidfile, -dns.port):
  // then the template is filled as node-cache does.
  bool node_cache_mode = false;
  std::vector<std::string> rest;  // argv[0] and every argument that is not node-cache's
};

// Takes node-cache's flags out of `args` (argv[0] first) with Go's flag syntax: `-name value`,
// `-name=value`, one or two dashes; a boolean is `-name` or `-name=true|false|1|0|t|f|...` and
// never takes the next argument. Parsing stops at "--". Errors name the flag and the value.
Result<NodeCacheArguments> split_node_cache_flags(const std::vector<std::string>& args);

// The kube-dns ConfigMap folder (-kubednscm): files `stubDomains` (JSON object: zone → list of
// nameservers) and `upstreamNameservers` (JSON list, at most 3). A missing file is empty.
struct KubeDnsConfig {
  std::map<std::string, std::vector<std::string>> stub_domains;  // sorted: a stable Corefile
  std::vector<std::string> upstream_nameservers;
};

// Errors are "PATH: what is wrong" (bad JSON, wrong shape, a nameserver that is not IP[:port]).
Result<KubeDnsConfig> read_kube_dns_config(const std::string& dir);

// The process environment's value of `name`, or nullopt when it is unset.
std::optional<std::string> process_getenv(const std::string& name);

// What node-cache reads from the process's surroundings; tests replace it.
struct NodeCacheEnvironment {
  std::function<std::optional<std::string>(const std::string&)> getenv = process_getenv;
  // Put in place of __PILLAR__UPSTREAM__SERVERS__ when upstreamNameservers is empty; the
  // forward directive reads its nameservers (ParseOptions::default_resolv_conf).
  std::string resolv_conf = "/etc/resolv.conf";
  std::string default_kubedns_cm = "/etc/kube-dns";  // used when -kubednscm is empty
};

// "KUBE_DNS_UPSTREAM_SERVICE_HOST" for "kube-dns-upstream" (Kubernetes service env vars).
std::string service_host_variable(std::string_view service);

// The base Corefile with node-cache's placeholders filled and one server block appended per stub
// domain. `base_name` names the template in errors. Fails when __PILLAR__CLUSTER__DNS__ is used
// and the service's env var is unset or not an IP.
Result<std::string> fill_corefile_template(std::string_view base, const std::string& base_name,
                                           const NodeCacheFlags& flags,
                                           const KubeDnsConfig& kube_dns,
                                           const NodeCacheEnvironment& environment);

// The Corefile to run in node-cache mode: `path` is -conf, else -corefile; `text` is the filled
// template when -basecorefile exists (the caller writes it to `path`), else nullopt and `path`
// runs as it is (node-cache logs and goes on).
struct NodeCacheCorefile {
  std::string path;
  std::optional<std::string> text;
  std::vector<std::string> warnings;
};
Result<NodeCacheCorefile> build_node_cache_corefile(const NodeCacheFlags& flags,
                                                    const std::string& conf_flag,
                                                    const NodeCacheEnvironment& environment = {});

// Writes `text` to `path` (replacing it atomically); Error "cannot write 'PATH': REASON".
Result<void> write_corefile(const std::string& path, const std::string& text);

// One line per node-cache flag: its effective value, and "active" or "accepted, not active yet
// (what is missing)". For --check-config and the start-up log.
std::vector<std::string> node_cache_flag_summary(const NodeCacheFlags& flags);

}  // namespace holdfast::config
