// run_command: what the program prints, its exit code, and what it reads on standard input.
#include "node/command.h"

#include <gtest/gtest.h>

#include <string>

namespace holdfast::node {
namespace {

TEST(RunCommand, CollectsOutputAndExitCode) {
  const CommandResult result = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.output, "out\nerr");
}

TEST(RunCommand, GivesNothingOnStandardInputByDefault) {
  const CommandResult result = run_command({"wc", "-c"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output, "0");
}

TEST(RunCommand, FeedsTheInputOnStandardInput) {
  const std::string input(60000, 'x');
  const CommandResult result = run_command({"wc", "-c"}, input);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output, "60000");
  EXPECT_EQ(run_command({"cat"}, "*raw\nCOMMIT\n").output, "*raw\nCOMMIT");
}

TEST(RunCommand, RefusesInputLongerThanThePipeHolds) {
  const CommandResult result = run_command({"wc", "-c"}, std::string(1 << 20, 'x'));
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_NE(result.output.find("does not fit the pipe"), std::string::npos) << result.output;
}

TEST(RunCommand, SaysWhenTheProgramIsMissing) {
  const CommandResult result = run_command({"holdfast-no-such-program"});
  EXPECT_NE(result.exit_code, 0);
}

}  // namespace
}  // namespace holdfast::node
