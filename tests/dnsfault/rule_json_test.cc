// Rules as the control API's JSON: the same grammar, the same shape both ways.
#include "rule_json.h"

#include <gtest/gtest.h>

namespace holdfast::dnsfault {
namespace {

using nlohmann::json;

TEST(RuleJson, WritesEveryField) {
  auto rule = parse_rule_text(
      "delay 800 200 --match '*.ns-1.svc.cluster.local' --qtype A --probability 0.5");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule_to_json(*rule),
            json::parse(R"({"match": "*.ns-1.svc.cluster.local", "qtype": ["A"],
      "transport": "any", "action": "delay", "args": ["800", "200"], "probability": 0.5})"));
}

TEST(RuleJson, ReadsWhatItWrites) {
  auto rules = parse_rule_list(
      "rcode SERVFAIL --probability 0.1; delay 300 100 normal; "
      "blackhole --match .svc.cluster.local --transport udp --qtype AAAA");
  ASSERT_TRUE(rules);
  auto back = rule_set_from_json(rule_set_to_json(*rules));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(rule_set_to_text(*back), rule_set_to_text(*rules));
}

TEST(RuleJson, AcceptsNumbersCommaListsAndTheThreeEnvelopes) {
  const json one = json::parse(R"({"action": "delay", "args": [800, 200], "qtype": "A,AAAA"})");
  auto rule = rule_from_json(one);
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(rule_to_text(*rule), "delay 800 200 --qtype A,AAAA");
  EXPECT_EQ(rule_set_from_json(one)->size(), 1u);
  EXPECT_EQ(rule_set_from_json(json::array({one, one}))->size(), 2u);
  EXPECT_EQ(rule_set_from_json(json{{"rules", json::array({one})}})->size(), 1u);
}

TEST(RuleJson, ErrorsNameTheRuleAndTheField) {
  auto missing = rule_set_from_json(json::parse(R"([{"action": "pass"}, {"args": []}])"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "rule 1: field \"action\" (a string) is required");
  auto typo = rule_from_json(json::parse(R"({"action": "pass", "mtach": "x"})"));
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("unknown field \"mtach\""), std::string::npos);
  auto bad_action = rule_from_json(json::parse(R"({"action": "rcode", "args": ["TEAPOT"]})"));
  ASSERT_FALSE(bad_action);
  EXPECT_NE(bad_action.error().message.find("rcode expects"), std::string::npos);
  EXPECT_FALSE(rule_set_from_json(json("blackhole")));
  EXPECT_FALSE(rule_from_json(json::parse(R"({"action": "loss", "args": [{"pct": 5}]})")));
}

}  // namespace
}  // namespace holdfast::dnsfault
