// Tests for reading nameservers from resolv.conf.
#include "config/resolv_conf.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

TEST(ResolvConf, ReadsNameserversInOrderOnPort53) {
  EXPECT_EQ(parse_resolv_conf("nameserver 10.0.0.1\nnameserver\t2001:db8::1\n"),
            (std::vector<Endpoint>{{"10.0.0.1", 53}, {"2001:db8::1", 53}}));
}

TEST(ResolvConf, SkipsCommentsOtherKeywordsAndUnusableAddresses) {
  EXPECT_EQ(parse_resolv_conf("# nameserver 10.0.0.9\n"
                              "; nameserver 10.0.0.8\n"
                              "search svc.cluster.local cluster.local\n"
                              "options ndots:5\n"
                              "nameserver fe80::1%eth0\n"
                              "nameserver resolver.example\n"
                              "nameserver\n"
                              "  nameserver 10.0.0.2 # trailing\n"
                              "nameserver 10.0.0.3;x\n"),
            (std::vector<Endpoint>{{"10.0.0.2", 53}, {"10.0.0.3", 53}}));
}

TEST(ResolvConf, KeepsMoreThanThreeNameservers) {
  EXPECT_EQ(parse_resolv_conf("nameserver 10.0.0.1\nnameserver 10.0.0.2\n"
                              "nameserver 10.0.0.3\nnameserver 10.0.0.4\n")
                .size(),
            4u);
}

TEST(ResolvConf, ReadsAFile) {
  testing::TempDir dir;
  const std::string path = dir.write("resolv.conf", "nameserver 192.0.2.1\n");
  Result<std::vector<Endpoint>> servers = read_resolv_conf(path);
  ASSERT_TRUE(servers) << servers.error().message;
  EXPECT_EQ(*servers, (std::vector<Endpoint>{{"192.0.2.1", 53}}));
}

TEST(ResolvConf, ReportsAMissingFile) {
  Result<std::vector<Endpoint>> servers = read_resolv_conf("/nonexistent/resolv.conf");
  ASSERT_FALSE(servers);
  EXPECT_EQ(servers.error().message,
            "cannot read '/nonexistent/resolv.conf': No such file or directory");
}

}  // namespace
}  // namespace holdfast::config
