#include "config/persist.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::parse_error;
using testing::parse_ok;

const ParseOptions kOptions{"/etc/resolv.conf", "/var/lib/holdfast-default"};

TEST(Persist, IsOnByDefaultInTheDefaultDirectory) {
  const Config config = parse_ok(". {\n  cache\n}\n", kOptions);
  EXPECT_TRUE(config.persist.enabled);
  EXPECT_EQ(config.persist.dir, "/var/lib/holdfast-default");
  EXPECT_EQ(config.persist.size_bytes, 1ull << 30);
  EXPECT_EQ(config.persist.flush, std::chrono::milliseconds(100));
  EXPECT_EQ(config.persist.sync, std::chrono::milliseconds(1000));
}

TEST(Persist, TakesADirectoryAndItsBlock) {
  const Config config = parse_ok(
      ". {\n  persist /srv/dns {\n    size 8MiB\n    flush 50ms\n    sync 2s\n  }\n}\n", kOptions);
  EXPECT_EQ(config.persist.dir, "/srv/dns");
  EXPECT_EQ(config.persist.size_bytes, 8ull << 20);
  EXPECT_EQ(config.persist.flush, std::chrono::milliseconds(50));
  EXPECT_EQ(config.persist.sync, std::chrono::milliseconds(2000));
}

TEST(Persist, OffTurnsItOff) {
  EXPECT_FALSE(parse_ok(". {\n  persist off\n}\n", kOptions).persist.enabled);
}

TEST(Persist, BlocksThatAgreeShareOneStore) {
  const Config config =
      parse_ok("a {\n  persist /srv/dns\n}\nb {\n  persist /srv/dns\n}\nc {\n}\n", kOptions);
  EXPECT_EQ(config.persist.dir, "/srv/dns");
}

TEST(Persist, RejectsBlocksThatDisagree) {
  EXPECT_EQ(parse_error("a {\n  persist /srv/one\n}\nb {\n  persist /srv/two\n}\n", kOptions),
            "Corefile:5:3: persist: all blocks share one store, but this differs from the one "
            "at Corefile:2");
}

TEST(Persist, RejectsABadSize) {
  EXPECT_EQ(parse_error(". {\n  persist {\n    size lots\n  }\n}\n", kOptions),
            "Corefile:3:10: persist: 'size' expects a size such as 1GiB or 512MiB, got 'lots'");
  EXPECT_EQ(parse_error(". {\n  persist {\n    size 4KiB\n  }\n}\n", kOptions),
            "Corefile:3:10: persist: 'size' must be at least 1MiB");
}

TEST(Persist, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(". {\n  persist {\n    compress yes\n  }\n}\n", kOptions),
            "Corefile:3:5: persist: unknown property 'compress'");
}

TEST(Persist, RejectsTwoDirectories) {
  EXPECT_EQ(parse_error(". {\n  persist /a /b\n}\n", kOptions),
            "Corefile:2:14: directive 'persist' expects at most 1 argument (DIR or off)");
}

TEST(Persist, CapsNegativeAnswersAtATenthOfTheStoreByDefault) {
  const Config config = parse_ok(". {\n  persist {\n    size 100MiB\n  }\n}\n", kOptions);
  EXPECT_FALSE(config.persist.negative_max_bytes.has_value());
  EXPECT_EQ(config.persist.negative_cap_bytes(), 10ull * 1024 * 1024);
}

TEST(Persist, TakesANegativeCapAsASizeOrAPercentage) {
  EXPECT_EQ(parse_ok(". {\n  persist {\n    negative_max 8MiB\n  }\n}\n", kOptions)
                .persist.negative_cap_bytes(),
            8ull << 20);
  EXPECT_EQ(parse_ok(". {\n  persist {\n    size 200MiB\n    negative_max 25%\n  }\n}\n", kOptions)
                .persist.negative_cap_bytes(),
            50ull << 20);
  EXPECT_EQ(parse_ok(". {\n  persist {\n    negative_max 0%\n  }\n}\n", kOptions)
                .persist.negative_cap_bytes(),
            0u);
}

TEST(Persist, RejectsABadNegativeCap) {
  EXPECT_EQ(parse_error(". {\n  persist {\n    negative_max 120%\n  }\n}\n", kOptions),
            "Corefile:3:18: persist: 'negative_max' expects a size such as 64MiB or a percentage "
            "from 0% to 100%, got '120%'");
  EXPECT_EQ(parse_error(". {\n  persist {\n    negative_max some\n  }\n}\n", kOptions),
            "Corefile:3:18: persist: 'negative_max' expects a size such as 64MiB or a percentage "
            "from 0% to 100%, got 'some'");
}

TEST(ParseSize, UnderstandsBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(parse_size("8MB"), 8'000'000ull);
  EXPECT_EQ(parse_size("65536"), 65536ull);
  EXPECT_FALSE(parse_size("1.5GiB"));
  EXPECT_FALSE(parse_size("GiB"));
  EXPECT_FALSE(parse_size("1gib"));
}

TEST(UpstreamLimits, HasNodeSizedDefaults) {
  const ServerBlock block = parse_ok(". {\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.max_inflight, 256);
  EXPECT_EQ(block.upstream_limits.qps, 5000);
  EXPECT_EQ(block.upstream_limits.burst, 1000);
  EXPECT_EQ(block.upstream_limits.queue, 10000);
  EXPECT_EQ(block.upstream_limits.queue_wait, std::chrono::milliseconds(3000));
  EXPECT_EQ(block.upstream_limits.probe_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(block.upstream_limits.probes, 2);
}

TEST(UpstreamLimits, TakesEachLimit) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    max_inflight 10\n    qps 50\n    burst 5\n  }\n}\n",
               kOptions)
          .blocks[0];
  EXPECT_EQ(block.upstream_limits.max_inflight, 10);
  EXPECT_EQ(block.upstream_limits.qps, 50);
  EXPECT_EQ(block.upstream_limits.burst, 5);
}

TEST(UpstreamLimits, TakesAQueueBound) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    queue 50\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.queue, 50);
}

TEST(UpstreamLimits, AcceptsAQueueOfZero) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    queue 0\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.queue, 0);
}

TEST(UpstreamLimits, RejectsANegativeQueue) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue -1\n  }\n}\n", kOptions),
            "Corefile:3:11: upstream_limits: 'queue' expects a non-negative integer, got '-1'");
}

TEST(UpstreamLimits, RejectsAQueueThatIsNotANumber) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue many\n  }\n}\n", kOptions),
            "Corefile:3:11: upstream_limits: 'queue' expects a non-negative integer, got 'many'");
}

TEST(UpstreamLimits, RejectsAQueueAboveTenMillion) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue 10000001\n  }\n}\n", kOptions),
            "Corefile:3:11: upstream_limits: 'queue' expects a non-negative integer, got "
            "'10000001'");
}

TEST(UpstreamLimits, TakesAQueueWait) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    queue_wait 250ms\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.queue_wait, std::chrono::milliseconds(250));
}

TEST(UpstreamLimits, RejectsAQueueWaitThatIsNotADuration) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue_wait 3\n  }\n}\n", kOptions),
            "Corefile:3:16: upstream_limits: 'queue_wait' expects a duration such as 1s, got '3'");
}

TEST(UpstreamLimits, RejectsAQueueWaitBelowOneMillisecond) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue_wait 0\n  }\n}\n", kOptions),
            "Corefile:3:16: upstream_limits: 'queue_wait' must be at least 1ms");
}

TEST(UpstreamLimits, TakesAProbeInterval) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    probe_interval 2.5s\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.probe_interval, std::chrono::milliseconds(2500));
}

TEST(UpstreamLimits, AcceptsAProbeIntervalOfOneMillisecond) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    probe_interval 1ms\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.probe_interval, std::chrono::milliseconds(1));
}

TEST(UpstreamLimits, RejectsAProbeIntervalThatRoundsToZero) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    probe_interval 100us\n  }\n}\n", kOptions),
            "Corefile:3:20: upstream_limits: 'probe_interval' must be at least 1ms");
}

TEST(UpstreamLimits, RejectsAProbeIntervalThatIsNotADuration) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    probe_interval often\n  }\n}\n", kOptions),
            "Corefile:3:20: upstream_limits: 'probe_interval' expects a duration such as 1s, got "
            "'often'");
}

TEST(UpstreamLimits, TakesAProbeCount) {
  const ServerBlock block =
      parse_ok(". {\n  upstream_limits {\n    probes 5\n  }\n}\n", kOptions).blocks[0];
  EXPECT_EQ(block.upstream_limits.probes, 5);
}

TEST(UpstreamLimits, RejectsZeroProbes) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    probes 0\n  }\n}\n", kOptions),
            "Corefile:3:12: upstream_limits: 'probes' expects a positive integer, got '0'");
}

TEST(UpstreamLimits, RejectsANewOptionWithoutItsValue) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    queue\n  }\n}\n", kOptions),
            "Corefile:3:5: upstream_limits: 'queue' expects 1 argument");
}

TEST(UpstreamLimits, RejectsZeroAndUnknownProperties) {
  EXPECT_EQ(
      parse_error(". {\n  upstream_limits {\n    qps 0\n  }\n}\n", kOptions),
      "Corefile:3:9: upstream_limits: 'qps' expects a positive integer up to 1000000, got '0'");
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    qps 1000001\n  }\n}\n", kOptions),
            "Corefile:3:9: upstream_limits: 'qps' expects a positive integer up to 1000000, got "
            "'1000001'");
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    rate 5\n  }\n}\n", kOptions),
            "Corefile:3:5: upstream_limits: unknown property 'rate'");
}

}  // namespace
}  // namespace holdfast::config
