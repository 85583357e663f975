// The memory cache's index: an open-addressing hash table of (hash, node pointer) slots with
// linear probing, so a lookup reads one slot line and then the node it points at. It replaced a
// std::unordered_map, whose lookup read a bucket, then a separately allocated map node, then the
// cache node (a cache miss each with 10,000 names; bench/compare).
//
// Deletion shifts the following run of slots back (no tombstones), so probe lengths stay those of
// a table that never had the erased entries. The table doubles above 5/8 full and never shrinks.
// Not thread-safe: the cache's shard lock guards it — except home_address(), which may be called
// without the lock because it only computes an address to prefetch (the table's address and mask
// are atomics for it; on x86 their relaxed loads and stores are the plain moves they were).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace holdfast::cache {

template <typename Node>
class OpenIndex {
 public:
  // The node under `hash` that `same(node)` accepts (its key equals the one asked for), or null.
  template <typename Same>
  Node* find(std::uint64_t hash, Same&& same) const noexcept {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = mask_.load(std::memory_order_relaxed);
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.node == nullptr) return nullptr;
      if (slot.hash == hash && same(*slot.node)) return slot.node;
    }
  }

  // Where `hash`'s probe starts, for __builtin_prefetch only: safe without the lock, but the table
  // may be replaced meanwhile, so the address may be stale or freed — never read through it.
  const void* home_address(std::uint64_t hash) const noexcept {
    // Integer arithmetic: the table may be smaller than the mask or freed by now, and pointer
    // arithmetic past an array is undefined where an integer is only an integer.
    const auto base = reinterpret_cast<std::uintptr_t>(data_.load(std::memory_order_relaxed));
    const std::uintptr_t at = base + (hash & mask_.load(std::memory_order_relaxed)) * sizeof(Slot);
    return reinterpret_cast<const void*>(at);  // NOLINT(performance-no-int-to-ptr): see above
  }

  // Prefetches the first `lines` cache lines of every node in `hash`'s probe run filed under
  // `hash` (the lock is held: the run's slots are read).
  void prefetch_nodes(std::uint64_t hash, int lines) const noexcept {
    if (slots_.empty()) return;
    const std::size_t mask = mask_.load(std::memory_order_relaxed);
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.node == nullptr) return;
      if (slot.hash != hash) continue;
      const auto* bytes = reinterpret_cast<const char*>(slot.node);
      for (std::ptrdiff_t line = 0; line < lines; ++line) __builtin_prefetch(bytes + 64 * line);
    }
  }

  // Adds `node` under `hash`; the caller knows no equal key is there. May allocate (grow).
  void insert(std::uint64_t hash, Node* node) {
    if ((used_ + 1) * 8 > slots_.size() * 5) grow(slots_.empty() ? 16 : slots_.size() * 2);
    place(hash, node);
    ++used_;
  }

  // Removes `node`, which is under `hash`. False when it is not in the table.
  bool erase(std::uint64_t hash, const Node* node) noexcept {
    if (slots_.empty()) return false;
    const std::size_t mask = mask_.load(std::memory_order_relaxed);
    std::size_t hole = hash & mask;
    while (slots_[hole].node != node) {
      if (slots_[hole].node == nullptr) return false;
      hole = (hole + 1) & mask;
    }
    // Backward shift: move each later slot of the run into the hole when its home is not
    // between the hole and it (cyclically), so every slot stays reachable from its home.
    for (std::size_t next = (hole + 1) & mask;; next = (next + 1) & mask) {
      Slot& slot = slots_[next];
      if (slot.node == nullptr) break;
      const std::size_t home = slot.hash & mask;
      const bool reachable_past_hole = ((next - home) & mask) < ((next - hole) & mask);
      if (reachable_past_hole) continue;
      slots_[hole] = slot;
      hole = next;
    }
    slots_[hole] = Slot{};
    --used_;
    return true;
  }

  // Room for `entries` without growing.
  void reserve(std::size_t entries) {
    std::size_t size = slots_.empty() ? 16 : slots_.size();
    while (entries * 8 > size * 5) size *= 2;
    if (size > slots_.size()) grow(size);
  }

  std::size_t size() const noexcept { return used_; }
  std::size_t slot_count() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    Node* node = nullptr;
  };

  void place(std::uint64_t hash, Node* node) noexcept {
    const std::size_t mask = mask_.load(std::memory_order_relaxed);
    std::size_t i = hash & mask;
    while (slots_[i].node != nullptr) i = (i + 1) & mask;
    slots_[i] = Slot{hash, node};
  }

  void grow(std::size_t size) {
    std::vector<Slot> old(size);
    old.swap(slots_);
    mask_.store(size - 1, std::memory_order_relaxed);
    data_.store(slots_.data(), std::memory_order_relaxed);
    for (const Slot& slot : old) {
      if (slot.node != nullptr) place(slot.hash, slot.node);
    }
  }

  std::vector<Slot> slots_;
  // slots_'s size - 1 and its data, readable without the lock (home_address()).
  std::atomic<std::size_t> mask_ = 0;
  std::atomic<const Slot*> data_ = nullptr;
  std::size_t used_ = 0;
};

}  // namespace holdfast::cache
