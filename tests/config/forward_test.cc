// Tests for `forward FROM TO... { options }`.
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;
using testing::parse_block;
using testing::parse_error;
using testing::TempDir;

std::string in_block(const std::string& lines) {
  // Port 5399: no target below (::1:53, ...) is this block's own address (loop safety).
  return ".:5399 {\n" + lines + "\n}\n";
}

ForwardConfig parse_forward(const std::string& lines, const ParseOptions& options = {}) {
  const ServerBlock block = parse_block(in_block(lines), options);
  if (!block.forward) {
    ADD_FAILURE() << "no forward";
    return {};
  }
  return *block.forward;
}

TEST(Forward, AcceptsEveryAddressForm) {
  const ForwardConfig forward = parse_forward(
      "forward Example.ORG 10.0.0.1 10.0.0.2:5300 [2001:db8::1]:5301 2001:db8::2 "
      "dns://10.0.0.3 dns://10.0.0.4:54 [::1]");
  EXPECT_EQ(forward.from, "example.org.");
  EXPECT_EQ(forward.to, (std::vector<Endpoint>{{"10.0.0.1", 53},
                                               {"10.0.0.2", 5300},
                                               {"2001:db8::1", 5301},
                                               {"2001:db8::2", 53},
                                               {"10.0.0.3", 53},
                                               {"10.0.0.4", 54},
                                               {"::1", 53}}));
  EXPECT_EQ(forward.where.line, 2);
  EXPECT_EQ(forward.where.column, 1);
}

TEST(Forward, HasCoreDnsDefaults) {
  const ForwardConfig forward = parse_forward("forward . 10.0.0.1");
  EXPECT_EQ(forward.from, ".");
  EXPECT_FALSE(forward.force_tcp);
  EXPECT_FALSE(forward.prefer_udp);
  EXPECT_EQ(forward.max_fails, 2);
  EXPECT_EQ(forward.policy, ForwardPolicy::kRandom);
  EXPECT_EQ(forward.expire, milliseconds(10'000));
  EXPECT_EQ(forward.health_check, milliseconds(500));
  EXPECT_FALSE(forward.max_concurrent.has_value());
  EXPECT_TRUE(forward.except.empty());
}

TEST(Forward, ReadsTheNameserversOfAResolvConfPath) {
  TempDir dir;
  const std::string path =
      dir.write("resolv.conf", "search svc.cluster.local\nnameserver 10.0.0.7\nnameserver ::1\n");
  const ForwardConfig forward = parse_forward("forward . " + path + " 10.0.0.9");
  EXPECT_EQ(forward.to, (std::vector<Endpoint>{{"10.0.0.7", 53}, {"::1", 53}, {"10.0.0.9", 53}}));
}

TEST(Forward, ReadsEtcResolvConfFromTheDefaultResolvConfOption) {
  TempDir dir;
  ParseOptions options;
  options.default_resolv_conf = dir.write("fake-resolv.conf", "nameserver 192.0.2.53\n");
  const ForwardConfig forward = parse_forward("forward . /etc/resolv.conf", options);
  EXPECT_EQ(forward.to, (std::vector<Endpoint>{{"192.0.2.53", 53}}));
}

TEST(Forward, ReadsARelativeResolvConfNextToTheCorefile) {
  TempDir dir;
  dir.write("upstream.conf", "nameserver 192.0.2.1\n");
  const std::string corefile = dir.write("Corefile", ".:53 {\n forward . upstream.conf\n}\n");
  Result<Config> config = parse_corefile_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].forward->to, (std::vector<Endpoint>{{"192.0.2.1", 53}}));
}

TEST(Forward, ReadsAllOptions) {
  const ForwardConfig forward = parse_forward(
      "forward . 10.0.0.1 {\n"
      "  except Cluster.local in-addr.arpa\n"
      "  except ip6.arpa\n"
      "  force_tcp\n"
      "  max_fails 0\n"
      "  policy round_robin\n"
      "  expire 1m30s\n"
      "  health_check 2s\n"
      "  max_concurrent 1000\n"
      "}");
  EXPECT_EQ(forward.except,
            (std::vector<std::string>{"cluster.local.", "in-addr.arpa.", "ip6.arpa."}));
  EXPECT_TRUE(forward.force_tcp);
  EXPECT_EQ(forward.max_fails, 0);
  EXPECT_EQ(forward.policy, ForwardPolicy::kRoundRobin);
  EXPECT_EQ(forward.expire, milliseconds(90'000));
  EXPECT_EQ(forward.health_check, milliseconds(2'000));
  EXPECT_EQ(forward.max_concurrent, 1000);
}

TEST(Forward, ReadsPreferUdpAndTheSequentialPolicy) {
  const ForwardConfig forward =
      parse_forward("forward . 10.0.0.1 {\n prefer_udp\n policy sequential\n}");
  EXPECT_TRUE(forward.prefer_udp);
  EXPECT_EQ(forward.policy, ForwardPolicy::kSequential);
}

TEST(Forward, TreatsMaxConcurrentZeroAsNoLimit) {
  EXPECT_FALSE(parse_forward("forward . 10.0.0.1 {\n max_concurrent 0\n}").max_concurrent);
}

TEST(Forward, RejectsAMissingDestination) {
  EXPECT_EQ(parse_error(in_block("  forward .")),
            "Corefile:2:3: directive 'forward' expects a zone and at least 1 destination");
}

TEST(Forward, RejectsAnInvalidFromZone) {
  EXPECT_EQ(parse_error(in_block("forward a..b 10.0.0.1")),
            "Corefile:2:9: forward: 'a..b' is not a valid zone");
}

TEST(Forward, RejectsSomethingThatIsNeitherAnAddressNorAFile) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 upstream")),
            "Corefile:2:20: forward: 'upstream' is not an IP address or a file");
  EXPECT_EQ(parse_error(in_block("forward . 999.1.1.1")),
            "Corefile:2:11: forward: '999.1.1.1' is not an IP address or a file");
}

TEST(Forward, RejectsAPathThatDoesNotExist) {
  EXPECT_EQ(parse_error(in_block("forward . /nonexistent/resolv.conf")),
            "Corefile:2:11: forward: cannot read '/nonexistent/resolv.conf': No such file or "
            "directory");
}

TEST(Forward, RejectsAResolvConfWithoutNameservers) {
  TempDir dir;
  const std::string path = dir.write("resolv.conf", "search example\n# nameserver 10.0.0.1\n");
  EXPECT_EQ(parse_error(in_block("forward . " + path)),
            "Corefile:2:11: forward: no nameserver in '" + path + "'");
}

TEST(Forward, RejectsOtherTransports) {
  EXPECT_EQ(parse_error(in_block("forward . tls://9.9.9.9")),
            "Corefile:2:11: forward: 'tls://9.9.9.9' uses transport 'tls', which is not "
            "supported");
}

TEST(Forward, RejectsADnsSchemeWithoutAnAddress) {
  EXPECT_EQ(parse_error(in_block("forward . dns://resolver")),
            "Corefile:2:11: forward: 'dns://resolver' is not an IP address");
}

TEST(Forward, RejectsMoreThanFifteenDestinations) {
  std::string line = "forward .";
  for (int i = 1; i <= 16; ++i) line += " 10.0.0." + std::to_string(i);
  EXPECT_EQ(parse_error(in_block(line)), "Corefile:2:" + std::to_string(line.rfind(' ') + 2) +
                                             ": forward: at most 15 destinations are allowed");
}

TEST(Forward, RejectsForceTcpWithPreferUdp) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  force_tcp\n  prefer_udp\n}")),
            "Corefile:4:3: forward: force_tcp and prefer_udp cannot both be set");
}

TEST(Forward, RejectsAnArgumentToForceTcp) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  force_tcp yes\n}")),
            "Corefile:3:13: forward: 'force_tcp' takes no arguments");
}

TEST(Forward, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  next NXDOMAIN\n}")),
            "Corefile:3:3: forward: unknown property 'next'");
}

TEST(Forward, RejectsTls) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  tls cert key\n}")),
            "Corefile:3:3: forward: 'tls' is not supported");
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  tls_servername dns.example\n}")),
            "Corefile:3:3: forward: 'tls_servername' is not supported");
}

TEST(Forward, RejectsABadMaxFails) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  max_fails -1\n}")),
            "Corefile:3:13: forward: 'max_fails' expects a non-negative integer, got '-1'");
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  max_fails\n}")),
            "Corefile:3:3: forward: 'max_fails' expects 1 argument");
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  max_fails 1 2\n}")),
            "Corefile:3:15: forward: 'max_fails' expects 1 argument");
}

TEST(Forward, RejectsAnUnknownPolicy) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  policy fastest\n}")),
            "Corefile:3:10: forward: unknown policy 'fastest' (expected random, round_robin or "
            "sequential)");
}

TEST(Forward, RejectsAnExpireThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  expire 10\n}")),
            "Corefile:3:10: forward: 'expire' expects a duration such as 10s, got '10'");
}

TEST(Forward, RejectsHealthCheckOptionsOtherThanTheDuration) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  health_check 1s no_rec\n}")),
            "Corefile:3:19: forward: health_check option 'no_rec' is not supported");
}

TEST(Forward, RejectsANegativeMaxConcurrent) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  max_concurrent -5\n}")),
            "Corefile:3:18: forward: 'max_concurrent' expects a non-negative integer, got '-5'");
}

TEST(Forward, RejectsAnExceptWithoutZones) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  except\n}")),
            "Corefile:3:3: forward: 'except' expects at least 1 zone");
}

TEST(Forward, RejectsABlockUnderAnOption) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  policy random {\n  }\n}")),
            "Corefile:3:17: forward: 'policy' does not take a block");
}

TEST(Forward, RejectsAHealthCheckWithoutADuration) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  health_check\n}")),
            "Corefile:3:3: forward: 'health_check' expects a duration");
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  health_check often\n}")),
            "Corefile:3:16: forward: 'health_check' expects a duration such as 500ms, got "
            "'often'");
}

TEST(Forward, RejectsAnInvalidExceptZone) {
  EXPECT_EQ(parse_error(in_block("forward . 10.0.0.1 {\n  except ok.example bad..zone\n}")),
            "Corefile:3:21: forward: 'bad..zone' is not a valid zone");
}

TEST(ForwardLoop, RefusesAForwardToAnAddressAndPortThisServerListensOn) {
  EXPECT_EQ(testing::parse_error("cluster.local:53 {\n  bind 169.254.20.10\n"
                                 "  forward . 169.254.20.10\n}\n"),
            "Corefile:3:3: forward .: 169.254.20.10:53 is this server's own address "
            "(cluster.local.:53 listens there): every query would loop back; forward to the "
            "upstream");
}

TEST(ForwardLoop, RefusesALoopbackTargetWhenABlockListensOnEveryAddress) {
  EXPECT_NE(testing::parse_error(".:5353 {\n  forward . 127.0.0.1:5353\n}\n").find("loop back"),
            std::string::npos);
  EXPECT_NE(testing::parse_error(".:5353 {\n  forward . [::1]:5353\n}\n").find("loop back"),
            std::string::npos);
}

TEST(ForwardLoop, RefusesAForwardToAnotherBlockThatServesTheSameNames) {
  // node-local-dns binds the kube-dns IP too: forwarding to it instead of kube-dns-upstream loops.
  EXPECT_NE(testing::parse_error("cluster.local:53 {\n  bind 169.254.20.10 10.96.0.10\n"
                                 "  forward . 10.0.0.9\n}\n.:53 {\n  bind 169.254.20.10 "
                                 "10.96.0.10\n  forward . 10.96.0.10\n}\n")
                .find("10.96.0.10:53 is this server's own address"),
            std::string::npos);
}

TEST(ForwardLoop, AllowsTheSameAddressOnAnotherPortOrForOtherNames) {
  EXPECT_TRUE(testing::parse_block(".:5353 {\n  forward . 127.0.0.1:53\n}\n").forward);
  // The block on 127.0.0.1:5300 serves example.org only: cluster.local queries sent there are
  // refused, not looped.
  EXPECT_EQ(testing::parse_ok("example.org:5300 {\n  bind 127.0.0.1\n}\ncluster.local:5301 {\n"
                              "  bind 127.0.0.1\n  forward . 127.0.0.1:5300\n}\n")
                .blocks.size(),
            2u);
}

}  // namespace
}  // namespace holdfast::config
