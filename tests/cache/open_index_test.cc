// The memory cache's open-addressing index (cache/open_index.h): finds what was inserted, forgets
// what was erased, and keeps every other entry reachable however deletions shift the probe runs,
// compared with a std::unordered_map model over random operations with colliding hashes.
#include "cache/open_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

namespace holdfast::cache {
namespace {

struct Item {
  int key = 0;
};

Item* find(const OpenIndex<Item>& index, std::uint64_t hash, int key) {
  return index.find(hash, [key](const Item& item) { return item.key == key; });
}

TEST(OpenIndex, FindsInsertedAndForgetsErased) {
  OpenIndex<Item> index;
  Item a{1};
  Item b{2};
  EXPECT_EQ(find(index, 7, 1), nullptr);  // empty: no slots yet
  index.insert(7, &a);
  index.insert(7, &b);  // the same hash: told apart by the key
  EXPECT_EQ(find(index, 7, 1), &a);
  EXPECT_EQ(find(index, 7, 2), &b);
  EXPECT_EQ(find(index, 8, 1), nullptr);
  EXPECT_TRUE(index.erase(7, &a));
  EXPECT_FALSE(index.erase(7, &a));
  EXPECT_EQ(find(index, 7, 1), nullptr);
  EXPECT_EQ(find(index, 7, 2), &b);  // shifted back into the hole, still found
  EXPECT_EQ(index.size(), 1u);
}

TEST(OpenIndex, GrowsBeforeFiveEighthsFull) {
  OpenIndex<Item> index;
  std::vector<Item> items(1000);
  for (int i = 0; i < 1000; ++i) {
    items[i].key = i;
    index.insert(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL, &items[i]);
    EXPECT_LE(index.size() * 8, index.slot_count() * 5);
  }
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(find(index, static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL, i), &items[i]);
  }
}

TEST(OpenIndex, ReserveMakesRoomWithoutGrowingLater) {
  OpenIndex<Item> index;
  index.reserve(100);
  const std::size_t slots = index.slot_count();
  EXPECT_GE(slots * 5, 100u * 8);
  std::vector<Item> items(100);
  for (int i = 0; i < 100; ++i) {
    items[i].key = i;
    index.insert(static_cast<std::uint64_t>(i), &items[i]);
  }
  EXPECT_EQ(index.slot_count(), slots);
}

// Random inserts and erases against a model. Hashes come from a small range, so runs of probes
// are long, wrap around the end of the table and overlap other homes: the cases backward-shift
// deletion must get right.
TEST(OpenIndex, AgreesWithAModelUnderRandomInsertsAndErases) {
  std::mt19937_64 rng(12345);
  OpenIndex<Item> index;
  std::vector<std::unique_ptr<Item>> pool;
  std::unordered_map<int, std::pair<std::uint64_t, Item*>> model;
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(rng() % 400);
    // Few distinct hashes, and some near the top of the table so probes wrap.
    const std::uint64_t hash = (rng() % 3 == 0) ? ~std::uint64_t{0} - (key % 5) : key % 37;
    auto it = model.find(key);
    if (it == model.end()) {
      pool.push_back(std::make_unique<Item>(Item{key}));
      index.insert(hash, pool.back().get());
      model.emplace(key, std::make_pair(hash, pool.back().get()));
    } else {
      ASSERT_TRUE(index.erase(it->second.first, it->second.second));
      model.erase(it);
    }
    if (step % 97 == 0) {
      ASSERT_EQ(index.size(), model.size());
      for (const auto& [k, entry] : model) {
        ASSERT_EQ(find(index, entry.first, k), entry.second) << "key " << k << " at step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace holdfast::cache
