// The rule grammar: every action, the match options, errors that name the bad token, the
// canonical text form, and matching.
#include "rule.h"

#include <gtest/gtest.h>

#include "text.h"

namespace holdfast::dnsfault {
namespace {

Rule parse_ok(std::string_view text) {
  auto rule = parse_rule_text(text);
  EXPECT_TRUE(rule.has_value()) << text << ": " << (rule ? "" : rule.error().message);
  return rule ? *rule : Rule{};
}

std::string parse_error(std::string_view text) {
  auto rule = parse_rule_text(text);
  EXPECT_FALSE(rule.has_value()) << text << " parsed";
  return rule ? "" : rule.error().message;
}

QueryFacts query(std::string_view name, std::uint16_t qtype = dns::qtype::kA,
                 Transport transport = Transport::kUdp) {
  return QueryFacts{name, qtype, transport};
}

TEST(RuleParse, ReadsEveryActionWithoutArguments) {
  EXPECT_EQ(parse_ok("pass").action.kind, ActionKind::kPass);
  EXPECT_EQ(parse_ok("blackhole").action.kind, ActionKind::kBlackhole);
  EXPECT_EQ(parse_ok("refuse-connection").action.kind, ActionKind::kRefuseConnection);
  EXPECT_EQ(parse_ok("nodata").action.kind, ActionKind::kNodata);
  EXPECT_EQ(parse_ok("truncate").action.kind, ActionKind::kTruncate);
  EXPECT_EQ(parse_ok("garble").action.garble, GarbleMode::kAny);
}

TEST(RuleParse, ReadsDelayWithJitterAndDistribution) {
  const Rule r = parse_ok("delay 800 200 pareto");
  EXPECT_EQ(r.action.kind, ActionKind::kDelay);
  EXPECT_EQ(r.action.delay_ms, 800u);
  EXPECT_EQ(r.action.jitter_ms, 200u);
  EXPECT_EQ(r.action.distribution, Distribution::kPareto);
  EXPECT_EQ(parse_ok("delay 50").action.jitter_ms, 0u);
  EXPECT_EQ(parse_ok("delay 1.5s").action.delay_ms, 1500u);
  EXPECT_EQ(parse_ok("delay 100 normal").action.distribution, Distribution::kNormal);
}

TEST(RuleParse, ReadsRcodeNamesCaseInsensitively) {
  EXPECT_EQ(parse_ok("rcode SERVFAIL").action.rcode, dns::Rcode::kServFail);
  EXPECT_EQ(parse_ok("rcode refused").action.rcode, dns::Rcode::kRefused);
  EXPECT_EQ(parse_ok("rcode NXDOMAIN").action.rcode, dns::Rcode::kNxDomain);
  EXPECT_EQ(parse_ok("rcode FORMERR").action.rcode, dns::Rcode::kFormErr);
  EXPECT_EQ(parse_ok("rcode NOTIMP").action.rcode, dns::Rcode::kNotImp);
}

TEST(RuleParse, ReadsLossBurstLossTtlAndGarbleModes) {
  EXPECT_DOUBLE_EQ(parse_ok("loss 50").action.loss_percent, 50);
  EXPECT_DOUBLE_EQ(parse_ok("loss 12.5%").action.loss_percent, 12.5);
  const Rule burst = parse_ok("burst-loss 5 40");
  EXPECT_DOUBLE_EQ(burst.action.good_to_bad_percent, 5);
  EXPECT_DOUBLE_EQ(burst.action.bad_to_good_percent, 40);
  EXPECT_EQ(parse_ok("ttl 0").action.ttl_seconds, 0u);
  EXPECT_EQ(parse_ok("ttl 3600").action.ttl_seconds, 3600u);
  EXPECT_EQ(parse_ok("garble id").action.garble, GarbleMode::kWrongId);
  EXPECT_EQ(parse_ok("garble question").action.garble, GarbleMode::kWrongQuestion);
  EXPECT_EQ(parse_ok("garble short").action.garble, GarbleMode::kCutShort);
}

TEST(RuleParse, ReadsMatchQtypeTransportAndProbability) {
  const Rule r = parse_ok(
      "rcode NXDOMAIN --match '*.ns-1.svc.cluster.local' --qtype A,aaaa "
      "--qtype SRV --transport tcp --probability 0.25");
  EXPECT_EQ(r.match.kind, MatchKind::kGlob);
  EXPECT_EQ(r.match.pattern, "*.ns-1.svc.cluster.local");
  EXPECT_EQ(r.match.qtypes,
            (std::vector<std::uint16_t>{dns::qtype::kA, dns::qtype::kAaaa, dns::qtype::kSrv}));
  EXPECT_EQ(r.match.transport, Transport::kTcp);
  EXPECT_DOUBLE_EQ(r.probability, 0.25);
  EXPECT_DOUBLE_EQ(parse_ok("blackhole --probability=10%").probability, 0.1);
}

TEST(RuleParse, TellsExactSuffixGlobAndAllApart) {
  EXPECT_EQ(parse_ok("blackhole --match Svc-1.NS-1.svc.cluster.local.").match.kind,
            MatchKind::kExact);
  EXPECT_EQ(parse_ok("blackhole --match svc-1.ns-1.svc.cluster.local.").match.pattern,
            "svc-1.ns-1.svc.cluster.local");
  const Rule suffix = parse_ok("blackhole --match .svc.cluster.local");
  EXPECT_EQ(suffix.match.kind, MatchKind::kSuffix);
  EXPECT_EQ(suffix.match.pattern, "svc.cluster.local");
  EXPECT_EQ(parse_ok("blackhole --match 'svc-?.ns-1.*'").match.kind, MatchKind::kGlob);
  EXPECT_EQ(parse_ok("blackhole --match '*'").match.kind, MatchKind::kAll);
  EXPECT_EQ(parse_ok("blackhole --match .").match.kind, MatchKind::kAll);
}

TEST(RuleParse, ErrorsNameTheProblem) {
  EXPECT_NE(parse_error("explode").find("unknown action 'explode'"), std::string::npos);
  EXPECT_NE(parse_error("delay soon").find("delay expects MS"), std::string::npos);
  EXPECT_NE(parse_error("delay 800 200 gaussian").find("gaussian"), std::string::npos);
  EXPECT_NE(parse_error("rcode TEAPOT").find("rcode expects one of"), std::string::npos);
  EXPECT_NE(parse_error("loss 150").find("loss expects PERCENT"), std::string::npos);
  EXPECT_NE(parse_error("burst-loss 5").find("burst-loss expects"), std::string::npos);
  EXPECT_NE(parse_error("blackhole now").find("takes no arguments"), std::string::npos);
  EXPECT_NE(parse_error("blackhole --probability 2").find("--probability"), std::string::npos);
  EXPECT_NE(parse_error("blackhole --qtype BOGUS").find("BOGUS"), std::string::npos);
  EXPECT_NE(parse_error("blackhole --transport sctp").find("sctp"), std::string::npos);
  EXPECT_NE(parse_error("blackhole --colour red").find("unknown option '--colour'"),
            std::string::npos);
  EXPECT_NE(parse_error("blackhole --match").find("needs a value"), std::string::npos);
  EXPECT_NE(parse_error("--match x").find("no action"), std::string::npos);
  EXPECT_NE(parse_error("delay 'unterminated").find("unterminated"), std::string::npos);
  EXPECT_NE(parse_error("ttl -1").find("ttl expects SECONDS"), std::string::npos);
}

TEST(RuleText, RoundTripsThroughTheCanonicalForm) {
  for (std::string_view text :
       {"pass", "blackhole --match .svc.cluster.local", "delay 800 200", "delay 100 0 normal",
        "delay 300 150 pareto --probability 0.5",
        "rcode SERVFAIL --match '*.ns-1.svc.cluster.local'", "loss 12.5 --qtype A,AAAA",
        "burst-loss 5 40 --transport udp", "ttl 7", "garble short",
        "refuse-connection --transport tcp", "nodata --match svc-1.ns-1.svc.cluster.local"}) {
    const Rule rule = parse_ok(text);
    const std::string canonical = rule_to_text(rule);
    EXPECT_EQ(canonical, text);
    const Rule again = parse_ok(canonical);
    EXPECT_EQ(rule_to_text(again), canonical);
  }
}

TEST(RuleList, SplitsOnSemicolonsAndTreatsLonePassAsEmpty) {
  auto rules = parse_rule_list("rcode SERVFAIL --probability 0.1; delay 300 100");
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(rule_set_to_text(*rules), "rcode SERVFAIL --probability 0.1; delay 300 100");
  auto pass = parse_rule_list("pass");
  ASSERT_TRUE(pass);
  EXPECT_TRUE(pass->empty());
  EXPECT_EQ(rule_set_to_text(*pass), "pass");
  EXPECT_FALSE(parse_rule_list("blackhole;;delay 5"));
  EXPECT_FALSE(parse_rule_list(""));
}

TEST(RulesFile, SkipsCommentsAndNamesTheBadLine) {
  auto rules = parse_rules_file("# faults\n\nblackhole --qtype AAAA  # v6 dies\nrcode SERVFAIL\n",
                                "rules.txt");
  ASSERT_TRUE(rules) << rules.error().message;
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(rule_to_text((*rules)[0]), "blackhole --qtype AAAA");
  auto bad = parse_rules_file("pass\n\ndelay fast\n", "rules.txt");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("rules.txt:3: ", 0), 0u) << bad.error().message;
}

TEST(RuleMatch, GlobStarSpansLabelsAndQuestionMarkIsOneCharacter) {
  EXPECT_TRUE(glob_match("*.svc.cluster.local", "a.b.svc.cluster.local"));
  EXPECT_FALSE(glob_match("*.svc.cluster.local", "svc.cluster.local"));
  EXPECT_TRUE(glob_match("svc-?.ns-1.*", "svc-7.ns-1.svc.cluster.local"));
  EXPECT_FALSE(glob_match("svc-?.ns-1.*", "svc-17.ns-1.svc.cluster.local"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
}

TEST(RuleMatch, ExactSuffixQtypeAndTransportAllMustHold) {
  const Rule exact = parse_ok("blackhole --match svc-1.ns-1.svc.cluster.local");
  EXPECT_TRUE(matches(exact.match, query("svc-1.ns-1.svc.cluster.local")));
  EXPECT_FALSE(matches(exact.match, query("x.svc-1.ns-1.svc.cluster.local")));
  const Rule suffix = parse_ok("blackhole --match .svc.cluster.local");
  EXPECT_TRUE(matches(suffix.match, query("svc.cluster.local")));
  EXPECT_TRUE(matches(suffix.match, query("a.svc.cluster.local")));
  EXPECT_FALSE(matches(suffix.match, query("asvc.cluster.local")));
  const Rule typed = parse_ok("blackhole --qtype AAAA --transport tcp");
  EXPECT_TRUE(matches(typed.match, query("x", dns::qtype::kAaaa, Transport::kTcp)));
  EXPECT_FALSE(matches(typed.match, query("x", dns::qtype::kA, Transport::kTcp)));
  EXPECT_FALSE(matches(typed.match, query("x", dns::qtype::kAaaa, Transport::kUdp)));
}

TEST(RuleSetFault, OnlyNonPassRulesCount) {
  EXPECT_FALSE(is_fault({}));
  EXPECT_FALSE(is_fault({parse_ok("pass --match x")}));
  EXPECT_TRUE(is_fault({parse_ok("delay 5")}));
  EXPECT_FALSE(is_fault({parse_ok("blackhole --probability 0")}));
}

TEST(Qtype, NamesAndNumbersBothWays) {
  EXPECT_EQ(qtype_from_name("aaaa"), dns::qtype::kAaaa);
  EXPECT_EQ(qtype_from_name("TYPE65"), 65);
  EXPECT_EQ(qtype_from_name("99"), 99);
  EXPECT_FALSE(qtype_from_name("NOPE"));
  EXPECT_EQ(qtype_name(dns::qtype::kSrv), "SRV");
  EXPECT_EQ(qtype_name(999), "TYPE999");
}

}  // namespace
}  // namespace holdfast::dnsfault
