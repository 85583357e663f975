// End-to-end tests of the public parse functions: the node-local-dns ConfigMap, files, env
// substitution, quoting, comments, and file-level errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::parse_block;
using testing::parse_error;
using testing::TempDir;

// The official node-local-dns ConfigMap with its __PILLAR__ placeholders filled in, verbatim
// otherwise (including its odd indentation of closing braces).
constexpr const char* kNodeLocalDns = R"(cluster.local:53 {
    errors
    cache {
            success 9984 30
            denial 9984 5
    }
    reload
    loop
    bind 169.254.20.10 10.96.0.10
    forward . 10.96.0.11 {
            force_tcp
    }
    prometheus :9253
    health 169.254.20.10:8080
    }
in-addr.arpa:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.20.10 10.96.0.10
    forward . 10.96.0.11 {
            force_tcp
    }
    prometheus :9253
    }
ip6.arpa:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.20.10 10.96.0.10
    forward . 10.96.0.11 {
            force_tcp
    }
    prometheus :9253
    }
.:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.20.10 10.96.0.10
    forward . /etc/resolv.conf
    prometheus :9253
    }
)";

std::vector<std::string> inactive_names(const ServerBlock& block) {
  std::vector<std::string> names;
  for (const InactiveDirective& directive : block.inactive) names.push_back(directive.name);
  return names;
}

class NodeLocalDns : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.default_resolv_conf =
        dir_.write("resolv.conf", "nameserver 10.0.0.2\nsearch cluster.local\n");
    Result<Config> result = parse_corefile_text(kNodeLocalDns, "node-local.Corefile", options_);
    ASSERT_TRUE(result) << result.error().message;
    config_ = *result;
  }
  TempDir dir_;
  ParseOptions options_;
  Config config_;
};

TEST_F(NodeLocalDns, ParsesFourBlocksOnPort53) {
  ASSERT_EQ(config_.blocks.size(), 4u);
  EXPECT_EQ(config_.source, "node-local.Corefile");
  EXPECT_TRUE(config_.warnings.empty());
  const std::vector<std::string> zones[] = {
      {"cluster.local."}, {"in-addr.arpa."}, {"ip6.arpa."}, {"."}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(config_.blocks[i].zones, zones[i]);
    EXPECT_EQ(config_.blocks[i].port, 53);
    EXPECT_EQ(config_.blocks[i].bind, (std::vector<std::string>{"169.254.20.10", "10.96.0.10"}));
    EXPECT_TRUE(config_.blocks[i].errors);
    EXPECT_TRUE(config_.blocks[i].cache.enabled);
    EXPECT_EQ(config_.blocks[i].prometheus, ":9253");
  }
}

TEST_F(NodeLocalDns, ReadsTheClusterLocalBlock) {
  const ServerBlock& block = config_.blocks[0];
  EXPECT_EQ(block.cache.success_capacity, 9984u);
  EXPECT_EQ(block.cache.success_max_ttl, 30u);
  EXPECT_EQ(block.cache.denial_capacity, 9984u);
  EXPECT_EQ(block.cache.denial_max_ttl, 5u);
  ASSERT_TRUE(block.forward);
  EXPECT_EQ(block.forward->to, (std::vector<Endpoint>{{"10.96.0.11", 53}}));
  EXPECT_TRUE(block.forward->force_tcp);
  EXPECT_EQ(block.health, "169.254.20.10:8080");
  EXPECT_EQ(inactive_names(block), (std::vector<std::string>{"loop"}));
  EXPECT_EQ(block.inactive[0].where.file, "node-local.Corefile");
  EXPECT_EQ(block.inactive[0].where.line, 8);
}

TEST_F(NodeLocalDns, ReadsTheReverseZoneBlocks) {
  for (std::size_t i : {1u, 2u}) {
    const ServerBlock& block = config_.blocks[i];
    EXPECT_EQ(block.cache.success_max_ttl, 30u);
    EXPECT_EQ(block.cache.denial_max_ttl, 30u);
    EXPECT_TRUE(block.forward->force_tcp);
    EXPECT_FALSE(block.health.has_value());
  }
}

TEST_F(NodeLocalDns, ForwardsTheRootToTheResolvConfNameservers) {
  const ServerBlock& block = config_.blocks[3];
  ASSERT_TRUE(block.forward);
  EXPECT_EQ(block.forward->from, ".");
  EXPECT_EQ(block.forward->to, (std::vector<Endpoint>{{"10.0.0.2", 53}}));
  EXPECT_FALSE(block.forward->force_tcp);
}

TEST(Corefile, ParsesAFileAndNamesItInLocations) {
  TempDir dir;
  const std::string path = dir.write("Corefile", ".:53 {\n  forward . 10.0.0.1\n}\n");
  Result<Config> config = parse_corefile_file(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->source, path);
  EXPECT_EQ(config->blocks[0].forward->where.file, path);
}

TEST(Corefile, ReportsErrorsWithTheFilePath) {
  TempDir dir;
  const std::string path = dir.write("Corefile", ".:53 {\n  foo\n}\n");
  Result<Config> config = parse_corefile_file(path);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, path + ":2:3: unknown directive 'foo'");
}

TEST(Corefile, ReportsAMissingFile) {
  Result<Config> config = parse_corefile_file("/nonexistent/Corefile");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            "cannot read '/nonexistent/Corefile': No such file or directory");
}

TEST(Corefile, RejectsAFileWithoutServerBlocks) {
  EXPECT_EQ(parse_error("# only a comment\n\n"), "Corefile: no server blocks");
}

TEST(Corefile, SubstitutesEnvironmentVariablesInKeysAndArguments) {
  ::setenv("HOLDFAST_TEST_ZONE", "Example.Org", 1);
  ::setenv("HOLDFAST_TEST_UPSTREAM", "192.0.2.1", 1);
  const ServerBlock block =
      parse_block("{$HOLDFAST_TEST_ZONE}:1053 {\n forward . {$HOLDFAST_TEST_UPSTREAM}:5300\n}\n");
  ::unsetenv("HOLDFAST_TEST_ZONE");
  ::unsetenv("HOLDFAST_TEST_UPSTREAM");
  EXPECT_EQ(block.zones, std::vector<std::string>{"example.org."});
  EXPECT_EQ(block.port, 1053);
  ASSERT_TRUE(block.forward);
  EXPECT_EQ(block.forward->to, (std::vector<Endpoint>{{"192.0.2.1", 5300}}));
}

TEST(Corefile, AnUnsetVariableInARequiredArgumentIsAnError) {
  EXPECT_EQ(parse_error(".:53 {\n bind {$HOLDFAST_TEST_UNSET}\n}\n"),
            "Corefile:2:7: bind: '' is not an IP address");
}

TEST(Corefile, EndsAQuotedTokenAtItsClosingQuote) {
  // Caddy rules: `"example.org":53` is two keys, "example.org" and ":53" (the root).
  const ServerBlock block = parse_block("\"example.org\":53 {\n}\n");
  EXPECT_EQ(block.zones, (std::vector<std::string>{"example.org.", "."}));
}

TEST(Corefile, AcceptsQuotedArgumentsAndComments) {
  const ServerBlock block = parse_block(
      "# Holdfast test\n"
      "\"example.org:53\" { # the zone\n"
      "  forward \".\" \"10.0.0.1\" # upstream\n"
      "  log . \"{remote} \\\"{name}\\\"\"\n"
      "}\n");
  EXPECT_EQ(block.zones, std::vector<std::string>{"example.org."});
  EXPECT_EQ(block.forward->to, (std::vector<Endpoint>{{"10.0.0.1", 53}}));
  EXPECT_TRUE(block.log);
}

}  // namespace
}  // namespace holdfast::config
