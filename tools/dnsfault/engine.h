// Deciding the fate of one query: the first rule that matches and fires, then that rule's own
// randomness (loss draws, the Gilbert–Elliott chain, delay samples, garble kinds). Seeded, so a
// given seed and query order always give the same faults.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "rule.h"

namespace holdfast::dnsfault {

struct Decision {
  // What to do. kLoss and kBurstLoss mean "drop this one"; a query those rules let through is
  // kPass. kTruncate never comes back for TCP (TC means nothing there): it passes.
  ActionKind kind = ActionKind::kPass;
  int rule_index = -1;  // the rule that decided, -1 when none matched
  std::uint32_t delay_ms = 0;
  dns::Rcode rcode = dns::Rcode::kServFail;
  std::uint32_t ttl_seconds = 0;
  GarbleMode garble = GarbleMode::kWrongId;  // never kAny
};

// Not thread-safe: one per loop.
class FaultEngine {
 public:
  explicit FaultEngine(std::uint64_t seed) noexcept : rng_(seed) {}

  // `rules_version` identifies `rules`: the burst-loss chains start again (in the good state)
  // whenever it changes.
  Decision decide(const RuleSet& rules, std::uint64_t rules_version,
                  const QueryFacts& query) noexcept;

  // One delay draw for a `delay` action, in [0, 600000] ms:
  //   uniform: DELAY + U(-JITTER, +JITTER)     normal: N(DELAY, JITTER)
  //   pareto:  DELAY - JITTER/2 + Lomax(alpha 3, scale JITTER): mean DELAY, a long right tail
  //            (capped at DELAY + 20 JITTER).
  std::uint32_t sample_delay(const Action& action) noexcept;

  // A uniform draw in [0, 1), for callers that need the same seeded stream.
  double uniform01() noexcept;

 private:
  bool burst_drop(std::size_t rule_index, const Action& action) noexcept;
  double standard_normal() noexcept;

  std::mt19937_64 rng_;
  std::uint64_t version_ = ~std::uint64_t{0};
  std::vector<std::uint8_t> burst_bad_;  // per rule: the Gilbert–Elliott chain is in "bad"
};

}  // namespace holdfast::dnsfault
