// `dnsfault ctl`: the control API from the command line.
//   ctl --control ADDR:PORT set ACTION [ARGS] [--match GLOB] [--qtype T] [--probability P] ...
//   ctl --control ADDR:PORT add ...      ctl ... clear      ctl ... stats      ctl ... rules
#pragma once

#include <string>
#include <vector>

namespace holdfast::dnsfault {

struct CtlOptions {
  std::string control;            // ADDR:PORT
  std::string verb;               // set, add, clear, stats, rules
  std::vector<std::string> args;  // the rule tokens for set/add (`;` separates rules)
};

// Prints the outcome on stdout; errors as one line on stderr. Returns 0 on success, 1 when the
// API cannot be reached or refuses, 2 for a bad command line or rule.
int run_ctl(const CtlOptions& options);

}  // namespace holdfast::dnsfault
