// Tests for the built-in configuration used without -conf.
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::TempDir;

TEST(EmbeddedDefault, ListensOnLoopbackPort5353AndForwardsToResolvConf) {
  TempDir dir;
  ParseOptions options;
  options.default_resolv_conf = dir.write("resolv.conf", "nameserver 192.0.2.10\n");
  Result<Config> config = embedded_default(options);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->source, "<embedded default>");
  EXPECT_TRUE(config->warnings.empty());
  ASSERT_EQ(config->blocks.size(), 1u);
  const ServerBlock& block = config->blocks[0];
  EXPECT_EQ(block.zones, std::vector<std::string>{"."});
  EXPECT_EQ(block.port, 5353);
  EXPECT_EQ(block.bind, (std::vector<std::string>{"127.0.0.1", "::1"}));
  ASSERT_TRUE(block.forward);
  EXPECT_EQ(block.forward->to, (std::vector<Endpoint>{{"192.0.2.10", 53}}));
  EXPECT_TRUE(block.cache.enabled);
  EXPECT_TRUE(block.errors);
  EXPECT_TRUE(block.inactive.empty());
}

TEST(EmbeddedDefault, FallsBackToLocalhostLikeGlibcWhenResolvConfHasNoNameserver) {
  TempDir dir;
  ParseOptions options;
  options.default_resolv_conf = dir.write("resolv.conf", "search example\n");
  Result<Config> config = embedded_default(options);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].forward->to, (std::vector<Endpoint>{{"127.0.0.1", 53}}));
  EXPECT_EQ(config->warnings,
            std::vector<std::string>{"<embedded default>:4:15: no nameserver in '" +
                                     options.default_resolv_conf +
                                     "'; forwarding to 127.0.0.1:53 (the glibc default)"});
}

TEST(EmbeddedDefault, FallsBackToLocalhostWhenResolvConfIsMissing) {
  ParseOptions options;
  options.default_resolv_conf = "/nonexistent/resolv.conf";
  Result<Config> config = embedded_default(options);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].forward->to, (std::vector<Endpoint>{{"127.0.0.1", 53}}));
  EXPECT_EQ(config->warnings.size(), 1u);
}

TEST(EmbeddedDefault, TextIsARealCorefile) {
  TempDir dir;
  ParseOptions options;
  options.default_resolv_conf = dir.write("resolv.conf", "nameserver 192.0.2.10\n");
  Result<Config> config = parse_corefile_text(embedded_default_text(), "default", options);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].port, 5353);
}

TEST(EmbeddedDefault, AParsedCorefileWithAnEmptyResolvConfIsStillAnError) {
  TempDir dir;
  ParseOptions options;
  options.default_resolv_conf = dir.write("resolv.conf", "");
  Result<Config> config = parse_corefile_text(embedded_default_text(), "default", options);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            "default:4:15: forward: no nameserver in '" + options.default_resolv_conf + "'");
}

}  // namespace
}  // namespace holdfast::config
