// The steps of node setup and teardown.
#include "node/node_plan.h"

#include "node/iptables.h"
#include "node/link.h"

namespace holdfast::node {

namespace {

std::string describe(const IptablesRule& rule, IptablesMode mode) {
  std::string text = iptables_binary(mode, rule.family) + " -t " + rule.table + " " + rule.chain;
  for (const std::string& arg : rule.args) {
    text += arg.find(' ') == std::string::npos ? " " + arg : " \"" + arg + "\"";
  }
  return text;
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
      report.info.push_back("interface " + plan.interface_name +
                            ": kernel has no dummy driver; using a bridge without ports instead");
    }
    report.info.push_back("added interface " + plan.interface_name);
  }
  for (const std::string& ip : ensured->added) {
    report.changed = true;
    report.info.push_back("added address " + ip + " to " + plan.interface_name);
  }
}

void ensure_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report) {
  if (!plan.setup_iptables) return;
  for (const IptablesRule& rule : plan.rules) {
    const RuleOutcome outcome = ensure_rule(rule, mode);
    if (outcome.state == RuleState::kAdded) {
      report.changed = true;
      report.info.push_back("added rule " + describe(rule, mode));
    } else if (outcome.state == RuleState::kFailed) {
      report.errors.emplace_back(classify_iptables_failure(outcome.output),
                                 "rule " + describe(rule, mode) + ": " + outcome.output);
    }
  }
}

void remove_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report) {
  if (!plan.setup_iptables) return;
  for (const IptablesRule& rule : plan.rules) {
    if (std::string failure = delete_rule(rule, mode); !failure.empty()) {
      report.errors.emplace_back(classify_iptables_failure(failure),
                                 "delete rule " + describe(rule, mode) + ": " + failure);
    }
  }
}

bool anything_installed(const NodePlan& plan, IptablesMode mode) {
  if (plan.setup_interface && interface_exists(plan.interface_name)) return true;
  return plan.setup_iptables && !plan.rules.empty() && rule_exists(plan.rules.front(), mode);
}

}  // namespace holdfast::node
