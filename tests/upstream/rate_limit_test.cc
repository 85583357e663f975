#include "upstream/rate_limit.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace holdfast::upstream
