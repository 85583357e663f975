// The steps of node setup and teardown.
#include "node/node_plan.h"

#include "node/iptables.h"
#include "node/link.h"

namespace holdfast::node {

namespace {

std::string describe(const IptablesRule& rule, IptablesMode mode) {
  return iptables_binary(mode, rule.family) + " -t " + rule.table + " " + chain_and_args(rule);
}

// Counts a failure; a held xtables lock makes the remaining rules wait for the next sync.
void record_failure(const std::string& what, const std::string& output, SetupReport& report) {
  const SetupError kind = classify_iptables_failure(output);
  report.errors.emplace_back(kind, what + ": " + output);
  if (kind == SetupError::kIptablesLock) report.xtables_locked = true;
}

}  // namespace

void ensure_interface_step(const NodePlan& plan, SetupReport& report) {
  if (!plan.setup_interface) return;
  const bool existed = interface_exists(plan.interface_name);
  auto ensured = ensure_interface(plan.interface_name, plan.local_ips);
  if (!ensured) {
    report.errors.emplace_back(existed ? SetupError::kInterfaceCheck : SetupError::kInterfaceAdd,
                               ensured.error().message);
    return;
  }
  if (ensured->created) {
    report.changed = true;
    if (ensured->used_bridge) {
      report.warnings.push_back(
          "interface " + plan.interface_name +
          ": kernel has no dummy driver; using a bridge without ports instead");
    }
    report.info.push_back("added interface " + plan.interface_name);
  }
  for (const std::string& ip : ensured->added) {
    report.changed = true;
    report.info.push_back("added address " + ip + " to " + plan.interface_name);
  }
  for (const std::string& error : ensured->errors) {
    report.errors.emplace_back(
        ensured->created ? SetupError::kInterfaceAdd : SetupError::kInterfaceCheck, error);
  }
}

void ensure_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report) {
  if (!plan.setup_iptables) return;
  for (const IptablesRule& rule : plan.rules) {
    if (report.xtables_locked) return;
    const RuleOutcome outcome = ensure_rule(rule, mode);
    if (outcome.state == RuleState::kAdded) {
      report.changed = true;
      report.info.push_back("added rule " + describe(rule, mode));
    } else if (outcome.state == RuleState::kFailed) {
      record_failure("rule " + describe(rule, mode), outcome.output, report);
    }
  }
}

void remove_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report) {
  if (!plan.setup_iptables) return;
  // Rule by rule is three iptables runs each (-C, -D, -C): 36 rules for three addresses took
  // 1-2 s on a busy node, while DNS to the local IPs goes nowhere. One restore per family first;
  // rule by rule only when that left something or failed.
  if (delete_rules_at_once(plan.rules, mode)) return;
  for (const IptablesRule& rule : plan.rules) {
    if (report.xtables_locked) return;
    if (std::string failure = delete_rule(rule, mode); !failure.empty()) {
      record_failure("delete rule " + describe(rule, mode), failure, report);
    }
  }
}

void report_leftover_rules(const NodePlan& plan, IptablesMode mode, SetupReport& report) {
  if (!plan.setup_iptables || plan.rules.empty()) return;
  const RuleOutcome outcome = check_rule(plan.rules.front(), mode);
  if (outcome.state == RuleState::kPresent) {
    report.warnings.emplace_back(kAdoptingLine);
  } else if (!outcome.output.empty()) {
    record_failure("rule " + describe(plan.rules.front(), mode), outcome.output, report);
  }
}

}  // namespace holdfast::node
