// holdfastctl's command line: the request each command sends.
#include "holdfastctl/command_line.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace holdfast::ctl {
namespace {

using nlohmann::json;

std::variant<Invocation, int> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "holdfastctl");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

json request_of(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  if (const int* status = std::get_if<int>(&parsed)) {
    ADD_FAILURE() << "usage error, exit " << *status;
    return {};
  }
  return std::get<Invocation>(parsed).request;
}

int exit_of(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  const int* status = std::get_if<int>(&parsed);
  return status != nullptr ? *status : -1;
}

TEST(CommandLine, LookupDefaultsToTypeAAndUppercasesTheType) {
  EXPECT_EQ(request_of({"lookup", "example.com"}),
            json::parse(R"({"cmd":"lookup","name":"example.com","type":"A"})"));
  EXPECT_EQ(request_of({"lookup", "example.com", "aaaa"})["type"], "AAAA");
}

TEST(CommandLine, FlushTakesExactlyOneOfNameZoneAll) {
  EXPECT_EQ(request_of({"flush", "a.example."}),
            json::parse(R"({"cmd":"flush","name":"a.example."})"));
  EXPECT_EQ(request_of({"flush", "--zone", "example."}),
            json::parse(R"({"cmd":"flush","zone":"example."})"));
  EXPECT_EQ(request_of({"flush", "--all"}), json::parse(R"({"cmd":"flush","all":true})"));
  EXPECT_EQ(exit_of({"flush"}), 2);
  EXPECT_EQ(exit_of({"flush", "a.", "--all"}), 2);
}

TEST(CommandLine, DumpStaleModeAndUpstreamCarryTheirArguments) {
  EXPECT_EQ(request_of({"dump"}), json::parse(R"({"cmd":"dump","stale":false})"));
  EXPECT_EQ(request_of({"dump", "--stale", "--zone", "svc."}),
            json::parse(R"({"cmd":"dump","stale":true,"zone":"svc."})"));
  EXPECT_EQ(request_of({"stale-mode"}), json::parse(R"({"cmd":"stale-mode"})"));
  EXPECT_EQ(request_of({"stale-mode", "force"}),
            json::parse(R"({"cmd":"stale-mode","mode":"force"})"));
  EXPECT_EQ(exit_of({"stale-mode", "sometimes"}), 2);
  EXPECT_EQ(request_of({"upstream", "list"}), json::parse(R"({"cmd":"upstream","action":"list"})"));
  EXPECT_EQ(request_of({"upstream", "down", "10.0.0.1:53"}),
            json::parse(R"({"cmd":"upstream","action":"down","address":"10.0.0.1:53"})"));
  EXPECT_EQ(exit_of({"upstream"}), 2);
  EXPECT_EQ(request_of({"pin", "a.", "mx"}),
            json::parse(R"({"cmd":"pin","name":"a.","type":"MX"})"));
  EXPECT_EQ(exit_of({"unpin", "a."}), 2);
}

TEST(CommandLine, SnapshotFilesAreMadeAbsolute) {
  const std::string expected = (std::filesystem::current_path() / "snap.bin").string();
  EXPECT_EQ(request_of({"snapshot", "export", "snap.bin"}),
            json({{"cmd", "snapshot-export"}, {"file", expected}}));
  EXPECT_EQ(request_of({"snapshot", "import", "./x/../snap.bin"})["file"], expected);
}

TEST(CommandLine, GlobalOptionsMayFollowTheCommand) {
  auto parsed = parse({"stats", "--json", "--socket", "/tmp/a.sock", "--timeout", "0.5"});
  ASSERT_TRUE(std::holds_alternative<Invocation>(parsed));
  const Invocation& invocation = std::get<Invocation>(parsed);
  EXPECT_TRUE(invocation.json_output);
  EXPECT_TRUE(invocation.socket_given);
  EXPECT_EQ(invocation.socket_path, "/tmp/a.sock");
  EXPECT_EQ(invocation.timeout, std::chrono::milliseconds(500));
}

TEST(CommandLine, HelpExitsZeroAndNoCommandIsAUsageError) {
  EXPECT_EQ(exit_of({"--help"}), 0);
  EXPECT_EQ(exit_of({}), 2);
  EXPECT_EQ(exit_of({"frobnicate"}), 2);
}

}  // namespace
}  // namespace holdfast::ctl
