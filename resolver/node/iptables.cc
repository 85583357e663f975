// iptables by exec.
#include "node/iptables.h"

#include <cstdlib>

#include "node/command.h"

namespace holdfast::node {

ModeChoice detect_iptables_mode() {
  if (const char* forced = std::getenv("HOLDFAST_IPTABLES_MODE"); forced != nullptr) {
    if (auto mode = parse_mode(forced)) return {*mode, "HOLDFAST_IPTABLES_MODE"};
  }
  std::string legacy;
  std::string nft;
  for (Family family : {Family::kIpv4, Family::kIpv6}) {
    legacy += run_command({save_binary(IptablesMode::kLegacy, family)}).output + "\n";
    nft += run_command({save_binary(IptablesMode::kNft, family)}).output + "\n";
  }
  return choose_mode(legacy, nft);
}

RuleOutcome check_rule(const IptablesRule& rule, IptablesMode mode) {
  const CommandResult check = run_command(rule_argv(rule, mode, RuleOp::kCheck));
  if (check.exit_code == 0) return {RuleState::kPresent, {}};
  if (check.exit_code == 1) return {RuleState::kFailed, {}};
  return {RuleState::kFailed,
          check.output.empty() ? "exit " + std::to_string(check.exit_code) : check.output};
}

RuleOutcome ensure_rule(const IptablesRule& rule, IptablesMode mode) {
  const CommandResult check = run_command(rule_argv(rule, mode, RuleOp::kCheck));
  if (check.exit_code == 0) return {RuleState::kPresent, {}};
  // Exit 1 is "no such rule"; anything else (the lock, a missing table) is a failure.
  if (check.exit_code != 1) return {RuleState::kFailed, check.output};
  const CommandResult insert = run_command(rule_argv(rule, mode, RuleOp::kInsert));
  if (insert.exit_code == 0) return {RuleState::kAdded, {}};
  return {RuleState::kFailed, insert.output};
}

std::string delete_rule(const IptablesRule& rule, IptablesMode mode) {
  // Bounded: a rule added a hundred times is not a case worth looping forever on.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const CommandResult check = run_command(rule_argv(rule, mode, RuleOp::kCheck));
    if (check.exit_code == 1) return {};
    if (check.exit_code != 0) return check.output;
    const CommandResult removed = run_command(rule_argv(rule, mode, RuleOp::kDelete));
    if (removed.exit_code != 0) return removed.output;
  }
  return "rule still present after 100 deletions";
}

bool delete_rules_at_once(const std::vector<IptablesRule>& rules, IptablesMode mode) {
  bool all_gone = true;
  for (Family family : {Family::kIpv4, Family::kIpv6}) {
    const std::string input = deletion_restore_input(rules, family);
    if (input.empty()) continue;
    // -w as for one rule; legacy waits for the xtables lock, nft ignores it.
    const CommandResult restored =
        run_command({restore_binary(mode, family), "--noflush", "-w", "5"}, input);
    if (restored.exit_code != 0) {
      all_gone = false;
      continue;
    }
    const CommandResult saved = run_command({save_binary(mode, family)});
    if (saved.exit_code != 0 || save_holds_rules_on(saved.output, rules)) all_gone = false;
  }
  return all_gone;
}

}  // namespace holdfast::node
