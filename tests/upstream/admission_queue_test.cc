#include "upstream/admission_queue.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace holdfast::upstream {
namespace {

class NullHandler final : public AnswerHandler {
 public:
  void on_upstream_answer(UpstreamStatus, dns::Bytes) noexcept override {}
};

// Entries are told apart by their handler: entry i has handlers[i].
class AdmissionQueueTest : public ::testing::Test {
 protected:
  AdmissionQueue::Entry entry(std::size_t i, std::int64_t deadline_ms) {
    return {dns::Bytes(query_), &handlers_[i], deadline_ms};
  }
  // The indexes of `entries`, in order.
  std::vector<std::size_t> indexes(const std::vector<AdmissionQueue::Entry>& entries) const {
    std::vector<std::size_t> out;
    for (const auto& e : entries)
      out.push_back(
          static_cast<std::size_t>(static_cast<const NullHandler*>(e.handler) - handlers_.data()));
    return out;
  }
  // Pops everything left in `queue`, oldest first.
  std::vector<AdmissionQueue::Entry> drain(AdmissionQueue& queue) const {
    std::vector<AdmissionQueue::Entry> out;
    while (!queue.empty()) out.push_back(queue.pop());
    return out;
  }

  std::array<std::uint8_t, 4> query_{0xbe, 0xef, 0x01, 0x00};
  std::array<NullHandler, 8> handlers_;
};

TEST_F(AdmissionQueueTest, HandsEntriesBackInArrivalOrder) {
  AdmissionQueue queue(10);
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(queue.push(entry(i, 1000)));
  EXPECT_EQ(indexes(drain(queue)), (std::vector<std::size_t>{0, 1, 2, 3}));
}

TEST_F(AdmissionQueueTest, KeepsTheQueryViewAndDeadline) {
  AdmissionQueue queue(1);
  queue.push(entry(0, 1234));
  const AdmissionQueue::Entry front = queue.front();
  EXPECT_EQ(front.query.data(), query_.data());
  EXPECT_EQ(front.query.size(), query_.size());
  EXPECT_EQ(front.deadline_ms, 1234);
}

TEST_F(AdmissionQueueTest, RefusesAnEntryWhenFull) {
  AdmissionQueue queue(2);
  ASSERT_TRUE(queue.push(entry(0, 100)));
  ASSERT_TRUE(queue.push(entry(1, 100)));
  EXPECT_FALSE(queue.push(entry(2, 100)));
  EXPECT_EQ(indexes(drain(queue)),
            (std::vector<std::size_t>{0, 1}));  // the refused one is not kept
}

TEST_F(AdmissionQueueTest, TakesAnEntryAgainOnceOneLeft) {
  AdmissionQueue queue(1);
  queue.push(entry(0, 100));
  queue.pop();
  EXPECT_TRUE(queue.push(entry(1, 100)));
}

TEST_F(AdmissionQueueTest, ACapacityOfZeroRefusesEverything) {
  AdmissionQueue queue(0);
  EXPECT_FALSE(queue.push(entry(0, 100)));
  EXPECT_TRUE(queue.empty());
}

TEST_F(AdmissionQueueTest, HasNoNextDeadlineWhenEmpty) {
  AdmissionQueue queue(4);
  EXPECT_EQ(queue.next_deadline_ms(), -1);
}

TEST_F(AdmissionQueueTest, NextDeadlineIsTheEarliestNotTheOldest) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 300));
  queue.push(entry(1, 100));
  queue.push(entry(2, 200));
  EXPECT_EQ(queue.next_deadline_ms(), 100);
}

TEST_F(AdmissionQueueTest, HasNoNextDeadlineOnceTheLastEntryIsPopped) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 300));
  queue.pop();
  EXPECT_EQ(queue.next_deadline_ms(), -1);
}

TEST_F(AdmissionQueueTest, TakesNothingBeforeTheEarliestDeadline) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 300));
  queue.push(entry(1, 100));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(99, expired);
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(queue.size(), 2u);
}

TEST_F(AdmissionQueueTest, AnEntryExpiresAtItsDeadline) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 100));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(100, expired);
  EXPECT_EQ(indexes(expired), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(queue.empty());
}

TEST_F(AdmissionQueueTest, TakesEveryExpiredEntryOldestFirst) {
  AdmissionQueue queue(8);
  queue.push(entry(0, 300));
  queue.push(entry(1, 200));
  queue.push(entry(2, 500));
  queue.push(entry(3, 100));
  queue.push(entry(4, 250));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(250, expired);
  EXPECT_EQ(indexes(expired), (std::vector<std::size_t>{1, 3, 4}));
}

TEST_F(AdmissionQueueTest, KeepsTheOthersInArrivalOrderAfterTakingExpiredEntries) {
  AdmissionQueue queue(8);
  queue.push(entry(0, 300));
  queue.push(entry(1, 200));
  queue.push(entry(2, 500));
  queue.push(entry(3, 100));
  queue.push(entry(4, 400));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(250, expired);
  EXPECT_EQ(queue.next_deadline_ms(), 300);
  EXPECT_EQ(indexes(drain(queue)), (std::vector<std::size_t>{0, 2, 4}));
}

TEST_F(AdmissionQueueTest, HasNoNextDeadlineOnceEveryEntryExpired) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 100));
  queue.push(entry(1, 200));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(200, expired);
  EXPECT_EQ(queue.next_deadline_ms(), -1);
}

TEST_F(AdmissionQueueTest, TakeExpiredIsRightAfterAPopRemovedTheEarliestDeadline) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 100));
  queue.push(entry(1, 500));
  queue.pop();  // the entry with the earliest deadline left without expiring
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(200, expired);
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(queue.next_deadline_ms(), 500);
  queue.take_expired(500, expired);
  EXPECT_EQ(indexes(expired), (std::vector<std::size_t>{1}));
}

TEST_F(AdmissionQueueTest, NextDeadlineFollowsEntriesPushedAfterTakingExpiredOnes) {
  AdmissionQueue queue(4);
  queue.push(entry(0, 100));
  queue.push(entry(1, 900));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(100, expired);
  queue.push(entry(2, 400));
  EXPECT_EQ(queue.next_deadline_ms(), 400);
}

}  // namespace
}  // namespace holdfast::upstream

namespace holdfast::upstream {
namespace {

class FairQueueTest : public AdmissionQueueTest {
 protected:
  AdmissionQueue::Entry from(std::size_t i, std::uint64_t client, std::int64_t deadline = 1000) {
    AdmissionQueue::Entry e = entry(i, deadline);
    e.client = client;
    return e;
  }
};

TEST_F(FairQueueTest, ClientsTakeTurnsWhateverTheirArrivalOrder) {
  AdmissionQueue queue(10);
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(queue.push(from(i, 7)));  // a flood first
  ASSERT_TRUE(queue.push(from(4, 9)));
  ASSERT_TRUE(queue.push(from(5, 9)));
  EXPECT_EQ(queue.clients(), 2u);
  // 7, 9, 7, 9, 7, 7: the second client's misses do not wait behind the whole flood.
  EXPECT_EQ(indexes(drain(queue)), (std::vector<std::size_t>{0, 4, 1, 5, 2, 3}));
}

TEST_F(FairQueueTest, AFullQueueShedsTheBiggestClientsNewestForAnotherClient) {
  AdmissionQueue queue(4);
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(queue.push(from(i, 7)));
  std::optional<AdmissionQueue::Entry> displaced;
  ASSERT_TRUE(queue.push(from(4, 9), &displaced));
  ASSERT_TRUE(displaced);
  EXPECT_EQ(indexes({*displaced}), std::vector<std::size_t>{3});
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(indexes(drain(queue)), (std::vector<std::size_t>{0, 4, 1, 2}));
}

TEST_F(FairQueueTest, ASingleClientBurstKeepsEveryPlaceAndIsRefusedOnlyPastThem) {
  AdmissionQueue queue(3);
  std::optional<AdmissionQueue::Entry> displaced;
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(queue.push(from(i, 7), &displaced));
  EXPECT_FALSE(queue.push(from(3, 7), &displaced));  // its own entries are not shed
  EXPECT_FALSE(displaced);
  // Two clients with equal shares do not evict each other back and forth.
  AdmissionQueue even(2);
  ASSERT_TRUE(even.push(from(0, 7), &displaced));
  ASSERT_TRUE(even.push(from(1, 9), &displaced));
  EXPECT_FALSE(even.push(from(2, 9), &displaced));
  EXPECT_FALSE(displaced);
}

TEST_F(FairQueueTest, ExpiredEntriesComeBackOldestFirstAcrossClients) {
  AdmissionQueue queue(8);
  queue.push(from(0, 7, 100));
  queue.push(from(1, 9, 100));
  queue.push(from(2, 7, 100));
  queue.push(from(3, 9, 500));
  std::vector<AdmissionQueue::Entry> expired;
  queue.take_expired(100, expired);
  EXPECT_EQ(indexes(expired), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue.clients(), 1u);
  EXPECT_EQ(queue.next_deadline_ms(), 500);
  EXPECT_EQ(indexes(drain(queue)), std::vector<std::size_t>{3});
}

}  // namespace
}  // namespace holdfast::upstream
