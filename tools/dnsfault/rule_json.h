// Rules as JSON for the control API: {"match", "qtype", "transport", "action", "args",
// "probability"}. Built on the text grammar in rule.h (a JSON rule is turned into its tokens and
// parsed by parse_rule), so both forms accept exactly the same rules.
#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "rule.h"

namespace holdfast::dnsfault {

// Every field, always: {"match": "*", "qtype": [], "transport": "any", "action": "pass",
// "args": [], "probability": 1}.
nlohmann::json rule_to_json(const Rule& rule);
// A JSON array of rule_to_json objects.
nlohmann::json rule_set_to_json(const RuleSet& rules);

// Accepts the shape above with only "action" required; "args" items may be strings or numbers,
// "qtype" an array or a comma list. Unknown fields are errors (they are usually typos).
Result<Rule> rule_from_json(const nlohmann::json& value);
// An array of rules, one rule object, or {"rules": [...]}. Errors name the rule's index.
Result<RuleSet> rule_set_from_json(const nlohmann::json& value);

}  // namespace holdfast::dnsfault
