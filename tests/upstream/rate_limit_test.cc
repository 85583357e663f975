#include "upstream/rate_limit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "config/config.h"

namespace holdfast::upstream {
namespace {

TEST(RateLimit, AdmitsABurstThenRefillsAtQps) {
  RateLimit limit({/*max_inflight=*/1000, /*qps=*/10, /*burst=*/5});
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += limit.try_acquire(0, 0) ? 1 : 0;
  EXPECT_EQ(admitted, 5);
  EXPECT_FALSE(limit.try_acquire(50, 0));  // half a token
  EXPECT_TRUE(limit.try_acquire(100, 0));  // one token after 100 ms at 10 qps
}

TEST(RateLimit, NeverExceedsQpsInAnyOneSecondWindow) {
  RateLimit limit({1000, 20, 20});
  // Ask 1,000 times a second for 5 s; count what is admitted in every 1 s window (10 ms steps).
  std::vector<std::int64_t> admitted_at;
  for (std::int64_t t = 0; t < 5000; ++t) {
    if (limit.try_acquire(t, 0)) admitted_at.push_back(t);
  }
  for (std::int64_t start = 0; start + 1000 <= 5000; start += 10) {
    const auto in_window = std::count_if(admitted_at.begin(), admitted_at.end(),
                                         [&](auto t) { return t >= start && t < start + 1000; });
    ASSERT_LE(in_window, 20) << "window starting at " << start << " ms";
  }
  EXPECT_GE(admitted_at.size(), 90u);  // and it does admit close to qps over time
}

TEST(RateLimit, NeverExceedsQpsInAnyOneSecondIntervalAtAnyAlignment) {
  // A burst allowance larger than qps and clients that come in clumps at odd moments: the
  // admissions in every interval [t, t + 1000) — each millisecond a start — stay within qps.
  RateLimit limit({1000, 150, 50});
  std::vector<std::int64_t> admitted_at;
  for (std::int64_t t = 0; t < 6000; ++t) {
    const int asks = (t % 97 < 3) ? 40 : ((t % 7 == 0) ? 1 : 0);  // clumps plus a trickle
    for (int i = 0; i < asks; ++i) {
      if (limit.try_acquire(t, 0)) admitted_at.push_back(t);
    }
  }
  for (std::int64_t start = 0; start + 1000 <= 6000; ++start) {
    const auto in_window = std::count_if(admitted_at.begin(), admitted_at.end(),
                                         [&](auto t) { return t >= start && t < start + 1000; });
    ASSERT_LE(in_window, 150) << "interval starting at " << start << " ms";
  }
  EXPECT_GE(admitted_at.size(), 800U);  // and it admits close to qps over the 6 s
}

TEST(RateLimit, RefusesPastMaxInflight) {
  RateLimit limit({2, 1000, 1000});
  EXPECT_TRUE(limit.try_acquire(0, 0));
  EXPECT_TRUE(limit.try_acquire(0, 1));
  EXPECT_FALSE(limit.try_acquire(0, 2));
  EXPECT_FALSE(limit.would_admit(0, 2));
}

TEST(RateLimit, WouldAdmitTakesNothing) {
  RateLimit limit({10, 1, 1});
  EXPECT_TRUE(limit.would_admit(0, 0));
  EXPECT_TRUE(limit.would_admit(0, 0));
  EXPECT_TRUE(limit.try_acquire(0, 0));
  EXPECT_FALSE(limit.would_admit(0, 0));
}

TEST(RateLimit, DefaultsAreTheCorefileDefaults) {
  const LimitOptions options;
  const config::UpstreamLimits corefile;
  EXPECT_EQ(options.max_inflight, 256);
  EXPECT_EQ(options.qps, 5000);
  EXPECT_EQ(options.burst, 1000);
  EXPECT_EQ(options.max_inflight, corefile.max_inflight);
  EXPECT_EQ(options.qps, corefile.qps);
  EXPECT_EQ(options.burst, corefile.burst);
}

TEST(RateLimit, NextAdmitIsNowWhileATokenAndRoomAreThere) {
  RateLimit limit({10, 10, 5});
  limit.try_acquire(1000, 0);
  EXPECT_EQ(limit.next_admit_ms(1200), 1200);
}

TEST(RateLimit, NextAdmitIgnoresTheInflightBound) {
  RateLimit limit({1, 100, 100});
  ASSERT_TRUE(limit.try_acquire(0, 0));
  ASSERT_FALSE(limit.would_admit(0, 1));
  EXPECT_EQ(limit.next_admit_ms(0), 0);
}

TEST(RateLimit, NextAdmitTakesNothing) {
  RateLimit limit({10, 10, 1});
  EXPECT_EQ(limit.next_admit_ms(0), 0);
  EXPECT_EQ(limit.next_admit_ms(0), 0);
  EXPECT_TRUE(limit.try_acquire(0, 0));
}

TEST(RateLimit, AdmitsAtNextAdmitWhenTheTokensRanOut) {
  RateLimit limit({1000, 3, 1});
  ASSERT_TRUE(limit.try_acquire(0, 0));
  const std::int64_t next = limit.next_admit_ms(0);  // one token every 333.3 ms
  EXPECT_EQ(next, 334);
  RateLimit at_next = limit;
  EXPECT_TRUE(at_next.try_acquire(next, 0));
}

TEST(RateLimit, RefusesJustBeforeNextAdmitWhenTheTokensRanOut) {
  RateLimit limit({1000, 3, 1});
  ASSERT_TRUE(limit.try_acquire(0, 0));
  const std::int64_t next = limit.next_admit_ms(0);
  RateLimit before_next = limit;
  EXPECT_FALSE(before_next.try_acquire(next - 1, 0));
}

// Disabled: when the wait for a token is a whole number of milliseconds, next_admit_ms() is one
// millisecond late (see the report).
TEST(RateLimit, NextAdmitIsTheMomentTheNextTokenArrives) {
  RateLimit limit({1000, 10, 5});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limit.try_acquire(0, 0));
  const std::int64_t next = limit.next_admit_ms(0);  // one token every 100 ms
  RateLimit before_next = limit;
  EXPECT_FALSE(before_next.try_acquire(next - 1, 0)) << "next_admit_ms = " << next;
  RateLimit at_next = limit;
  EXPECT_TRUE(at_next.try_acquire(next, 0));
}

TEST(RateLimit, AdmitsAtNextAdmitWhenTheWindowIsFull) {
  RateLimit limit({1000, 5, 100});  // tokens to spare: only the window limits
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limit.try_acquire(0, 0));
  const std::int64_t next = limit.next_admit_ms(0);
  EXPECT_EQ(next, 1000);
  RateLimit at_next = limit;
  EXPECT_TRUE(at_next.try_acquire(next, 0));
}

TEST(RateLimit, RefusesJustBeforeNextAdmitWhenTheWindowIsFull) {
  RateLimit limit({1000, 5, 100});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limit.try_acquire(0, 0));
  const std::int64_t next = limit.next_admit_ms(0);
  RateLimit before_next = limit;
  EXPECT_FALSE(before_next.try_acquire(next - 1, 0));
}

TEST(RateLimit, NextAdmitWaitsForTheOldestQueryToLeaveTheWindow) {
  RateLimit limit({1000, 5, 100});
  ASSERT_TRUE(limit.try_acquire(0, 0));
  ASSERT_TRUE(limit.try_acquire(0, 0));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limit.try_acquire(250, 0));
  EXPECT_EQ(limit.next_admit_ms(250), 1000);
  ASSERT_TRUE(limit.try_acquire(1000, 0));
  ASSERT_TRUE(limit.try_acquire(1000, 0));
  EXPECT_EQ(limit.next_admit_ms(1000), 1250);  // the three of 250 ms now hold the window
}

TEST(RateLimit, NextAdmitWaitsForBothATokenAndRoomInTheWindow) {
  RateLimit limit({1000, 10, 10});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limit.try_acquire(0, 0));
  // A token is back at 100 ms, room in the window only at 1000 ms.
  const std::int64_t next = limit.next_admit_ms(0);
  EXPECT_EQ(next, 1000);
  RateLimit before_next = limit;
  EXPECT_FALSE(before_next.try_acquire(next - 1, 0));
  RateLimit at_next = limit;
  EXPECT_TRUE(at_next.try_acquire(next, 0));
}

// A client that takes everything it can, then comes back exactly when next_admit_ms() says,
// under many qps/burst shapes: every promised time must admit.
TEST(RateLimit, AdmitsAtEveryNextAdmitItGives) {
  const std::vector<LimitOptions> shapes = {{1000, 1, 1},    {1000, 3, 1},      {1000, 7, 3},
                                            {1000, 10, 5},   {1000, 10, 50},    {1000, 33, 33},
                                            {1000, 300, 40}, {1000, 5000, 1000}};
  for (const LimitOptions& shape : shapes) {
    RateLimit limit(shape);
    std::int64_t now = 0;
    for (int round = 0; round < 200; ++round) {
      while (limit.try_acquire(now, 0)) {
      }
      const std::int64_t next = limit.next_admit_ms(now);
      ASSERT_GT(next, now) << "qps " << shape.qps << " burst " << shape.burst << " at " << now;
      RateLimit at_next = limit;
      ASSERT_TRUE(at_next.try_acquire(next, 0))
          << "qps " << shape.qps << " burst " << shape.burst << " at " << next;
      now = next + (round % 3 == 0 ? 37 : 0);  // sometimes late, to vary the phase
    }
  }
}

}  // namespace
}  // namespace holdfast::upstream
