// Background refreshes: due times spread over a window, held while the upstream is down and
// released with jitter when it recovers, retried in order when the budget says not now, and
// moved or dropped when a reload retires their zone. Times are passed in (no clock, no loop).
#include "server/refresh_scheduler.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "server/router.h"

namespace holdfast::server {
namespace {

using Outcome = RefreshScheduler::Outcome;
using Added = RefreshScheduler::Added;

struct Fixture : ::testing::Test {
  Zone zone;
  Zone other;
  int upstream = 0;  // stands for the zone's forwarder: only its address is compared
  int other_upstream = 0;
  RefreshScheduler scheduler{100, 42};

  RefreshScheduler::Pending pending(Zone* z = nullptr, const void* up = nullptr,
                                    std::int64_t recheck_ms = 30'000) {
    return {z ? z : &zone, up ? up : &upstream, recheck_ms, {1, 2, 3}};
  }
  // Takes everything due by now_ms, answering `outcome`, and returns the keys seen.
  std::vector<std::string> take(std::int64_t now_ms, Outcome outcome = Outcome::kDone) {
    std::vector<std::string> seen;
    scheduler.take_due(now_ms, [&](const std::string& key, RefreshScheduler::Pending&) {
      seen.push_back(key);
      return outcome;
    });
    return seen;
  }
};

TEST_F(Fixture, DueTimesSpreadOverTheWindowAndEachNameIsRememberedOnce) {
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(scheduler.add("k" + std::to_string(i), pending(), 1000, 31'000), Added::kScheduled);
  }
  EXPECT_EQ(scheduler.add("k7", pending(), 1000, 31'000), Added::kAlreadyPending);
  EXPECT_EQ(scheduler.size(), 50U);
  ASSERT_TRUE(scheduler.next_due_ms());
  EXPECT_GE(*scheduler.next_due_ms(), 1000);
  // Not all at once: spread over the 30 s window, a trickle in each third of it.
  const auto first = take(11'000);
  const auto second = take(21'000);
  const auto third = take(31'000);
  EXPECT_GT(first.size(), 5U);
  EXPECT_GT(second.size(), 5U);
  EXPECT_GT(third.size(), 5U);
  EXPECT_EQ(first.size() + second.size() + third.size(), 50U);
  EXPECT_EQ(scheduler.size(), 0U);
  EXPECT_FALSE(scheduler.next_due_ms());
}

TEST_F(Fixture, AFullSchedulerRefusesMore) {
  RefreshScheduler small(2, 1);
  EXPECT_EQ(small.add("a", pending(), 0, 10), Added::kScheduled);
  EXPECT_EQ(small.add("b", pending(), 0, std::nullopt), Added::kScheduled);
  EXPECT_EQ(small.add("c", pending(), 0, 10), Added::kFull);
}

TEST_F(Fixture, NamesHeldForADownUpstreamWaitForItsRecoveryThenSpreadOverRecheck) {
  scheduler.add("held", pending(&zone, &upstream, 10'000), 0, std::nullopt);
  scheduler.add("elsewhere", pending(&other, &other_upstream), 0, std::nullopt);
  EXPECT_FALSE(scheduler.next_due_ms());
  EXPECT_TRUE(take(1'000'000).empty());  // nothing is due while held
  EXPECT_EQ(scheduler.on_recovery(&upstream, 5'000), 1U);
  ASSERT_TRUE(scheduler.next_due_ms());
  EXPECT_GE(*scheduler.next_due_ms(), 5'000);
  EXPECT_LE(*scheduler.next_due_ms(), 15'000);
  EXPECT_EQ(take(15'000), std::vector<std::string>{"held"});
  EXPECT_TRUE(scheduler.contains("elsewhere"));  // another upstream's names stay held
}

TEST_F(Fixture, DownAgainWhenDueMeansHeldUntilTheNextRecovery) {
  scheduler.add("name", pending(), 0, 0);
  EXPECT_EQ(take(0, Outcome::kAwaitRecovery), std::vector<std::string>{"name"});
  EXPECT_TRUE(scheduler.contains("name"));
  EXPECT_TRUE(take(1'000'000).empty());
  scheduler.on_recovery(&upstream, 2'000'000);
  EXPECT_EQ(take(2'000'000 + 30'000), std::vector<std::string>{"name"});
  EXPECT_FALSE(scheduler.contains("name"));
}

TEST_F(Fixture, OverBudgetRetriesAfterAShortWaitInTheSameOrder) {
  scheduler.add("a", pending(), 0, 0);
  scheduler.add("b", pending(), 1, 1);
  EXPECT_EQ(take(1, Outcome::kRetrySoon), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*scheduler.next_due_ms(), 1 + RefreshScheduler::kRetryMs);
  EXPECT_TRUE(take(RefreshScheduler::kRetryMs).empty());
  EXPECT_EQ(take(1 + RefreshScheduler::kRetryMs), (std::vector<std::string>{"a", "b"}));
}

TEST_F(Fixture, AReloadMovesRefreshesToTheReplacementZoneOrDropsThem) {
  scheduler.add("kept", pending(&zone, &upstream), 0, std::nullopt);
  scheduler.add("dropped", pending(&other, &other_upstream), 0, 100);
  Zone replacement;
  int replacement_upstream = 0;
  scheduler.retarget(&zone, &replacement, &replacement_upstream);
  scheduler.retarget(&other, nullptr, nullptr);
  EXPECT_FALSE(scheduler.contains("dropped"));
  EXPECT_TRUE(take(1'000).empty());  // the dropped name's due entry is skipped
  // The moved name now waits for the replacement's upstream, not the retired one's.
  EXPECT_EQ(scheduler.on_recovery(&upstream, 0), 0U);
  EXPECT_EQ(scheduler.on_recovery(&replacement_upstream, 0), 1U);
  Zone* seen_zone = nullptr;
  scheduler.take_due(1'000'000, [&](const std::string&, RefreshScheduler::Pending& p) {
    seen_zone = p.zone;
    return Outcome::kDone;
  });
  EXPECT_EQ(seen_zone, &replacement);
}

TEST_F(Fixture, ANameAnsweredFreshMeanwhileIsForgotten) {
  scheduler.add("name", pending(), 0, 10);
  scheduler.forget("name");
  EXPECT_FALSE(scheduler.contains("name"));
  EXPECT_TRUE(take(10).empty());
}

}  // namespace
}  // namespace holdfast::server
