// Tests for the acl and chaos directives.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::parse_block;
using testing::parse_error;

std::string in_block(const std::string& lines) {
  return "cluster.local:53 {\n" + lines + "\n}\n";
}

TEST(Acl, ParsesRulesInOrderWithTypesAndNetworks) {
  const ServerBlock block =
      parse_block(in_block("  acl {\n    block type ANY AXFR\n    allow net 10.0.0.0/8 fd00::/8\n"
                           "    filter type AAAA net 192.0.2.7\n    drop\n  }\n  acl example.org "
                           "{\n    allow net *\n  }"));
  ASSERT_EQ(block.acl.size(), 2u);
  const AclConfig& first = block.acl[0];
  EXPECT_TRUE(first.zones.empty());
  ASSERT_EQ(first.rules.size(), 4u);
  EXPECT_EQ(first.rules[0].action, AclAction::kBlock);
  EXPECT_EQ(first.rules[0].types, (std::vector<std::uint16_t>{255, 252}));
  EXPECT_TRUE(first.rules[0].nets.empty());
  EXPECT_EQ(first.rules[1].action, AclAction::kAllow);
  ASSERT_EQ(first.rules[1].nets.size(), 2u);
  EXPECT_EQ(first.rules[1].nets[0].family, AF_INET);
  EXPECT_EQ(first.rules[1].nets[0].prefix_bits, 8);
  EXPECT_EQ(first.rules[1].nets[1].family, AF_INET6);
  EXPECT_EQ(first.rules[2].action, AclAction::kFilter);
  EXPECT_EQ(first.rules[2].nets[0].prefix_bits, 32);
  EXPECT_EQ(first.rules[3].action, AclAction::kDrop);
  EXPECT_EQ(block.acl[1].zones, std::vector<std::string>{"example.org."});
  EXPECT_TRUE(block.acl[1].rules[0].nets.empty());
}

TEST(Acl, ErrorsPointAtTheMistake) {
  EXPECT_EQ(parse_error(in_block("  acl {\n    deny net 10.0.0.0/8\n  }")),
            "Corefile:3:5: acl: unknown action 'deny' (expected allow, block, filter or drop)");
  EXPECT_EQ(parse_error(in_block("  acl {\n    block net 10.0.0.1/8\n  }")),
            "Corefile:3:15: acl: '10.0.0.1/8' has bits set past its prefix length");
  EXPECT_EQ(parse_error(in_block("  acl {\n    block net 10.0.0.0/33\n  }")),
            "Corefile:3:15: acl: invalid prefix length in '10.0.0.0/33'");
  EXPECT_EQ(parse_error(in_block("  acl {\n    block type NOPE\n  }")),
            "Corefile:3:16: acl: unknown query type 'NOPE'");
  EXPECT_EQ(parse_error(in_block("  acl {\n    block 10.0.0.0/8\n  }")),
            "Corefile:3:11: acl: expected 'type' or 'net' before '10.0.0.0/8'");
  EXPECT_EQ(parse_error(in_block("  acl")),
            "Corefile:2:3: acl: expects a block of rules: acl [ZONES...] { ACTION [type "
            "QTYPE...] [net CIDR...] }");
}

TEST(Chaos, TakesAVersionAndAuthors) {
  const ServerBlock block = parse_block(in_block("  chaos my-dns alice bob"));
  ASSERT_TRUE(block.chaos);
  EXPECT_EQ(block.chaos->version, "my-dns");
  EXPECT_EQ(block.chaos->authors, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(parse_block(in_block("  chaos")).chaos->version.empty());
}

}  // namespace
}  // namespace holdfast::config
