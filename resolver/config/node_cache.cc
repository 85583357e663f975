// node-cache's flags (Go flag syntax) and its Corefile template: placeholders, the kube-dns
// ConfigMap's stubDomains and upstreamNameservers (kubernetes/dns cmd/node-cache/app).
#include "config/node_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/address.h"
#include "config/duration.h"
#include "config/text_file.h"

namespace holdfast::config {
namespace {

// FORMAT: node-cache's placeholders and the blocks it appends (cmd/node-cache/app/configmap.go).
constexpr std::string_view kUpstreamServers = "__PILLAR__UPSTREAM__SERVERS__";
constexpr std::string_view kClusterDns = "__PILLAR__CLUSTER__DNS__";
constexpr std::string_view kLocalDns = "__PILLAR__LOCAL__DNS__";
constexpr std::string_view kDnsServer = "__PILLAR__DNS__SERVER__";
constexpr std::string_view kUpstreamTcpBlock =
    "\n    forward . __PILLAR__UPSTREAM__SERVERS__ {\n            force_tcp\n    }\n";
constexpr int kStubDomainCacheSeconds = 30;
constexpr std::size_t kMaxUpstreamNameservers = 3;  // kube-dns's limit
constexpr std::size_t kMaxInterfaceName = 15;       // IFNAMSIZ - 1

enum class FlagKind { kBool, kValue };
enum class FlagOwner { kNodeCache, kCoreDns };
// Stores a value; returns why it is wrong, or nullopt.
using Setter = std::optional<std::string> (*)(NodeCacheFlags&, const std::string&);

struct FlagSpec {
  std::string_view name;
  FlagKind kind;
  FlagOwner owner;
  Setter set;
};

// strconv.ParseBool, which Go's flag package uses for boolean flags.
std::optional<bool> parse_go_bool(std::string_view text) {
  for (std::string_view yes : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == no) return false;
  }
  return std::nullopt;
}

std::optional<std::string> set_local_ips(NodeCacheFlags& flags, const std::string& value) {
  flags.local_ips.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = value.find(',', start);
    const std::string ip = value.substr(start, comma - start);
    if (!canonical_ip(ip)) return "\"" + ip + "\" is not an IPv4 or IPv6 address";
    flags.local_ips.push_back(ip);
    if (comma == std::string::npos) return std::nullopt;
    start = comma + 1;
  }
}

std::optional<std::string> set_port(std::uint16_t& port, const std::string& value) {
  const std::optional<std::uint16_t> parsed = parse_port(value);
  if (!parsed) return "\"" + value + "\" is not a port (1-65535)";
  port = *parsed;
  return std::nullopt;
}

// node-cache's help says "interval (in seconds)"; a bare number is seconds, and a Go duration
// ("90s", "2m") is taken at its word (node-cache would multiply it by a second once more).
std::optional<std::string> set_sync_interval(NodeCacheFlags& flags, const std::string& value) {
  const bool digits = !value.empty() && value.size() <= 9 &&
                      value.find_first_not_of("0123456789") == std::string::npos;
  std::optional<std::chrono::milliseconds> parsed =
      digits ? std::optional(std::chrono::milliseconds(std::stoul(value) * 1000))
             : parse_duration(value);
  if (!parsed || *parsed < std::chrono::seconds(1)) {
    return "\"" + value + "\" is not an interval of at least 1 second (60, 60s, 2m)";
  }
  flags.sync_interval = *parsed;
  return std::nullopt;
}

std::optional<std::string> set_upstream_svc(NodeCacheFlags& flags, const std::string& value) {
  const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!ok) return "\"" + value + "\" is not a service name";
  flags.upstream_svc = value;
  return std::nullopt;
}

std::optional<std::string> set_interface_name(NodeCacheFlags& flags, const std::string& value) {
  const bool ok = !value.empty() && value.size() <= kMaxInterfaceName && value != "." &&
                  value != ".." && value.find_first_of("/: \t\n") == std::string::npos;
  if (!ok) return "\"" + value + "\" is not a Linux interface name (1-15 characters, no / or :)";
  flags.interface_name = value;
  return std::nullopt;
}

std::optional<std::string> set_metrics_address(NodeCacheFlags& flags, const std::string& value) {
  if (!is_listen_address(value)) return "\"" + value + "\" is not a listen address (IP:PORT)";
  flags.metrics_listen_address = value;
  return std::nullopt;
}

// A string flag stored as given, like Go's flag.StringVar.
template <std::string NodeCacheFlags::*field>
std::optional<std::string> set_string(NodeCacheFlags& flags, const std::string& value) {
  flags.*field = value;
  return std::nullopt;
}

template <bool NodeCacheFlags::*field>
std::optional<std::string> set_bool(NodeCacheFlags& flags, const std::string& value) {
  const std::optional<bool> parsed = parse_go_bool(value);
  if (!parsed) return "invalid boolean value \"" + value + "\" (true, false, 1, 0, t, f)";
  flags.*field = *parsed;
  return std::nullopt;
}

const FlagSpec kFlags[] = {
    {"localip", FlagKind::kValue, FlagOwner::kNodeCache, set_local_ips},
    {"basecorefile", FlagKind::kValue, FlagOwner::kNodeCache,
     set_string<&NodeCacheFlags::base_corefile>},
    {"corefile", FlagKind::kValue, FlagOwner::kNodeCache, set_string<&NodeCacheFlags::corefile>},
    {"upstreamsvc", FlagKind::kValue, FlagOwner::kNodeCache, set_upstream_svc},
    {"kubednscm", FlagKind::kValue, FlagOwner::kNodeCache, set_string<&NodeCacheFlags::kubedns_cm>},
    {"setupinterface", FlagKind::kBool, FlagOwner::kNodeCache,
     set_bool<&NodeCacheFlags::setup_interface>},
    {"setupiptables", FlagKind::kBool, FlagOwner::kNodeCache,
     set_bool<&NodeCacheFlags::setup_iptables>},
    {"interfacename", FlagKind::kValue, FlagOwner::kNodeCache, set_interface_name},
    {"syncinterval", FlagKind::kValue, FlagOwner::kNodeCache, set_sync_interval},
    {"health-port", FlagKind::kValue, FlagOwner::kNodeCache,
     [](NodeCacheFlags& f, const std::string& v) { return set_port(f.health_port, v); }},
    {"metrics-listen-address", FlagKind::kValue, FlagOwner::kNodeCache, set_metrics_address},
    {"skipteardown", FlagKind::kBool, FlagOwner::kNodeCache,
     set_bool<&NodeCacheFlags::skip_teardown>},
    {"reloadwithsignal", FlagKind::kBool, FlagOwner::kNodeCache,
     set_bool<&NodeCacheFlags::reload_with_signal>},
    {"pidfile", FlagKind::kValue, FlagOwner::kCoreDns, set_string<&NodeCacheFlags::pidfile>},
    {"dns.port", FlagKind::kValue, FlagOwner::kCoreDns,
     [](NodeCacheFlags& f, const std::string& v) { return set_port(f.dns_port, v); }},
};

const FlagSpec* find_flag(std::string_view name) {
  for (const FlagSpec& spec : kFlags) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Kubernetes' IsDNS1123Subdomain, which kube-dns applies to stub domain names.
bool is_dns1123_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
        return false;
      }
    }
    if (dot == name.size()) return true;
    start = dot + 1;
  }
}

// A JSON array of nameserver strings, each IP or IP:PORT as the forward directive takes them.
Result<std::vector<std::string>> nameserver_list(const nlohmann::json& value,
                                                 const std::string& where) {
  if (!value.is_array()) return fail(where + ": expected a list of nameserver IPs");
  std::vector<std::string> servers;
  for (const nlohmann::json& item : value) {
    if (!item.is_string() || !parse_endpoint(item.get<std::string>(), 53)) {
      return fail(where + ": " + item.dump() + " is not a nameserver IP or IP:PORT");
    }
    servers.push_back(item.get<std::string>());
  }
  return servers;
}

// The parsed JSON of DIR/name, or a null value when the file does not exist.
Result<nlohmann::json> read_json_file(const std::string& path) {
  std::error_code ignored;
  if (!std::filesystem::exists(path, ignored)) return nlohmann::json();
  Result<std::string> text = read_text_file(path);
  if (!text) return fail(text.error().message);
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return fail(path + ": invalid JSON: " + e.what());
  }
}

std::string on_off(bool value) {
  return value ? "true" : "false";
}

}  // namespace

Result<NodeCacheArguments> split_node_cache_flags(const std::vector<std::string>& args) {
  NodeCacheArguments out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (i == 0 || arg.size() < 2 || arg[0] != '-' || arg == "--") {
      out.rest.push_back(arg);
      if (arg == "--" && i != 0) {
        out.rest.insert(out.rest.end(), args.begin() + static_cast<long>(i) + 1, args.end());
        break;
      }
      continue;
    }
    const std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    const std::size_t equals = body.find('=');
    const FlagSpec* spec = find_flag(body.substr(0, equals));
    if (spec == nullptr) {
      out.rest.push_back(arg);
      continue;
    }
    const std::string flag = "-" + std::string(spec->name);
    std::string value;
    if (equals != std::string::npos) {
      value = body.substr(equals + 1);
    } else if (spec->kind == FlagKind::kBool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return fail("flag needs an argument: " + flag);
    }
    if (std::optional<std::string> error = spec->set(out.flags, value)) {
      return fail(flag + ": " + *error);
    }
    if (spec->owner == FlagOwner::kNodeCache) out.node_cache_mode = true;
  }
  if (out.node_cache_mode && out.flags.local_ips.empty()) {
    return fail("-localip: required with node-cache's flags (comma-separated IPs to listen on)");
  }
  return out;
}

Result<KubeDnsConfig> read_kube_dns_config(const std::string& dir) {
  KubeDnsConfig config;
  const std::string stub_path = dir + "/stubDomains";
  Result<nlohmann::json> stubs = read_json_file(stub_path);
  if (!stubs) return fail(stubs.error().message);
  if (!stubs->is_null()) {
    if (!stubs->is_object()) return fail(stub_path + ": expected an object: zone → nameservers");
    for (const auto& [zone, servers] : stubs->items()) {
      if (!is_dns1123_subdomain(zone)) {
        return fail(stub_path + ": \"" + zone + "\" is not a valid domain name");
      }
      Result<std::vector<std::string>> list = nameserver_list(servers, stub_path + ": " + zone);
      if (!list) return fail(list.error().message);
      config.stub_domains[zone] = std::move(*list);
    }
  }
  const std::string upstream_path = dir + "/upstreamNameservers";
  Result<nlohmann::json> upstream = read_json_file(upstream_path);
  if (!upstream) return fail(upstream.error().message);
  if (!upstream->is_null()) {
    Result<std::vector<std::string>> list = nameserver_list(*upstream, upstream_path);
    if (!list) return fail(list.error().message);
    if (list->size() > kMaxUpstreamNameservers) {
      return fail(upstream_path + ": at most 3 nameservers, got " + std::to_string(list->size()));
    }
    config.upstream_nameservers = std::move(*list);
  }
  return config;
}

std::optional<std::string> process_getenv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

std::string service_host_variable(std::string_view service) {
  std::string name(service);
  for (char& c : name) c = c == '-' ? '_' : static_cast<char>(std::toupper((unsigned char)c));
  return name + "_SERVICE_HOST";
}

Result<std::string> fill_corefile_template(std::string_view base, const std::string& base_name,
                                           const NodeCacheFlags& flags,
                                           const KubeDnsConfig& kube_dns,
                                           const NodeCacheEnvironment& environment) {
  std::string text(base);
  const std::string upstream = join(kube_dns.upstream_nameservers, " ");
  if (upstream.empty()) {
    replace_all(text, kUpstreamServers, environment.resolv_conf);
  } else {
    // Custom upstreams are asked over UDP: node-cache swaps its TCP forward block for a plain one.
    replace_all(text, kUpstreamTcpBlock, "\n    forward . " + upstream + "\n");
    replace_all(text, kUpstreamServers, upstream);
  }
  if (text.find(kClusterDns) != std::string::npos) {
    const std::string variable = service_host_variable(flags.upstream_svc);
    const std::optional<std::string> value =
        environment.getenv ? environment.getenv(variable) : std::nullopt;
    const std::string what = base_name + ": " + std::string(kClusterDns) + " needs $" + variable +
                             " (the cluster IP of -upstreamsvc " + flags.upstream_svc + ")";
    if (!value) return fail(what + ", which is not set");
    const std::optional<std::string> ip = canonical_ip(*value);
    if (!ip) return fail(what + ", which is \"" + *value + "\", not an IP address");
    replace_all(text, kClusterDns, *ip);
  }
  const std::string local_ips = join(flags.local_ips, " ");
  replace_all(text, kLocalDns, local_ips);
  replace_all(text, kDnsServer, "");
  for (const auto& [zone, servers] : kube_dns.stub_domains) {
    text += "\n" + zone + ":" + std::to_string(flags.dns_port) + " {\n    errors\n    cache " +
            std::to_string(kStubDomainCacheSeconds) + "\n    bind " + local_ips +
            "\n    forward . " + join(servers, " ") + "\n}\n";
  }
  return text;
}

Result<NodeCacheCorefile> build_node_cache_corefile(const NodeCacheFlags& flags,
                                                    const std::string& conf_flag,
                                                    const NodeCacheEnvironment& environment) {
  // node-cache overwrites -corefile with CoreDNS's -conf: the filled template goes where the
  // daemon reads its Corefile.
  NodeCacheCorefile out;
  out.path = conf_flag.empty() ? flags.corefile : conf_flag;
  std::error_code error;
  if (!std::filesystem::exists(flags.base_corefile, error)) {
    out.warnings.push_back(flags.base_corefile + ": no such file; running " + out.path +
                           " as it is");
    return out;
  }
  Result<std::string> base = read_text_file(flags.base_corefile);
  if (!base) return fail(base.error().message);
  std::string dir = flags.kubedns_cm;
  if (dir.empty() && std::filesystem::is_directory(environment.default_kubedns_cm, error)) {
    dir = environment.default_kubedns_cm;
  }
  KubeDnsConfig kube_dns;
  if (!dir.empty() && !std::filesystem::is_directory(dir, error)) {
    out.warnings.push_back(dir +
                           ": -kubednscm is not a folder; no stubDomains or "
                           "upstreamNameservers");
  } else if (!dir.empty()) {
    Result<KubeDnsConfig> read = read_kube_dns_config(dir);
    if (!read) return fail(read.error().message);
    kube_dns = std::move(*read);
  }
  Result<std::string> text =
      fill_corefile_template(*base, flags.base_corefile, flags, kube_dns, environment);
  if (!text) return fail(text.error().message);
  out.text = std::move(*text);
  return out;
}

Result<void> write_corefile(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".holdfast-new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot write '" + path + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    written += static_cast<std::size_t>(n);
  }
  const int write_errno = errno;
  if (::close(fd) != 0 || written != text.size() || ::rename(temporary.c_str(), path.c_str())) {
    const int error_number = written != text.size() ? write_errno : errno;
    ::unlink(temporary.c_str());
    return fail("cannot write '" + path + "': " + std::strerror(error_number));
  }
  return {};
}

std::vector<std::string> node_cache_flag_summary(const NodeCacheFlags& flags) {
  const std::string inactive = ": accepted, not active yet";
  const bool setup = flags.setup_interface || flags.setup_iptables;
  // resolver/node/ does node-cache's node setup; a switch that turns it off asks for nothing.
  auto node_setup = [&](bool on, const std::string& what) {
    return on ? ": active (" + what + ")" : std::string(": active (nothing to set up)");
  };
  return {
      "-localip " + join(flags.local_ips, ",") + ": active (__PILLAR__LOCAL__DNS__, stub binds)",
      "-basecorefile " + flags.base_corefile +
          ": active, filled at start and re-read every 10s (a change is written and reloaded)",
      "-corefile " + flags.corefile + ": active when -conf is not given",
      "-upstreamsvc " + flags.upstream_svc + ": active ($" +
          service_host_variable(flags.upstream_svc) + " → __PILLAR__CLUSTER__DNS__)",
      "-kubednscm " + (flags.kubedns_cm.empty() ? "(/etc/kube-dns if present)" : flags.kubedns_cm) +
          ": active, read at start and re-read every 10s",
      "-setupinterface=" + on_off(flags.setup_interface) +
          node_setup(flags.setup_interface, "an interface with the local IPs"),
      "-interfacename " + flags.interface_name + node_setup(flags.setup_interface, "its name"),
      "-setupiptables=" + on_off(flags.setup_iptables) +
          node_setup(flags.setup_iptables, "node-cache's NOTRACK and ACCEPT rules"),
      "-syncinterval " + format_duration(flags.sync_interval) +
          node_setup(setup, "interface and rules re-checked"),
      "-health-port " + std::to_string(flags.health_port) +
          node_setup(flags.setup_iptables, "its NOTRACK rules"),
      "-metrics-listen-address " + flags.metrics_listen_address +
          ": active (coredns_nodecache_setup_errors_total)",
      "-skipteardown=" + on_off(flags.skip_teardown) +
          node_setup(setup, flags.skip_teardown ? "left in place at exit" : "removed at exit"),
      "-pidfile " + (flags.pidfile.empty() ? "(none)" : flags.pidfile + ": active"),
      "-dns.port " + std::to_string(flags.dns_port) +
          ": active (stubDomain blocks, the iptables rules and every server block key without "
          "a port)",
      "-reloadwithsignal=" + on_off(flags.reload_with_signal) +
          (flags.reload_with_signal
               ? ": active (a changed Corefile is reloaded through SIGUSR1 to itself)"
               : ": active (off: a changed Corefile is reloaded directly)"),
  };
}

}  // namespace holdfast::config
