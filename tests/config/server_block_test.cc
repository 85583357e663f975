// Tests for server block keys (zones, ports, duplicates) and the directive table.
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::parse_block;
using testing::parse_error;
using testing::parse_ok;

TEST(ServerBlockKeys, NormaliseZonesToLowerCaseWithATrailingDot) {
  const ServerBlock block = parse_block("Cluster.LOCAL:53 In-Addr.Arpa. {\n}\n");
  EXPECT_EQ(block.zones, (std::vector<std::string>{"cluster.local.", "in-addr.arpa."}));
  EXPECT_EQ(block.port, 53);
}

TEST(ServerBlockKeys, DefaultToPort53AndAcceptTheDnsScheme) {
  const Config config = parse_ok(". {\n}\ndns://example.org:1053 {\n}\n");
  ASSERT_EQ(config.blocks.size(), 2u);
  EXPECT_EQ(config.blocks[0].zones, std::vector<std::string>{"."});
  EXPECT_EQ(config.blocks[0].port, 53);
  EXPECT_EQ(config.blocks[1].zones, std::vector<std::string>{"example.org."});
  EXPECT_EQ(config.blocks[1].port, 1053);
}

TEST(ServerBlockKeys, AcceptTheRootWithAPortAndTheSameZoneOnAnotherPort) {
  const Config config = parse_ok(".:53 {\n}\ndns://.:5353 {\n}\n");
  ASSERT_EQ(config.blocks.size(), 2u);
  EXPECT_EQ(config.blocks[1].zones, std::vector<std::string>{"."});
  EXPECT_EQ(config.blocks[1].port, 5353);
}

TEST(ServerBlockKeys, RecordWhereTheBlockStarts) {
  const Config config = parse_ok("\n  a.example {\n}\n");
  EXPECT_EQ(config.blocks[0].where.file, "Corefile");
  EXPECT_EQ(config.blocks[0].where.line, 2);
  EXPECT_EQ(config.blocks[0].where.column, 3);
}

TEST(ServerBlockKeys, RejectDifferentPortsInOneBlock) {
  EXPECT_EQ(parse_error("a.example:53 b.example:54 {\n}\n"),
            "Corefile:1:14: server block mixes ports 53 and 54; use one block per port");
}

TEST(ServerBlockKeys, RejectAZoneAndPortGivenTwiceAcrossBlocks) {
  EXPECT_EQ(parse_error("cluster.local:53 {\n}\n.:53 Cluster.Local {\n}\n"),
            "Corefile:3:6: duplicate zone 'cluster.local.' on port 53 (first at Corefile:1:1)");
}

TEST(ServerBlockKeys, RejectAZoneGivenTwiceInOneBlock) {
  EXPECT_EQ(parse_error(". .:53 {\n}\n"),
            "Corefile:1:3: duplicate zone '.' on port 53 (first at Corefile:1:1)");
}

TEST(ServerBlockKeys, RejectAnInvalidPort) {
  EXPECT_EQ(parse_error(".:99999 {\n}\n"),
            "Corefile:1:1: server block key '.:99999' has an "
            "invalid port");
  EXPECT_EQ(parse_error(".: {\n}\n"), "Corefile:1:1: server block key '.:' has an invalid port");
}

TEST(ServerBlockKeys, RejectOtherTransports) {
  EXPECT_EQ(parse_error("tls://.:853 {\n}\n"),
            "Corefile:1:1: server block key 'tls://.:853' uses transport 'tls', which is not "
            "supported");
}

TEST(ServerBlockKeys, RejectZonesGivenAsCidr) {
  EXPECT_EQ(parse_error("10.0.0.0/8 {\n}\n"),
            "Corefile:1:1: server block key '10.0.0.0/8': zones from a CIDR are not supported; "
            "write the in-addr.arpa or ip6.arpa zone");
}

TEST(ServerBlockKeys, RejectInvalidZones) {
  EXPECT_EQ(parse_error("a..example {\n}\n"),
            "Corefile:1:1: server block key 'a..example' is not a valid zone");
}

TEST(ServerBlockDirectives, RejectAnUnknownDirectiveByName) {
  EXPECT_EQ(parse_error(".:53 {\n  errors\n  whoami\n}\n"),
            "Corefile:3:3: unknown directive 'whoami'");
}

TEST(ServerBlockDirectives, RejectASecondForward) {
  EXPECT_EQ(parse_error(". {\n forward . 1.1.1.1\n forward . 8.8.8.8\n}\n"),
            "Corefile:3:2: directive 'forward' may appear only once per server block (first at "
            "Corefile:2:2)");
}

TEST(ServerBlockDirectives, RejectASecondCache) {
  EXPECT_EQ(parse_error(". {\n cache\n cache 30\n}\n"),
            "Corefile:3:2: directive 'cache' may appear only once per server block (first at "
            "Corefile:2:2)");
}

TEST(ServerBlockDirectives, AllowTheSameOnceOnlyDirectiveInDifferentBlocks) {
  const Config config = parse_ok("a {\n cache\n}\nb {\n cache\n}\n");
  EXPECT_EQ(config.blocks.size(), 2u);
}

TEST(ServerBlockDirectives, AllowRepeatedBindAndLog) {
  const ServerBlock block = parse_block(". {\n bind 127.0.0.1\n bind ::1\n log\n log\n}\n");
  EXPECT_EQ(block.bind, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_TRUE(block.log);
}

TEST(ServerBlockDirectives, AllowABlockWithoutForward) {
  const ServerBlock block = parse_block(". {\n errors\n}\n");
  EXPECT_FALSE(block.forward.has_value());
  EXPECT_FALSE(block.cache.enabled);
  EXPECT_TRUE(block.bind.empty());
}

}  // namespace
}  // namespace holdfast::config
