// Tests for `cache [TTL] [ZONES...] { properties }`.
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using std::chrono::seconds;
using testing::parse_block;
using testing::parse_error;

std::string in_block(const std::string& lines) {
  return ".:53 {\n" + lines + "\n}\n";
}

CacheConfig parse_cache(const std::string& lines) {
  return parse_block(in_block(lines)).cache;
}

TEST(Cache, IsOffWithoutTheDirective) {
  EXPECT_FALSE(parse_cache("errors").enabled);
}

TEST(Cache, HasCoreDnsDefaults) {
  const CacheConfig cache = parse_cache("cache");
  EXPECT_TRUE(cache.enabled);
  EXPECT_EQ(cache.success_capacity, 9984u);
  EXPECT_EQ(cache.success_max_ttl, 3600u);
  EXPECT_EQ(cache.success_min_ttl, 5u);
  EXPECT_EQ(cache.denial_capacity, 9984u);
  EXPECT_EQ(cache.denial_max_ttl, 1800u);
  EXPECT_EQ(cache.denial_min_ttl, 5u);
  EXPECT_EQ(cache.servfail_ttl, 5u);
  EXPECT_TRUE(cache.zones.empty());
  EXPECT_FALSE(cache.prefetch.enabled);
}

TEST(Cache, ServesStaleByDefaultForThreeDaysWithVerify) {
  const CacheConfig cache = parse_cache("cache");
  EXPECT_TRUE(cache.serve_stale.enabled);
  EXPECT_EQ(cache.serve_stale.max_stale, seconds(72 * 3600));
  EXPECT_EQ(cache.serve_stale.refresh_mode, StaleRefreshMode::kVerify);
  EXPECT_EQ(cache.serve_stale.stale_ttl, seconds(30));
  EXPECT_EQ(cache.serve_stale.client_timeout, std::chrono::milliseconds(400));
  EXPECT_EQ(cache.serve_stale.recheck, seconds(30));
}

TEST(Cache, TakesAMaximumTtlForSuccessAndDenial) {
  const CacheConfig cache = parse_cache("cache 30");
  EXPECT_EQ(cache.success_max_ttl, 30u);
  EXPECT_EQ(cache.denial_max_ttl, 30u);
}

TEST(Cache, LowersTheMinimumTtlWithASmallerMaximum) {
  const CacheConfig cache = parse_cache("cache 2");
  EXPECT_EQ(cache.success_min_ttl, 2u);
  EXPECT_EQ(cache.denial_min_ttl, 2u);
}

TEST(Cache, TakesZonesWithOrWithoutATtl) {
  EXPECT_EQ(parse_cache("cache 30 Cluster.Local example.org.").zones,
            (std::vector<std::string>{"cluster.local.", "example.org."}));
  EXPECT_EQ(parse_cache("cache example.org").zones, std::vector<std::string>{"example.org."});
}

TEST(Cache, ReadsSuccessAndDenialBuckets) {
  const CacheConfig cache = parse_cache("cache {\n  success 9984 30\n  denial 1000 5 1\n}");
  EXPECT_EQ(cache.success_capacity, 9984u);
  EXPECT_EQ(cache.success_max_ttl, 30u);
  EXPECT_EQ(cache.success_min_ttl, 5u);
  EXPECT_EQ(cache.denial_capacity, 1000u);
  EXPECT_EQ(cache.denial_max_ttl, 5u);
  EXPECT_EQ(cache.denial_min_ttl, 1u);
}

TEST(Cache, ReadsServfailDisableAndKeepttl) {
  const CacheConfig cache = parse_cache(
      "cache {\n  servfail 1500ms\n  disable success example.org\n  disable denial\n  keepttl\n}");
  EXPECT_EQ(cache.servfail_ttl, 2u);  // rounded up to whole seconds
  EXPECT_TRUE(cache.disable_success);
  EXPECT_EQ(cache.disable_success_zones, std::vector<std::string>{"example.org."});
  EXPECT_TRUE(cache.disable_denial);
  EXPECT_TRUE(cache.disable_denial_zones.empty());
  EXPECT_TRUE(cache.keepttl);
}

TEST(Cache, ServfailZeroDisablesIt) {
  EXPECT_EQ(parse_cache("cache {\n  servfail 0\n}").servfail_ttl, 0u);
}

TEST(Cache, ParsesPrefetchAsActive) {
  const ServerBlock block = parse_block(in_block("cache {\n  prefetch 10 2m 20%\n}"));
  EXPECT_TRUE(block.cache.prefetch.enabled);
  EXPECT_EQ(block.cache.prefetch.amount, 10);
  EXPECT_EQ(block.cache.prefetch.duration, seconds(120));
  EXPECT_EQ(block.cache.prefetch.percent, 20);
  EXPECT_TRUE(block.inactive.empty());
}

TEST(Cache, ParsesServeStaleWithItsBlock) {
  const ServerBlock block = parse_block(
      in_block("cache {\n  serve_stale 2h immediate {\n    ttl 10s\n    client_timeout 250ms\n"
               "    recheck 5s\n  }\n}"));
  const ServeStaleConfig& stale = block.cache.serve_stale;
  EXPECT_TRUE(stale.enabled);
  EXPECT_EQ(stale.max_stale, seconds(7200));
  EXPECT_EQ(stale.refresh_mode, StaleRefreshMode::kImmediate);
  EXPECT_EQ(stale.stale_ttl, seconds(10));
  EXPECT_EQ(stale.client_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(stale.recheck, seconds(5));
  EXPECT_TRUE(block.inactive.empty());
}

TEST(Cache, ServeStaleAcceptsTheModeAlone) {
  const CacheConfig cache = parse_cache("cache {\n  serve_stale immediate\n}");
  EXPECT_EQ(cache.serve_stale.max_stale, seconds(72 * 3600));
  EXPECT_EQ(cache.serve_stale.refresh_mode, StaleRefreshMode::kImmediate);
}

TEST(Cache, ServeStaleOffTurnsItOff) {
  EXPECT_FALSE(parse_cache("cache {\n  serve_stale off\n}").serve_stale.enabled);
}

TEST(Cache, RejectsAnUnknownServeStaleProperty) {
  EXPECT_EQ(parse_error(in_block("cache {\n  serve_stale {\n    ttl 30s\n    wait 1s\n  }\n}")),
            "Corefile:5:5: serve_stale: unknown property 'wait'");
}

TEST(Cache, RejectsAServeStaleTtlBelowOneSecond) {
  EXPECT_EQ(parse_error(in_block("cache {\n  serve_stale {\n    ttl 0s\n  }\n}")),
            "Corefile:4:9: serve_stale: 'ttl' must be at least 1s");
}

TEST(Cache, RejectsAZeroTtl) {
  EXPECT_EQ(parse_error(in_block("cache 0")),
            "Corefile:2:7: cache: TTL must be a positive integer, got '0'");
}

TEST(Cache, RejectsAnInvalidZone) {
  EXPECT_EQ(parse_error(in_block("cache 30 a..b")),
            "Corefile:2:10: cache: 'a..b' is not a valid zone");
}

TEST(Cache, RejectsASuccessWithoutCapacity) {
  EXPECT_EQ(parse_error(in_block("cache {\n  success\n}")),
            "Corefile:3:3: cache: 'success' expects CAPACITY [TTL [MINTTL]]");
}

TEST(Cache, RejectsASuccessWithFourArguments) {
  EXPECT_EQ(parse_error(in_block("cache {\n  success 1 2 1 4\n}")),
            "Corefile:3:17: cache: 'success' expects CAPACITY [TTL [MINTTL]]");
}

TEST(Cache, RejectsABadCapacity) {
  EXPECT_EQ(parse_error(in_block("cache {\n  denial lots\n}")),
            "Corefile:3:10: cache: 'denial' capacity must be a positive integer, got 'lots'");
}

TEST(Cache, RejectsAZeroBucketTtl) {
  EXPECT_EQ(parse_error(in_block("cache {\n  success 100 0\n}")),
            "Corefile:3:15: cache: 'success' TTL must be a positive integer, got '0'");
}

TEST(Cache, RejectsAMinimumTtlAboveTheTtl) {
  EXPECT_EQ(parse_error(in_block("cache {\n  denial 100 30 60\n}")),
            "Corefile:3:17: cache: 'denial' minimum TTL 60 exceeds TTL 30");
}

TEST(Cache, RejectsAServfailOverFiveMinutes) {
  EXPECT_EQ(parse_error(in_block("cache {\n  servfail 6m\n}")),
            "Corefile:3:12: cache: 'servfail' may be at most 5m, got '6m'");
}

TEST(Cache, RejectsAServfailThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("cache {\n  servfail 5\n}")),
            "Corefile:3:12: cache: 'servfail' expects a duration such as 5s, got '5'");
}

TEST(Cache, RejectsDisablingSomethingElse) {
  EXPECT_EQ(parse_error(in_block("cache {\n  disable servfail\n}")),
            "Corefile:3:11: cache: 'disable' expects success or denial, got 'servfail'");
  EXPECT_EQ(parse_error(in_block("cache {\n  disable\n}")),
            "Corefile:3:3: cache: 'disable' expects success or denial, then optional zones");
}

TEST(Cache, RejectsKeepttlWithArguments) {
  EXPECT_EQ(parse_error(in_block("cache {\n  keepttl 5\n}")),
            "Corefile:3:11: cache: 'keepttl' takes no arguments");
}

TEST(Cache, RejectsAPrefetchPercentageOutOfRangeOrWithoutPercentSign) {
  EXPECT_EQ(parse_error(in_block("cache {\n  prefetch 2 1m 95%\n}")),
            "Corefile:3:17: cache: 'prefetch' percentage must be between 10% and 90%, got '95%'");
  EXPECT_EQ(parse_error(in_block("cache {\n  prefetch 2 1m 20\n}")),
            "Corefile:3:17: cache: 'prefetch' percentage must be between 10% and 90%, got '20'");
}

TEST(Cache, RejectsAPrefetchWithoutAmount) {
  EXPECT_EQ(parse_error(in_block("cache {\n  prefetch\n}")),
            "Corefile:3:3: cache: 'prefetch' expects AMOUNT [DURATION [PERCENTAGE%]]");
}

TEST(Cache, RejectsAPrefetchDurationThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("cache {\n  prefetch 2 60\n}")),
            "Corefile:3:14: cache: 'prefetch' duration expects a duration such as 1m, got '60'");
}

TEST(Cache, RejectsAnUnknownServeStaleMode) {
  EXPECT_EQ(parse_error(in_block("cache {\n  serve_stale 1h later\n}")),
            "Corefile:3:18: cache: 'serve_stale' refresh mode must be immediate or verify, got "
            "'later'");
}

TEST(Cache, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(in_block("cache {\n  size 100\n}")),
            "Corefile:3:3: cache: unknown property 'size'");
}

TEST(Cache, RejectsAServeStaleThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("cache {\n  serve_stale forever\n}")),
            "Corefile:3:15: cache: 'serve_stale' expects a duration such as 72h, got 'forever'");
}

TEST(Cache, RejectsAServeStaleWithThreeArguments) {
  EXPECT_EQ(parse_error(in_block("cache {\n  serve_stale 1h verify now\n}")),
            "Corefile:3:25: cache: 'serve_stale' expects at most 2 arguments ([MAX_STALE] "
            "[immediate|verify]) or 'off'");
}

TEST(Cache, RejectsANegativePrefetchAmount) {
  EXPECT_EQ(parse_error(in_block("cache {\n  prefetch -1\n}")),
            "Corefile:3:12: cache: 'prefetch' amount must be a non-negative integer, got '-1'");
}

TEST(Cache, RejectsAnInvalidDisableZone) {
  EXPECT_EQ(parse_error(in_block("cache {\n  disable denial a..b\n}")),
            "Corefile:3:18: cache: 'a..b' is not a valid zone");
}

TEST(Cache, RejectsABlockUnderAProperty) {
  EXPECT_EQ(parse_error(in_block("cache {\n  success 100 {\n  }\n}")),
            "Corefile:3:15: cache: 'success' does not take a block");
}

}  // namespace
}  // namespace holdfast::config
