// The decision engine: rule order, probability, seeded loss, the Gilbert–Elliott chain, delay
// distributions, and reproducibility.
#include "engine.h"

#include <gtest/gtest.h>

#include <cmath>

namespace holdfast::dnsfault {
namespace {

RuleSet rules(std::string_view text) {
  auto parsed = parse_rule_list(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : RuleSet{};
}

const QueryFacts kUdpA{"svc-1.ns-1.svc.cluster.local", dns::qtype::kA, Transport::kUdp};

TEST(Engine, NoRulesMeansPass) {
  FaultEngine engine(1);
  const Decision d = engine.decide({}, 1, kUdpA);
  EXPECT_EQ(d.kind, ActionKind::kPass);
  EXPECT_EQ(d.rule_index, -1);
}

TEST(Engine, TheFirstMatchingRuleApplies) {
  FaultEngine engine(1);
  const RuleSet set =
      rules("rcode NXDOMAIN --match '*.ns-2.svc.cluster.local'; rcode REFUSED; blackhole");
  const Decision d = engine.decide(set, 1, kUdpA);
  EXPECT_EQ(d.kind, ActionKind::kRcode);
  EXPECT_EQ(d.rcode, dns::Rcode::kRefused);
  EXPECT_EQ(d.rule_index, 1);
}

TEST(Engine, ARuleThatDoesNotFireLetsTheNextOneDecide) {
  FaultEngine engine(42);
  const RuleSet set = rules("rcode SERVFAIL --probability 0.1; delay 300");
  int servfail = 0;
  for (int i = 0; i < 10'000; ++i) {
    const Decision d = engine.decide(set, 1, kUdpA);
    if (d.kind == ActionKind::kRcode)
      ++servfail;
    else
      EXPECT_EQ(d.kind, ActionKind::kDelay);
  }
  EXPECT_NEAR(servfail, 1'000, 4 * std::sqrt(10'000 * 0.1 * 0.9));
}

TEST(Engine, LossDropsItsShareAndTheSeedFixesWhich) {
  const RuleSet set = rules("loss 50");
  auto pattern = [&](std::uint64_t seed) {
    FaultEngine engine(seed);
    std::vector<bool> dropped;
    for (int i = 0; i < 400; ++i)
      dropped.push_back(engine.decide(set, 1, kUdpA).kind == ActionKind::kLoss);
    return dropped;
  };
  const auto a = pattern(7);
  EXPECT_EQ(a, pattern(7));
  EXPECT_NE(a, pattern(8));
  const auto lost = std::count(a.begin(), a.end(), true);
  EXPECT_NEAR(lost, 200, 3 * std::sqrt(400 * 0.25));  // 3 sigma
}

TEST(Engine, BurstLossAveragesPOverPPlusRInBursts) {
  FaultEngine engine(3);
  const RuleSet set = rules("burst-loss 5 20");  // mean loss 0.05 / 0.25 = 20 %, bursts of ~5
  int lost = 0, bursts = 0;
  bool previous = false;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const bool drop = engine.decide(set, 1, kUdpA).kind == ActionKind::kBurstLoss;
    lost += drop;
    bursts += drop && !previous;
    previous = drop;
  }
  EXPECT_NEAR(static_cast<double>(lost) / n, 0.20, 0.01);
  EXPECT_NEAR(static_cast<double>(lost) / bursts, 5.0, 0.3);
}

TEST(Engine, ANewRuleSetVersionRestartsTheChainInTheGoodState) {
  FaultEngine engine(5);
  const RuleSet set = rules("burst-loss 100 0");  // bad after the first query, forever
  EXPECT_EQ(engine.decide(set, 1, kUdpA).kind, ActionKind::kPass);
  EXPECT_EQ(engine.decide(set, 1, kUdpA).kind, ActionKind::kBurstLoss);
  EXPECT_EQ(engine.decide(set, 2, kUdpA).kind, ActionKind::kPass);
}

TEST(Engine, TruncateOnlyAppliesToUdp) {
  FaultEngine engine(1);
  const RuleSet set = rules("truncate");
  EXPECT_EQ(engine.decide(set, 1, kUdpA).kind, ActionKind::kTruncate);
  QueryFacts tcp = kUdpA;
  tcp.transport = Transport::kTcp;
  EXPECT_EQ(engine.decide(set, 1, tcp).kind, ActionKind::kPass);
}

TEST(Engine, GarbleAnyPicksEachConcreteKind) {
  FaultEngine engine(9);
  const RuleSet set = rules("garble");
  int seen[4] = {};
  for (int i = 0; i < 300; ++i) ++seen[static_cast<int>(engine.decide(set, 1, kUdpA).garble)];
  EXPECT_EQ(seen[0], 0);
  EXPECT_GT(seen[1], 50);
  EXPECT_GT(seen[2], 50);
  EXPECT_GT(seen[3], 50);
}

struct DelayStats {
  double mean = 0;
  std::uint32_t min = ~0u;
  std::uint32_t max = 0;
};

DelayStats sample(std::string_view text, int n = 20'000) {
  FaultEngine engine(11);
  auto rule = parse_rule_text(text);
  DelayStats s;
  for (int i = 0; i < n; ++i) {
    const std::uint32_t d = engine.sample_delay(rule->action);
    s.mean += d;
    s.min = std::min(s.min, d);
    s.max = std::max(s.max, d);
  }
  s.mean /= n;
  return s;
}

TEST(DelayDistribution, UniformStaysWithinTheJitter) {
  const DelayStats s = sample("delay 800 200");
  EXPECT_GE(s.min, 600u);
  EXPECT_LE(s.max, 1000u);
  EXPECT_NEAR(s.mean, 800, 5);
}

TEST(DelayDistribution, NormalCentresOnTheDelay) {
  const DelayStats s = sample("delay 800 100 normal");
  EXPECT_NEAR(s.mean, 800, 5);
  EXPECT_LT(s.min, 600u);  // beyond 2 sigma happens in 20,000 draws
  EXPECT_GT(s.max, 1000u);
}

TEST(DelayDistribution, ParetoHasMeanDelayAndABoundedLongTail) {
  const DelayStats s = sample("delay 400 200 pareto");
  EXPECT_NEAR(s.mean, 400, 15);
  EXPECT_GE(s.min, 300u);
  EXPECT_GT(s.max, 1000u);
  EXPECT_LE(s.max, 400u + 20 * 200);
}

TEST(DelayDistribution, NoJitterIsExact) {
  const DelayStats s = sample("delay 250 0 normal", 100);
  EXPECT_EQ(s.min, 250u);
  EXPECT_EQ(s.max, 250u);
}

}  // namespace
}  // namespace holdfast::dnsfault
