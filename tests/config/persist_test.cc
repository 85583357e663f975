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
  EXPECT_EQ(block.upstream_limits.qps, 2000);
  EXPECT_EQ(block.upstream_limits.burst, 500);
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

TEST(UpstreamLimits, RejectsZeroAndUnknownProperties) {
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    qps 0\n  }\n}\n", kOptions),
            "Corefile:3:9: upstream_limits: 'qps' expects a positive integer, got '0'");
  EXPECT_EQ(parse_error(". {\n  upstream_limits {\n    rate 5\n  }\n}\n", kOptions),
            "Corefile:3:5: upstream_limits: unknown property 'rate'");
}

}  // namespace
}  // namespace holdfast::config
