// Converting rules to and from the control API's JSON objects, through the rule grammar.
#include "rule_json.h"

#include <charconv>

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

std::string number_text(const json& value) {
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value.get<double>());
  return ec == std::errc() ? std::string(buf, ptr) : value.dump();
}

// A string, or a number in its text form; nullopt for anything else.
std::optional<std::string> scalar_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return number_text(value);
  return std::nullopt;
}

}  // namespace

json rule_to_json(const Rule& rule) {
  const std::vector<std::string> tokens = rule_tokens(rule);
  json args = json::array();
  for (std::size_t i = 1; i < tokens.size() && !tokens[i].starts_with("--"); ++i) {
    args.push_back(tokens[i]);
  }
  const Match& m = rule.match;
  std::string pattern = "*";
  if (m.kind == MatchKind::kExact || m.kind == MatchKind::kGlob) pattern = m.pattern;
  if (m.kind == MatchKind::kSuffix) pattern = "." + m.pattern;
  json qtypes = json::array();
  for (std::uint16_t q : m.qtypes) qtypes.push_back(qtype_name(q));
  return json{{"match", pattern},
              {"qtype", qtypes},
              {"transport", transport_name(m.transport)},
              {"action", action_name(rule.action.kind)},
              {"args", args},
              {"probability", rule.probability}};
}

json rule_set_to_json(const RuleSet& rules) {
  json out = json::array();
  for (const Rule& rule : rules) out.push_back(rule_to_json(rule));
  return out;
}

Result<Rule> rule_from_json(const json& value) {
  if (!value.is_object()) return fail("a rule must be a JSON object");
  std::vector<std::string> tokens;   // the action and its args
  std::vector<std::string> options;  // --match, --qtype, ...
  auto action = value.find("action");
  if (action == value.end() || !action->is_string()) {
    return fail("field \"action\" (a string) is required");
  }
  tokens.push_back(action->get<std::string>());
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& key = it.key();
    const json& field = it.value();
    if (key == "action") continue;
    if (key == "args") {
      if (!field.is_array()) return fail("\"args\" must be an array of strings or numbers");
      for (const json& arg : field) {
        auto text = scalar_text(arg);
        if (!text) return fail("\"args\" must be an array of strings or numbers");
        tokens.push_back(*text);
      }
    } else if (key == "match" || key == "transport") {
      if (!field.is_string()) return fail("\"" + key + "\" must be a string");
      options.push_back("--" + key);
      options.push_back(field.get<std::string>());
    } else if (key == "qtype") {
      if (field.is_array()) {
        for (const json& q : field) {
          auto text = scalar_text(q);
          if (!text) return fail("\"qtype\" must hold type names or numbers");
          options.insert(options.end(), {"--qtype", *text});
        }
      } else if (auto text = scalar_text(field)) {
        options.insert(options.end(), {"--qtype", *text});
      } else {
        return fail("\"qtype\" must be an array, a type name or a number");
      }
    } else if (key == "probability") {
      auto text = scalar_text(field);
      if (!text) return fail("\"probability\" must be a number in [0, 1]");
      options.insert(options.end(), {"--probability", *text});
    } else {
      return fail("unknown field \"" + key +
                  "\" (expected match, qtype, transport, action, args, probability)");
    }
  }
  tokens.insert(tokens.end(), options.begin(), options.end());
  return parse_rule(tokens);
}

Result<RuleSet> rule_set_from_json(const json& value) {
  const json* list = &value;
  json single;
  if (value.is_object()) {
    if (auto rules = value.find("rules"); rules != value.end() && value.size() == 1) {
      list = &*rules;
    } else {
      single = json::array({value});
      list = &single;
    }
  }
  if (!list->is_array())
    return fail("expected a JSON array of rules, one rule, or {\"rules\": [...]}");
  RuleSet rules;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto rule = rule_from_json((*list)[i]);
    if (!rule) return fail("rule " + std::to_string(i) + ": " + rule.error().message);
    rules.push_back(std::move(*rule));
  }
  return rules;
}

}  // namespace holdfast::dnsfault
