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
  std::vector<std::string> warnings;                       // one log line each, at warn
  std::vector<std::pair<SetupError, std::string>> errors;  // counted, logged as errors
  bool changed = false;  // something was missing and was (re-)added or removed
  // iptables gave up waiting for the xtables lock (-w 5): the remaining rules wait for the next
  // sync rather than 5 s each (a held lock would otherwise keep one sync going for minutes).
  bool xtables_locked = false;
};

// Makes sure the interface (with every address) exists.
void ensure_interface_step(const NodePlan& plan, SetupReport& report);
// Makes sure every rule exists (-C, else -I).
void ensure_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report);
// Deletes every rule (stops at a held xtables lock, as above).
void remove_rules_step(const NodePlan& plan, IptablesMode mode, SetupReport& report);

// What a dead predecessor (or node-cache) may have left, seen by one who runs alone: the log line
// that says it is adopted. Blocking on iptables: call it off the loop.
inline constexpr const char* kAdoptingLine =
    "a previous holdfast died without teardown: adopting the interface and rules";
void report_leftover_rules(const NodePlan& plan, IptablesMode mode, SetupReport& report);

}  // namespace holdfast::node
