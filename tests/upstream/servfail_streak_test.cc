#include "upstream/servfail_streak.h"

#include <gtest/gtest.h>

namespace holdfast::upstream {
namespace {

// SERVFAILs for the question hashes first, first + 1, ..., first + count - 1.
void servfail_distinct(ServfailStreak& streak, std::uint64_t first, int count) {
  for (int i = 0; i < count; ++i) streak.on_servfail(first + static_cast<std::uint64_t>(i));
}

TEST(ServfailStreak, IsNotDegradedAfterSevenDistinctQuestions) {
  ServfailStreak streak;
  for (std::uint64_t hash = 1; hash <= 7; ++hash) EXPECT_FALSE(streak.on_servfail(hash));
  EXPECT_FALSE(streak.degraded());
  EXPECT_EQ(streak.streak(), 7);
}

TEST(ServfailStreak, BecomesDegradedAtTheEighthDistinctQuestion) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 7);
  EXPECT_TRUE(streak.on_servfail(8));
  EXPECT_TRUE(streak.degraded());
}

TEST(ServfailStreak, ReportsBecomingDegradedOnlyOnce) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 8);
  EXPECT_FALSE(streak.on_servfail(9));
  EXPECT_FALSE(streak.on_servfail(10));
  EXPECT_TRUE(streak.degraded());
}

TEST(ServfailStreak, DoesNotCountARepeatOfARecentQuestion) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 7);
  EXPECT_FALSE(streak.on_servfail(3));
  EXPECT_EQ(streak.streak(), 7);
  EXPECT_FALSE(streak.degraded());
}

TEST(ServfailStreak, OneQuestionRepeatedNeverMakesItDegraded) {
  ServfailStreak streak;
  for (int i = 0; i < 100; ++i) streak.on_servfail(42);
  EXPECT_EQ(streak.streak(), 1);
  EXPECT_FALSE(streak.degraded());
}

TEST(ServfailStreak, RemembersTheEighthMostRecentQuestion) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 9);  // the last eight are 2..9
  EXPECT_FALSE(streak.on_servfail(2));
  EXPECT_EQ(streak.streak(), 9);
}

TEST(ServfailStreak, CountsAQuestionOlderThanTheLastEightAgain) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 9);  // the last eight are 2..9
  streak.on_servfail(1);
  EXPECT_EQ(streak.streak(), 10);
}

TEST(ServfailStreak, CountsAQuestionWhoseHashIsZero) {
  ServfailStreak streak;  // empty memory must not look like a remembered hash 0
  streak.on_servfail(0);
  EXPECT_EQ(streak.streak(), 1);
}

TEST(ServfailStreak, DataEndsTheStreak) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 5);
  EXPECT_FALSE(streak.on_data());  // it was not degraded: no transition
  EXPECT_EQ(streak.streak(), 0);
}

TEST(ServfailStreak, DataReportsTheEndOfADegradedPeriodOnce) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 8);
  EXPECT_TRUE(streak.on_data());
  EXPECT_FALSE(streak.degraded());
  EXPECT_FALSE(streak.on_data());
}

TEST(ServfailStreak, DataForgetsTheRememberedQuestions) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 3);
  streak.on_data();
  streak.on_servfail(1);
  EXPECT_EQ(streak.streak(), 1);
}

TEST(ServfailStreak, BecomesDegradedAgainAfterARecovery) {
  ServfailStreak streak;
  servfail_distinct(streak, 1, 8);
  streak.on_data();
  servfail_distinct(streak, 1, 7);
  EXPECT_TRUE(streak.on_servfail(8));
}

}  // namespace
}  // namespace holdfast::upstream
