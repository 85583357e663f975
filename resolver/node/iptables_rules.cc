// node-cache's rule list and the nft/legacy choice.
#include "node/iptables_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>

namespace holdfast::node {

std::optional<Family> family_of(const std::string& ip) {
  unsigned char buffer[16];
  if (::inet_pton(AF_INET, ip.c_str(), buffer) == 1) return Family::kIpv4;
  if (::inet_pton(AF_INET6, ip.c_str(), buffer) == 1) return Family::kIpv6;
  return std::nullopt;
}

std::vector<IptablesRule> node_cache_rules(const std::vector<std::string>& local_ips,
                                           std::uint16_t dns_port, std::uint16_t health_port) {
  const std::string dns = std::to_string(dns_port);
  const std::string health = std::to_string(health_port);
  const std::string skip(kCommentSkipConntrack);
  const std::string allow(kCommentAllowTraffic);
  std::vector<IptablesRule> rules;
  for (const std::string& ip : local_ips) {
    const auto family = family_of(ip);
    if (!family) continue;
    auto add = [&](const char* table, const char* chain, const char* proto, const char* dir,
                   const char* port_flag, const std::string& port, const char* target,
                   const std::string& comment) {
      rules.push_back({*family,
                       table,
                       chain,
                       {"-p", proto, dir, ip, port_flag, port, "-j", target, "-m", "comment",
                        "--comment", comment}});
    };
    // Queries to the local IP skip conntrack (and so need an ACCEPT in filter).
    add("raw", "PREROUTING", "tcp", "-d", "--dport", dns, "NOTRACK", skip);
    add("raw", "PREROUTING", "udp", "-d", "--dport", dns, "NOTRACK", skip);
    add("filter", "INPUT", "tcp", "-d", "--dport", dns, "ACCEPT", allow);
    add("filter", "INPUT", "udp", "-d", "--dport", dns, "ACCEPT", allow);
    // Answers from the local IP.
    add("raw", "OUTPUT", "tcp", "-s", "--sport", dns, "NOTRACK", skip);
    add("raw", "OUTPUT", "udp", "-s", "--sport", dns, "NOTRACK", skip);
    add("filter", "OUTPUT", "tcp", "-s", "--sport", dns, "ACCEPT", allow);
    add("filter", "OUTPUT", "udp", "-s", "--sport", dns, "ACCEPT", allow);
    // Queries generated on the node itself (hostNetwork pods).
    add("raw", "OUTPUT", "tcp", "-d", "--dport", dns, "NOTRACK", skip);
    add("raw", "OUTPUT", "udp", "-d", "--dport", dns, "NOTRACK", skip);
    // The liveness probe to the health plugin.
    add("raw", "OUTPUT", "tcp", "-d", "--dport", health, "NOTRACK", skip);
    add("raw", "OUTPUT", "tcp", "-s", "--sport", health, "NOTRACK", skip);
  }
  return rules;
}

std::string_view mode_name(IptablesMode mode) {
  return mode == IptablesMode::kNft ? "nft" : "legacy";
}

std::optional<IptablesMode> parse_mode(std::string_view text) {
  if (text == "nft") return IptablesMode::kNft;
  if (text == "legacy") return IptablesMode::kLegacy;
  return std::nullopt;
}

std::string iptables_binary(IptablesMode mode, Family family) {
  return std::string(family == Family::kIpv4 ? "iptables-" : "ip6tables-") +
         std::string(mode_name(mode));
}

std::string save_binary(IptablesMode mode, Family family) {
  return iptables_binary(mode, family) + "-save";
}

std::string restore_binary(IptablesMode mode, Family family) {
  return iptables_binary(mode, family) + "-restore";
}

std::vector<std::string> rule_argv(const IptablesRule& rule, IptablesMode mode, RuleOp op) {
  const char* op_flag = op == RuleOp::kCheck ? "-C" : op == RuleOp::kInsert ? "-I" : "-D";
  std::vector<std::string> argv{iptables_binary(mode, rule.family),
                                "-w",
                                "5",
                                "-W",
                                "100000",
                                "-t",
                                rule.table,
                                op_flag,
                                rule.chain};
  argv.insert(argv.end(), rule.args.begin(), rule.args.end());
  return argv;
}

std::string chain_and_args(const IptablesRule& rule) {
  std::string text = rule.chain;
  for (const std::string& arg : rule.args) {
    text += arg.find(' ') == std::string::npos ? " " + arg : " \"" + arg + "\"";
  }
  return text;
}

std::string deletion_restore_input(const std::vector<IptablesRule>& rules, Family family) {
  std::vector<std::string> tables;
  for (const IptablesRule& rule : rules) {
    if (rule.family == family &&
        std::find(tables.begin(), tables.end(), rule.table) == tables.end()) {
      tables.push_back(rule.table);
    }
  }
  std::string input;
  for (const std::string& table : tables) {
    input += "*" + table + "\n";
    for (const IptablesRule& rule : rules) {
      if (rule.family != family || rule.table != table) continue;
      input += "-D " + chain_and_args(rule) + "\n";
    }
    input += "COMMIT\n";
  }
  return input;
}

namespace {

// The address a rule matches (the argument after -d or -s) as *-save prints it, "10.0.0.1/32".
std::optional<std::string> saved_address(const IptablesRule& rule) {
  for (std::size_t i = 0; i + 1 < rule.args.size(); ++i) {
    if (rule.args[i] != "-d" && rule.args[i] != "-s") continue;
    const std::string& ip = rule.args[i + 1];
    unsigned char bytes[16];
    char text[INET6_ADDRSTRLEN];
    const int af = rule.family == Family::kIpv4 ? AF_INET : AF_INET6;
    if (::inet_pton(af, ip.c_str(), bytes) != 1) return std::nullopt;
    if (::inet_ntop(af, bytes, text, sizeof text) == nullptr) return std::nullopt;
    return std::string(text) + (af == AF_INET ? "/32" : "/128");
  }
  return std::nullopt;
}

}  // namespace

bool save_holds_rules_on(std::string_view save, const std::vector<IptablesRule>& rules) {
  std::vector<std::string> addresses;
  for (const IptablesRule& rule : rules) {
    if (auto address = saved_address(rule)) addresses.push_back(" " + *address + " ");
  }
  while (!save.empty()) {
    const std::size_t end = save.find('\n');
    const std::string_view line = save.substr(0, end);
    save = end == std::string_view::npos ? std::string_view{} : save.substr(end + 1);
    if (!line.starts_with("-A ") || line.find("NodeLocal DNS Cache") == std::string_view::npos) {
      continue;
    }
    for (const std::string& address : addresses) {
      if (line.find(address) != std::string_view::npos) return true;
    }
  }
  return false;
}

namespace {

struct SaveCounts {
  std::size_t rules = 0;
  bool hint = false;
};

SaveCounts count_save(std::string_view save) {
  SaveCounts counts;
  while (!save.empty()) {
    const std::size_t end = save.find('\n');
    const std::string_view line = save.substr(0, end);
    save = end == std::string_view::npos ? std::string_view{} : save.substr(end + 1);
    if (line.starts_with(":KUBE-IPTABLES-HINT") || line.starts_with(":KUBE-KUBELET-CANARY")) {
      counts.hint = true;
    }
    if (line.starts_with("-")) ++counts.rules;
  }
  return counts;
}

}  // namespace

ModeChoice choose_mode(std::string_view legacy_save, std::string_view nft_save) {
  const SaveCounts legacy = count_save(legacy_save);
  const SaveCounts nft = count_save(nft_save);
  if (nft.hint) return {IptablesMode::kNft, "kubelet's hint chain is in nft"};
  if (legacy.hint) return {IptablesMode::kLegacy, "kubelet's hint chain is in legacy"};
  const std::string counts =
      std::to_string(legacy.rules) + " legacy rules, " + std::to_string(nft.rules) + " nft rules";
  if (legacy.rules > nft.rules) return {IptablesMode::kLegacy, counts};
  return {IptablesMode::kNft, counts + (legacy.rules == nft.rules ? " (nft on a tie)" : "")};
}

std::string_view setup_error_label(SetupError error) {
  switch (error) {
    case SetupError::kIptables:
      return "iptables";
    case SetupError::kIptablesLock:
      return "iptables_lock";
    case SetupError::kInterfaceAdd:
      return "interface_add";
    case SetupError::kInterfaceCheck:
      return "interface_check";
    case SetupError::kConfigmap:
      return "configmap";
  }
  return "iptables";
}

SetupError classify_iptables_failure(std::string_view output) {
  return output.find("holding the xtables lock") != std::string_view::npos
             ? SetupError::kIptablesLock
             : SetupError::kIptables;
}

}  // namespace holdfast::node
