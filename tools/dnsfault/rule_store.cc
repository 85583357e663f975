// Swapping rule-set snapshots between the control thread, the schedule and the loop.
#include "rule_store.h"

#include <memory>

namespace holdfast::dnsfault {

RuleStore::RuleStore(RuleSet initial)
    : rules_(std::make_shared<const RuleSet>(std::move(initial))) {}

RuleStore::Snapshot RuleStore::get() const {
  std::lock_guard lock(mutex_);
  return Snapshot{rules_, version_.load(std::memory_order_relaxed)};
}

std::uint64_t RuleStore::replace(RuleSetPtr rules) {
  std::lock_guard lock(mutex_);
  rules_ = rules ? std::move(rules) : std::make_shared<const RuleSet>();
  return version_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

std::uint64_t RuleStore::replace(RuleSet rules) {
  return replace(std::make_shared<const RuleSet>(std::move(rules)));
}

std::uint64_t RuleStore::append(const RuleSet& more) {
  std::lock_guard lock(mutex_);
  auto combined = std::make_shared<RuleSet>(*rules_);
  combined->insert(combined->end(), more.begin(), more.end());
  rules_ = std::move(combined);
  return version_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

}  // namespace holdfast::dnsfault
