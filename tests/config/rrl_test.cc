// Tests for the rrl directive: CoreDNS rrl syntax, its defaults, and file:line:col errors.
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::parse_block;
using testing::parse_error;
using testing::parse_ok;

std::string in_block(const std::string& lines) {
  return "example.org:53 {\n" + lines + "\n}\n";
}

TEST(Rrl, AbsentMeansNoLimiter) {
  EXPECT_FALSE(parse_block(in_block("  bind 127.0.0.1")).rrl.has_value());
}

TEST(Rrl, ReadsEveryPropertyOfTheCoreDnsPlugin) {
  const ServerBlock block = parse_block(in_block(
      "  rrl example.org sub.example.org {\n"
      "    window 5\n    ipv4-prefix-length 16\n    ipv6-prefix-length 48\n"
      "    responses-per-second 10\n    nodata-per-second 4\n    nxdomains-per-second 2.5\n"
      "    referrals-per-second 3\n    errors-per-second 1\n    requests-per-second 100\n"
      "    slip-ratio 3\n    max-table-size 5000\n    report-only\n  }"));
  ASSERT_TRUE(block.rrl.has_value());
  const RrlConfig& rrl = *block.rrl;
  EXPECT_EQ(rrl.zones, (std::vector<std::string>{"example.org.", "sub.example.org."}));
  EXPECT_DOUBLE_EQ(rrl.window_seconds, 5);
  EXPECT_EQ(rrl.ipv4_prefix_bits, 16);
  EXPECT_EQ(rrl.ipv6_prefix_bits, 48);
  EXPECT_DOUBLE_EQ(rrl.responses_per_second, 10);
  EXPECT_DOUBLE_EQ(rrl.nodata_per_second, 4);
  EXPECT_DOUBLE_EQ(rrl.nxdomains_per_second, 2.5);
  EXPECT_DOUBLE_EQ(rrl.referrals_per_second, 3);
  EXPECT_DOUBLE_EQ(rrl.errors_per_second, 1);
  EXPECT_DOUBLE_EQ(rrl.requests_per_second, 100);
  EXPECT_EQ(rrl.slip_ratio, 3);
  EXPECT_EQ(rrl.max_table_size, 5000u);
  EXPECT_TRUE(rrl.report_only);
  EXPECT_EQ(rrl.where.line, 2);
}

TEST(Rrl, DefaultsAreThePluginsAndUnsetCategoriesFollowResponses) {
  const ServerBlock block = parse_block(in_block("  rrl {\n    responses-per-second 7\n  }"));
  ASSERT_TRUE(block.rrl.has_value());
  const RrlConfig& rrl = *block.rrl;
  EXPECT_TRUE(rrl.zones.empty());
  EXPECT_DOUBLE_EQ(rrl.window_seconds, 15);
  EXPECT_EQ(rrl.ipv4_prefix_bits, 24);
  EXPECT_EQ(rrl.ipv6_prefix_bits, 56);
  EXPECT_DOUBLE_EQ(rrl.nodata_per_second, 7);
  EXPECT_DOUBLE_EQ(rrl.nxdomains_per_second, 7);
  EXPECT_DOUBLE_EQ(rrl.referrals_per_second, 7);
  EXPECT_DOUBLE_EQ(rrl.errors_per_second, 7);
  EXPECT_DOUBLE_EQ(rrl.requests_per_second, 0);
  EXPECT_EQ(rrl.slip_ratio, 0);
  EXPECT_EQ(rrl.max_table_size, 100'000u);
  EXPECT_FALSE(rrl.report_only);
}

TEST(Rrl, ACategorySetToZeroStaysUnlimited) {
  const ServerBlock block =
      parse_block(in_block("  rrl {\n    responses-per-second 7\n    nxdomains-per-second 0\n  }"));
  EXPECT_DOUBLE_EQ(block.rrl->nxdomains_per_second, 0);
  EXPECT_DOUBLE_EQ(block.rrl->nodata_per_second, 7);
}

TEST(Rrl, WithoutAnyAllowanceWarnsThatNothingIsLimited) {
  const Config config = parse_ok(in_block("  rrl"));
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_EQ(config.warnings[0].rfind("Corefile:2:3: rrl: no allowance is set", 0), 0u)
      << config.warnings[0];
}

TEST(Rrl, ErrorsPointAtTheOffendingToken) {
  EXPECT_EQ(parse_error(in_block("  rrl {\n    responses-per-second -1\n  }")),
            "Corefile:3:26: rrl: 'responses-per-second' expects a non-negative number of "
            "responses a second (0 = no limit), got '-1'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    window 0\n  }")),
            "Corefile:3:12: rrl: 'window' expects a number of seconds greater than 0, got '0'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    ipv4-prefix-length 33\n  }")),
            "Corefile:3:24: rrl: 'ipv4-prefix-length' expects a length from 1 to 32, got '33'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    ipv6-prefix-length 0\n  }")),
            "Corefile:3:24: rrl: 'ipv6-prefix-length' expects a length from 1 to 128, got '0'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    slip-ratio 11\n  }")),
            "Corefile:3:16: rrl: 'slip-ratio' expects an integer from 0 to 10, got '11'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    max-table-size many\n  }")),
            "Corefile:3:20: rrl: 'max-table-size' expects an integer from 1 to 10000000, got "
            "'many'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    burst 5\n  }")),
            "Corefile:3:5: rrl: unknown property 'burst'");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    report-only yes\n  }")),
            "Corefile:3:17: rrl: 'report-only' takes no arguments");
  EXPECT_EQ(parse_error(in_block("  rrl {\n    window\n  }")),
            "Corefile:3:5: rrl: 'window' expects 1 argument");
  EXPECT_EQ(parse_error(in_block("  rrl exa..mple {\n  }")),
            "Corefile:2:7: rrl: 'exa..mple' is not a valid zone");
}

TEST(Rrl, MayAppearOnlyOncePerBlock) {
  EXPECT_EQ(parse_error(in_block("  rrl\n  rrl")),
            "Corefile:3:3: directive 'rrl' may appear only once per server block (first at "
            "Corefile:2:3)");
}

}  // namespace
}  // namespace holdfast::config
