// The current rule set, shared between the loop (reads it per query) and the control API and
// schedule (replace it): an immutable snapshot swapped under a mutex, plus a version number the
// loop polls with one atomic load so that it only takes the lock after a change.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "rule.h"

namespace holdfast::dnsfault {

class RuleStore {
 public:
  struct Snapshot {
    RuleSetPtr rules;  // never null
    std::uint64_t version = 0;
  };

  explicit RuleStore(RuleSet initial = {});

  // Any thread.
  Snapshot get() const;
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }
  std::uint64_t replace(RuleSetPtr rules);
  std::uint64_t replace(RuleSet rules);
  std::uint64_t append(const RuleSet& more);
  std::uint64_t clear() { return replace(RuleSet{}); }

 private:
  mutable std::mutex mutex_;
  RuleSetPtr rules_;
  std::atomic<std::uint64_t> version_{1};
};

// The loop's cached view of a RuleStore: refresh() costs one atomic load when nothing changed.
class RuleView {
 public:
  using Snapshot = RuleStore::Snapshot;

  explicit RuleView(const RuleStore& store) : store_(store), snapshot_(store.get()) {}
  const Snapshot& refresh() {
    if (store_.version() != snapshot_.version) snapshot_ = store_.get();
    return snapshot_;
  }

 private:
  const RuleStore& store_;
  Snapshot snapshot_;
};

}  // namespace holdfast::dnsfault
