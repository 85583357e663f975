// The seeded decision engine: rule order, probabilities, loss models and delay distributions.
#include "engine.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace holdfast::dnsfault {
namespace {

constexpr double kMaxDelayMs = 600'000;
constexpr double kParetoAlpha = 3.0;
constexpr double kParetoCapJitters = 20.0;

}  // namespace

double FaultEngine::uniform01() noexcept {
  // 53 random bits: the same stream on every platform, unlike std::uniform_real_distribution.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

double FaultEngine::standard_normal() noexcept {
  // Box–Muller; 1 - u keeps log() away from 0.
  const double u1 = 1.0 - uniform01();
  const double u2 = uniform01();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint32_t FaultEngine::sample_delay(const Action& action) noexcept {
  const double delay = action.delay_ms;
  const double jitter = action.jitter_ms;
  double value = delay;
  if (jitter > 0) {
    switch (action.distribution) {
      case Distribution::kUniform:
        value = delay + (2.0 * uniform01() - 1.0) * jitter;
        break;
      case Distribution::kNormal:
        value = delay + standard_normal() * jitter;
        break;
      case Distribution::kPareto: {
        const double u = 1.0 - uniform01();  // (0, 1]
        const double lomax = jitter * (std::pow(u, -1.0 / kParetoAlpha) - 1.0);
        value = std::min(delay - jitter / 2.0 + lomax, delay + kParetoCapJitters * jitter);
        break;
      }
    }
  }
  return static_cast<std::uint32_t>(std::llround(std::clamp(value, 0.0, kMaxDelayMs)));
}

bool FaultEngine::burst_drop(std::size_t rule_index, const Action& action) noexcept {
  // Gilbert's model: lose every query while "bad", none while "good"; step the chain after each
  // query. Mean loss p/(p+r), mean burst length 1/r.
  std::uint8_t& bad = burst_bad_[rule_index];
  const bool drop = bad != 0;
  const double u = uniform01() * 100.0;
  if (bad) {
    if (u < action.bad_to_good_percent) bad = 0;
  } else if (u < action.good_to_bad_percent) {
    bad = 1;
  }
  return drop;
}

Decision FaultEngine::decide(const RuleSet& rules, std::uint64_t rules_version,
                             const QueryFacts& query) noexcept {
  if (rules_version != version_) {
    version_ = rules_version;
    burst_bad_.assign(rules.size(), 0);
  }
  Decision d;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    if (!matches(rule.match, query)) continue;
    if (rule.probability < 1.0 && !(uniform01() < rule.probability)) continue;
    const Action& a = rule.action;
    d.rule_index = static_cast<int>(i);
    d.kind = a.kind;
    switch (a.kind) {
      case ActionKind::kDelay:
        d.delay_ms = sample_delay(a);
        break;
      case ActionKind::kRcode:
        d.rcode = a.rcode;
        break;
      case ActionKind::kTtl:
        d.ttl_seconds = a.ttl_seconds;
        break;
      case ActionKind::kTruncate:
        if (query.transport == Transport::kTcp) d.kind = ActionKind::kPass;
        break;
      case ActionKind::kLoss:
        if (!(uniform01() * 100.0 < a.loss_percent)) d.kind = ActionKind::kPass;
        break;
      case ActionKind::kBurstLoss:
        if (!burst_drop(i, a)) d.kind = ActionKind::kPass;
        break;
      case ActionKind::kGarble:
        d.garble = a.garble;
        if (d.garble == GarbleMode::kAny) {
          d.garble = static_cast<GarbleMode>(1 + static_cast<int>(uniform01() * 3.0));
        }
        break;
      default:
        break;
    }
    return d;
  }
  return d;
}

}  // namespace holdfast::dnsfault
