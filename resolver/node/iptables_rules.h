// node-cache's iptables rules (kubernetes/dns cmd/node-cache/app/cache_app.go, initIptables) as
// argument vectors, and the choice between iptables-nft and iptables-legacy. Pure: nothing here
// runs a command (iptables.h does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::node {

enum class Family { kIpv4, kIpv6 };
enum class IptablesMode { kNft, kLegacy };

// The comments node-cache puts on its rules; operators and scripts grep for them.
inline constexpr std::string_view kCommentSkipConntrack = "NodeLocal DNS Cache: skip conntrack";
inline constexpr std::string_view kCommentAllowTraffic = "NodeLocal DNS Cache: allow DNS traffic";

struct IptablesRule {
  Family family = Family::kIpv4;
  std::string table;              // "raw" or "filter"
  std::string chain;              // "PREROUTING", "INPUT" or "OUTPUT"
  std::vector<std::string> args;  // the match and target, as node-cache writes them

  bool operator==(const IptablesRule&) const = default;
};

// The family of a literal address, nullopt when `ip` is not one.
std::optional<Family> family_of(const std::string& ip);

// node-cache's twelve rules per local IP, in its order. `dns_port` is -dns.port (node-cache's
// LocalPort), `health_port` is -health-port. Addresses that are not IPs are skipped.
std::vector<IptablesRule> node_cache_rules(const std::vector<std::string>& local_ips,
                                           std::uint16_t dns_port, std::uint16_t health_port);

std::string_view mode_name(IptablesMode mode);
std::optional<IptablesMode> parse_mode(std::string_view text);

// "iptables-nft", "ip6tables-legacy", ...; and the matching *-save and *-restore.
std::string iptables_binary(IptablesMode mode, Family family);
std::string save_binary(IptablesMode mode, Family family);
std::string restore_binary(IptablesMode mode, Family family);

// Argument vectors (argv[0] first) for `-C` (check), `-I` (insert at the top, as node-cache's
// EnsureRule(Prepend) does) and `-D`. Each waits for the xtables lock as Kubernetes' iptables
// util does: `-w 5 -W 100000`.
enum class RuleOp { kCheck, kInsert, kDelete };
std::vector<std::string> rule_argv(const IptablesRule& rule, IptablesMode mode, RuleOp op);

// "CHAIN ARG..." as a shell or `*-restore` reads it: an argument with a space in double quotes.
std::string chain_and_args(const IptablesRule& rule);

// What `*-restore --noflush` reads to delete each of `rules` of `family` once: one "*table" block
// per table in first-seen order, "-D chain args" lines (an argument with a space in quotes),
// "COMMIT". Empty when no rule is of `family`.
std::string deletion_restore_input(const std::vector<IptablesRule>& rules, Family family);

// True when `save` (what `*-save` printed) still holds a rule with node-cache's comment on one of
// the addresses in `rules` (any port or chain: a line one of `rules` does not name exactly counts
// too, so that the caller looks rule by rule).
bool save_holds_rules_on(std::string_view save, const std::vector<IptablesRule>& rules);

// Which iptables the node uses, decided as Kubernetes' iptables-wrapper does from what
// `iptables-*-save` and `ip6tables-*-save` print (both families concatenated per mode): kubelet's
// hint chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY) decide first, nft before legacy; else the
// mode with more rules wins; nft on a tie (a node with no rules at all).
struct ModeChoice {
  IptablesMode mode = IptablesMode::kNft;
  std::string reason;  // for the one log line
};
ModeChoice choose_mode(std::string_view legacy_save, std::string_view nft_save);

// The setup error kinds of coredns_nodecache_setup_errors_total{errortype} (node-cache's
// metrics.go; "configmap" is node-cache's too and stays 0 here).
enum class SetupError { kIptables, kIptablesLock, kInterfaceAdd, kInterfaceCheck, kConfigmap };
inline constexpr SetupError kAllSetupErrors[] = {
    SetupError::kIptables, SetupError::kIptablesLock, SetupError::kInterfaceAdd,
    SetupError::kInterfaceCheck, SetupError::kConfigmap};
std::string_view setup_error_label(SetupError error);

// node-cache's isLockedErr: iptables gave up waiting for the xtables lock.
SetupError classify_iptables_failure(std::string_view output);

}  // namespace holdfast::node
