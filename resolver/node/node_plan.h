// What node setup installs on this node (the interface, its addresses, node-cache's rules) and
// how it is taken away; shared by the daemon and its guardian. Blocking: call it off the loop.
#pragma once

#include <string>
#include <vector>

#include "node/iptables_rules.h"

namespace holdfast::node {

struct NodePlan {
  bool setup_interface = true;
  bool setup_iptables = true;
  std::string interface_name = "nodelocaldns";
  std::vector<std::string> local_ips;
  std::vector<IptablesRule> rules;
  std::string lock_path;  // STATE_DIR/node.lock
};

// What one sync or teardown did, for the loop to log and count.
struct SetupReport {
  std::vector<std::string> info;                           // one log line each
  std::vector<std::pair<SetupError, std::string>> errors;  // counted, logged as errors
  bool changed = false;  // something was missing and was (re-)added or removed
};

// Makes sure the interface (with every address) exists.
void ensure_interface_step(const NodePlan& plan, SetupReport& report);
// Makes sure every rule exists (-C, else -I).
void ensure_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report);
// Deletes every rule.
void remove_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report);

// True when the interface or the first rule is there (what a dead predecessor may have left).
bool anything_installed(const NodePlan& plan, IptablesMode mode);

}  // namespace holdfast::node
