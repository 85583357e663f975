// Applies node-cache's rules with the iptables binaries (as Kubernetes' iptables util does: exec,
// -C then -I, -D in a loop). Every call blocks on child processes: run it off the loop.
#pragma once

#include <string>
#include <vector>

#include "node/iptables_rules.h"

namespace holdfast::node {

// $HOLDFAST_IPTABLES_MODE (nft|legacy) when set, else choose_mode() on what the four *-save
// binaries print.
ModeChoice detect_iptables_mode();

enum class RuleState { kPresent, kAdded, kFailed };
struct RuleOutcome {
  RuleState state = RuleState::kFailed;
  std::string output;  // what iptables printed when it failed
};

// -C; when missing, -I at the top of the chain.
RuleOutcome ensure_rule(const IptablesRule& rule, IptablesMode mode);

// -D until -C says it is gone (the same rule may have been added twice). Empty on success, else
// what iptables printed.
std::string delete_rule(const IptablesRule& rule, IptablesMode mode);

// Deletes each of `rules` once with one `*-restore --noflush` per family (two processes instead of
// three per rule) and reads `*-save` back. True when every restore succeeded and no rule with
// node-cache's comment on one of the rules' addresses is left; false when a restore failed (a
// rule was missing: a restore is all or nothing, so nothing of that family was deleted) or
// something is left (a rule added twice), and the caller deletes rule by rule.
bool delete_rules_at_once(const std::vector<IptablesRule>& rules, IptablesMode mode);

// -C: kPresent, kFailed (the rule is missing: kAdded is never returned) is told apart from an
// error by `output` being empty.
RuleOutcome check_rule(const IptablesRule& rule, IptablesMode mode);

}  // namespace holdfast::node
