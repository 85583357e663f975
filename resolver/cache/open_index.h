// The memory cache's index: an open-addressing hash table of (hash, node pointer) slots with
// linear probing, so a lookup reads one slot line and then the node it points at. It replaced a
// std::unordered_map, whose lookup read a bucket, then a separately allocated map node, then the
// cache node (a cache miss each with 10,000 names; bench/compare).
//
// Deletion shifts the following run of slots back (no tombstones), so probe lengths stay those of
// a table that never had the erased entries. The table doubles above 5/8 full and never shrinks.
// Not thread-safe: the cache's shard lock guards it.
#pragma once

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
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.node == nullptr) return nullptr;
      if (slot.hash == hash && same(*slot.node)) return slot.node;
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
    std::size_t hole = hash & mask_;
    while (slots_[hole].node != node) {
      if (slots_[hole].node == nullptr) return false;
      hole = (hole + 1) & mask_;
    }
    // Backward shift: move each later slot of the run into the hole when its home is not
    // between the hole and it (cyclically), so every slot stays reachable from its home.
    for (std::size_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
      Slot& slot = slots_[next];
      if (slot.node == nullptr) break;
      const std::size_t home = slot.hash & mask_;
      const bool reachable_past_hole = ((next - home) & mask_) < ((next - hole) & mask_);
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
    std::size_t i = hash & mask_;
    while (slots_[i].node != nullptr) i = (i + 1) & mask_;
    slots_[i] = Slot{hash, node};
  }

  void grow(std::size_t size) {
    std::vector<Slot> old(size);
    old.swap(slots_);
    mask_ = size - 1;
    for (const Slot& slot : old) {
      if (slot.node != nullptr) place(slot.hash, slot.node);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;
};

}  // namespace holdfast::cache
