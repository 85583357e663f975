// Tests for bind, log, errors, reload, loop, health and prometheus.
#include <gtest/gtest.h>
#include <sched.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

using std::chrono::milliseconds;
using testing::parse_block;
using testing::parse_error;

std::string in_block(const std::string& lines) {
  return ".:53 {\n" + lines + "\n}\n";
}

std::vector<std::string> inactive_names(const ServerBlock& block) {
  std::vector<std::string> names;
  for (const InactiveDirective& directive : block.inactive) names.push_back(directive.name);
  return names;
}

TEST(Bind, AcceptsIpv4AndIpv6LiteralsInCanonicalFormWithoutDuplicates) {
  const ServerBlock block = parse_block(in_block("bind 169.254.20.10 0:0::1 ::1 10.96.0.10"));
  EXPECT_EQ(block.bind, (std::vector<std::string>{"169.254.20.10", "::1", "10.96.0.10"}));
}

TEST(Bind, RejectsAMissingAddress) {
  EXPECT_EQ(parse_error(in_block("  bind")),
            "Corefile:2:3: directive 'bind' expects at least 1 address");
}

TEST(Bind, RejectsSomethingThatIsNotAnIpAddress) {
  EXPECT_EQ(parse_error(in_block("  bind 127.0.0.1 999.1.1.1")),
            "Corefile:2:18: bind: '999.1.1.1' is not an IP address");
}

TEST(Bind, RejectsInterfaceNames) {
  EXPECT_EQ(parse_error(in_block("  bind eth0")),
            "Corefile:2:8: bind: 'eth0' is not an IP address (interface names are not "
            "supported)");
}

TEST(Bind, RejectsABlock) {
  EXPECT_EQ(parse_error(in_block("  bind lo {\n except 127.0.0.1\n }")),
            "Corefile:2:11: directive 'bind' does not take a block");
}

TEST(Log, AcceptsNamesAFormatAndClasses) {
  const ServerBlock block =
      parse_block(in_block("log . \"{remote} {type}\" {\n  class denial error\n}"));
  EXPECT_TRUE(block.log);
}

TEST(Log, RejectsAnUnknownClass) {
  EXPECT_EQ(parse_error(in_block("log {\n  class success oops\n}")),
            "Corefile:3:17: log: unknown class 'oops' (expected success, denial, error or all)");
}

TEST(Log, RejectsAClassWithoutValues) {
  EXPECT_EQ(parse_error(in_block("log {\n  class\n}")),
            "Corefile:3:3: log: 'class' expects at least 1 class");
}

TEST(Log, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(in_block("log {\n  format x\n}")),
            "Corefile:3:3: log: unknown property 'format'");
}

TEST(Errors, IsOnWithNoArgumentsOrStdout) {
  EXPECT_TRUE(parse_block(in_block("errors")).errors);
  EXPECT_TRUE(parse_block(in_block("errors stdout")).errors);
  EXPECT_FALSE(parse_block(in_block("log")).errors);
}

TEST(Errors, RejectsAnUnknownArgument) {
  EXPECT_EQ(parse_error(in_block("errors stderr")),
            "Corefile:2:8: errors: unknown argument 'stderr' (only stdout)");
}

TEST(Errors, RejectsTooManyArguments) {
  EXPECT_EQ(parse_error(in_block("errors stdout x")),
            "Corefile:2:15: directive 'errors' expects at most 1 argument (stdout)");
}

TEST(Errors, RejectsConsolidate) {
  EXPECT_EQ(parse_error(in_block("errors {\n  consolidate 5m \".*\"\n}")),
            "Corefile:3:3: errors: 'consolidate' is not supported");
}

TEST(Errors, RejectsASecondErrors) {
  EXPECT_EQ(parse_error(in_block("errors\nerrors")),
            "Corefile:3:1: directive 'errors' may appear only once per server block (first at "
            "Corefile:2:1)");
}

TEST(Reload, DefaultsTo30sWith15sJitterAndIsActive) {
  const ServerBlock block = parse_block(in_block("  reload"));
  ASSERT_TRUE(block.reload.has_value());
  EXPECT_EQ(block.reload->interval, milliseconds(30'000));
  EXPECT_EQ(block.reload->jitter, milliseconds(15'000));
  EXPECT_TRUE(block.inactive.empty());
}

TEST(Reload, ClampsTheJitterToHalfTheInterval) {
  const ServerBlock block = parse_block(in_block("reload 10s 1m"));
  EXPECT_EQ(block.reload->interval, milliseconds(10'000));
  EXPECT_EQ(block.reload->jitter, milliseconds(5'000));
}

TEST(Reload, RejectsAnIntervalUnderTwoSeconds) {
  EXPECT_EQ(parse_error(in_block("reload 1s")),
            "Corefile:2:8: reload: interval must be at least 2s, got '1s'");
}

TEST(Reload, RejectsAJitterUnderOneSecond) {
  EXPECT_EQ(parse_error(in_block("reload 10s 500ms")),
            "Corefile:2:12: reload: jitter must be at least 1s, got '500ms'");
}

TEST(Reload, RejectsABareNumber) {
  EXPECT_EQ(parse_error(in_block("reload 30")),
            "Corefile:2:8: reload: interval expects a duration such as 30s, got '30'");
}

TEST(Reload, RejectsThreeArguments) {
  EXPECT_EQ(parse_error(in_block("reload 30s 5s 1s")),
            "Corefile:2:15: directive 'reload' expects at most 2 arguments (INTERVAL [JITTER])");
}

TEST(Loop, IsRecordedAsInactive) {
  const ServerBlock block = parse_block(in_block("loop"));
  EXPECT_TRUE(block.loop);
  EXPECT_EQ(inactive_names(block), std::vector<std::string>{"loop"});
}

TEST(Loop, RejectsArguments) {
  EXPECT_EQ(parse_error(in_block("loop 3")), "Corefile:2:6: directive 'loop' takes no arguments");
}

TEST(Health, DefaultsToPort8080AndIsInactive) {
  const ServerBlock block = parse_block(in_block("health"));
  EXPECT_EQ(block.health, ":8080");
  EXPECT_TRUE(inactive_names(block).empty()) << "health is active";
}

TEST(Health, TakesAnAddressAndALameduckDuration) {
  const ServerBlock block = parse_block(in_block("health 169.254.20.10:8080 {\n  lameduck 5s\n}"));
  EXPECT_EQ(block.health, "169.254.20.10:8080");
  EXPECT_EQ(block.health_lameduck, milliseconds(5'000));
}

TEST(Health, AcceptsBracketedIpv6AndLocalhost) {
  EXPECT_EQ(parse_block(in_block("health [::1]:8080")).health, "[::1]:8080");
  EXPECT_EQ(parse_block(in_block("health localhost:8080")).health, "localhost:8080");
}

TEST(Health, RejectsAnAddressWithoutAPort) {
  EXPECT_EQ(parse_error(in_block("health 169.254.20.10")),
            "Corefile:2:8: health: '169.254.20.10' is not an address with a port, such as :8080");
}

TEST(Health, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(in_block("health {\n  lame 5s\n}")),
            "Corefile:3:3: health: unknown property 'lame'");
}

TEST(Health, RejectsALameduckThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("health {\n  lameduck soon\n}")),
            "Corefile:3:12: health: 'lameduck' expects a duration such as 5s, got 'soon'");
}

TEST(Prometheus, DefaultsToLocalhost9153AndIsInactive) {
  const ServerBlock block = parse_block(in_block("prometheus"));
  EXPECT_EQ(block.prometheus, "localhost:9153");
  EXPECT_TRUE(inactive_names(block).empty()) << "prometheus is active";
}

TEST(Prometheus, TakesAPortOnlyAddress) {
  EXPECT_EQ(parse_block(in_block("prometheus :9253")).prometheus, ":9253");
}

TEST(Prometheus, RejectsTwoAddresses) {
  EXPECT_EQ(parse_error(in_block("prometheus :9253 :9254")),
            "Corefile:2:18: directive 'prometheus' expects at most 1 address");
}

TEST(Prometheus, RejectsAHostname) {
  EXPECT_EQ(parse_error(in_block("prometheus metrics.example:9253")),
            "Corefile:2:12: prometheus: 'metrics.example:9253' is not an address with a port, "
            "such as localhost:9153");
}

TEST(Log, RejectsABlockUnderClass) {
  EXPECT_EQ(parse_error(in_block("log {\n  class all {\n  }\n}")),
            "Corefile:3:13: log: 'class' does not take a block");
}

TEST(Errors, RejectsAnUnknownProperty) {
  EXPECT_EQ(parse_error(in_block("errors {\n  level warn\n}")),
            "Corefile:3:3: errors: unknown property 'level'");
}

TEST(Reload, RejectsAJitterThatIsNotADuration) {
  EXPECT_EQ(parse_error(in_block("reload 30s x")),
            "Corefile:2:12: reload: jitter expects a duration such as 15s, got 'x'");
}

TEST(Reload, RejectsABlock) {
  EXPECT_EQ(parse_error(in_block("reload {\n}")),
            "Corefile:2:8: directive 'reload' does not take a block");
}

TEST(Loop, RejectsABlock) {
  EXPECT_EQ(parse_error(in_block("loop {\n}")),
            "Corefile:2:6: directive 'loop' does not take a block");
}

TEST(Health, RejectsTwoAddresses) {
  EXPECT_EQ(parse_error(in_block("health :8080 :8081")),
            "Corefile:2:14: directive 'health' expects at most 1 address");
}

TEST(Health, RejectsALameduckWithoutExactlyOneDuration) {
  EXPECT_EQ(parse_error(in_block("health {\n  lameduck\n}")),
            "Corefile:3:3: health: 'lameduck' expects 1 argument");
  EXPECT_EQ(parse_error(in_block("health {\n  lameduck 1s 2s\n}")),
            "Corefile:3:15: health: 'lameduck' expects 1 argument");
}

TEST(Health, RejectsABlockUnderLameduck) {
  EXPECT_EQ(parse_error(in_block("health {\n  lameduck 5s {\n  }\n}")),
            "Corefile:3:15: health: 'lameduck' does not take a block");
}

TEST(Health, RejectsASecondHealth) {
  EXPECT_EQ(parse_error(in_block("health\nhealth :8081")),
            "Corefile:3:1: directive 'health' may appear only once per server block (first at "
            "Corefile:2:1)");
}

TEST(Prometheus, RejectsABlock) {
  EXPECT_EQ(parse_error(in_block("prometheus :9253 {\n}")),
            "Corefile:2:18: directive 'prometheus' does not take a block");
}

TEST(Prometheus, MayRepeatTheSameAddressInEveryBlock) {
  const Config config = testing::parse_ok("a {\n prometheus :9253\n}\nb {\n prometheus :9253\n}\n");
  ASSERT_EQ(config.blocks.size(), 2u);
  EXPECT_EQ(config.blocks[0].prometheus, config.blocks[1].prometheus);
}

TEST(Workers, DefaultsToOneLoop) {
  EXPECT_EQ(testing::parse_ok(". {\n}\n").workers, 1u);
}

TEST(Workers, TakesACountOrAuto) {
  EXPECT_EQ(testing::parse_ok(in_block("workers 4")).workers, 4u);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  ASSERT_EQ(::sched_getaffinity(0, sizeof cpus, &cpus), 0);
  EXPECT_EQ(testing::parse_ok(in_block("workers auto")).workers,
            static_cast<std::uint32_t>(CPU_COUNT(&cpus)));
}

TEST(Workers, AppliesToTheWholeProcess) {
  const Config config = testing::parse_ok("a {\n workers 2\n}\nb {\n}\n");
  EXPECT_EQ(config.workers, 2u);
  EXPECT_EQ(parse_error("a {\n workers 2\n}\nb {\n workers 3\n}\n"),
            "Corefile:5:2: workers: every block must name the same count (the loops serve the "
            "whole process), Corefile:2:2 says otherwise");
}

TEST(Workers, RejectsWhatIsNotACount) {
  EXPECT_EQ(parse_error(in_block("workers 0")),
            "Corefile:2:9: workers: expects 'auto' or a count from 1 to 64, got '0'");
  EXPECT_EQ(parse_error(in_block("workers many")),
            "Corefile:2:9: workers: expects 'auto' or a count from 1 to 64, got 'many'");
  EXPECT_EQ(parse_error(in_block("workers")),
            "Corefile:2:1: directive 'workers' expects 1 argument");
}

}  // namespace
}  // namespace holdfast::config
