#include "upstream/latency.h"

#include <gtest/gtest.h>

namespace holdfast::upstream {
namespace {

void add_many(LatencyTracker& tracker, int count, std::int64_t rtt_ms) {
  for (int i = 0; i < count; ++i) tracker.add(rtt_ms);
}

TEST(LatencyTracker, HasNoP99BeforeSixteenSamples) {
  LatencyTracker tracker;
  add_many(tracker, 15, 30);
  EXPECT_EQ(tracker.p99_ms(), -1);
}

TEST(LatencyTracker, KnowsTheP99AtTheSixteenthSample) {
  LatencyTracker tracker;
  add_many(tracker, 15, 30);
  tracker.add(30);
  EXPECT_EQ(tracker.p99_ms(), 30);
}

TEST(LatencyTracker, StaleWaitIsTheCapWhileTheP99IsUnknown) {
  LatencyTracker tracker;
  add_many(tracker, 15, 1);
  EXPECT_EQ(tracker.stale_wait_ms(400), 400);
}

TEST(LatencyTracker, SilenceIsUnknownWhileTheP99IsUnknown) {
  LatencyTracker tracker;
  add_many(tracker, 15, 30);
  EXPECT_EQ(tracker.silence_ms(5000), -1);
}

TEST(LatencyTracker, StaleWaitIsFourTimesTheP99) {
  LatencyTracker tracker;
  add_many(tracker, 16, 30);
  EXPECT_EQ(tracker.stale_wait_ms(400), 120);
}

TEST(LatencyTracker, StaleWaitIsNeverBelowTwentyMilliseconds) {
  LatencyTracker tracker;
  add_many(tracker, 16, 4);  // 4 × 4 = 16 ms
  EXPECT_EQ(tracker.stale_wait_ms(400), 20);
}

TEST(LatencyTracker, StaleWaitIsNeverAboveTheCap) {
  LatencyTracker tracker;
  add_many(tracker, 16, 150);  // 4 × 150 = 600 ms
  EXPECT_EQ(tracker.stale_wait_ms(400), 400);
}

TEST(LatencyTracker, SilenceIsTenTimesTheP99) {
  LatencyTracker tracker;
  add_many(tracker, 16, 30);
  EXPECT_EQ(tracker.silence_ms(5000), 300);
}

TEST(LatencyTracker, SilenceIsNeverBelowOneHundredMilliseconds) {
  LatencyTracker tracker;
  add_many(tracker, 16, 5);  // 10 × 5 = 50 ms
  EXPECT_EQ(tracker.silence_ms(5000), 100);
}

TEST(LatencyTracker, SilenceIsNeverAboveTheCap) {
  LatencyTracker tracker;
  add_many(tracker, 16, 300);  // 10 × 300 = 3 s
  EXPECT_EQ(tracker.silence_ms(2000), 2000);
}

TEST(LatencyTracker, NoEarlyCopyWhileTheP99IsUnknown) {
  LatencyTracker tracker;
  add_many(tracker, 15, 1);
  EXPECT_EQ(tracker.hedge_ms(2000), -1);
}

TEST(LatencyTracker, EarlyCopyIsTwentyTimesTheP99) {
  LatencyTracker tracker;
  add_many(tracker, 16, 30);
  EXPECT_EQ(tracker.hedge_ms(2000), 600);
}

TEST(LatencyTracker, EarlyCopyIsNeverBeforeTwoHundredMilliseconds) {
  LatencyTracker tracker;
  add_many(tracker, 16, 1);
  EXPECT_EQ(tracker.hedge_ms(2000), 200);
  EXPECT_GT(tracker.hedge_ms(2000), tracker.silence_ms(2000)) << "silence must come first";
}

TEST(LatencyTracker, NoEarlyCopyWhenTheAttemptEndsFirst) {
  LatencyTracker tracker;
  add_many(tracker, 16, 100);  // 20 × 100 = 2 s: the attempt's own timeout
  EXPECT_EQ(tracker.hedge_ms(2000), -1);
  EXPECT_EQ(tracker.hedge_ms(2001), 2000);
}

TEST(LatencyTracker, P99OfAFullWindowIgnoresTheTwoSlowestSamples) {
  LatencyTracker tracker;
  add_many(tracker, 254, 10);
  add_many(tracker, 2, 900);  // nearest rank: the 254th of 256 samples
  EXPECT_EQ(tracker.p99_ms(), 10);
}

TEST(LatencyTracker, P99OfAFullWindowSeesTheThirdSlowestSample) {
  LatencyTracker tracker;
  add_many(tracker, 253, 10);
  add_many(tracker, 3, 900);
  EXPECT_EQ(tracker.p99_ms(), 900);
}

TEST(LatencyTracker, P99OfAFewSamplesIsTheSlowest) {
  LatencyTracker tracker;
  add_many(tracker, 15, 10);
  tracker.add(70);
  EXPECT_EQ(tracker.p99_ms(), 70);
}

TEST(LatencyTracker, ForgetsSamplesOlderThanTheLast256) {
  LatencyTracker tracker;
  add_many(tracker, 256, 900);
  add_many(tracker, 256, 10);
  EXPECT_EQ(tracker.p99_ms(), 10);
}

TEST(LatencyTracker, RecomputesTheP99OnlyEverySixteenSamples) {
  LatencyTracker tracker;
  add_many(tracker, 16, 10);
  add_many(tracker, 15, 900);
  EXPECT_EQ(tracker.p99_ms(), 10);  // not recomputed yet
  tracker.add(900);
  EXPECT_EQ(tracker.p99_ms(), 900);
}

TEST(LatencyTracker, CountsANegativeRoundTripAsZero) {
  LatencyTracker tracker;
  add_many(tracker, 16, -5);
  EXPECT_EQ(tracker.p99_ms(), 0);
}

}  // namespace
}  // namespace holdfast::upstream
