// The admin protocol's shapes and the default socket path.
#include "observe/admin_protocol.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace holdfast::observe {
namespace {

using nlohmann::json;

TEST(AdminProtocol, OkResponseCarriesTheResult) {
  EXPECT_EQ(make_ok({{"mode", "auto"}}), json::parse(R"({"ok":true,"result":{"mode":"auto"}})"));
}

TEST(AdminProtocol, ErrorResponseCarriesCodeAndMessage) {
  EXPECT_EQ(make_error(code::kNotFound, "no upstream 10.0.0.1:53"),
            json::parse(R"({"ok":false,"code":"not_found","error":"no upstream 10.0.0.1:53"})"));
  EXPECT_EQ(make_unknown_command("frobnicate")["code"], "unknown_command");
}

TEST(AdminProtocol, EncodesOneLineAndDecodesItBack) {
  json request = make_request(cmd::kLookup);
  request["name"] = "a\nb.example.";  // a newline inside a string stays escaped
  const std::string line = encode_line(request);
  ASSERT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(decode_line(std::string_view(line).substr(0, line.size() - 1)), request);
}

TEST(AdminProtocol, EncodesInvalidUtf8WithoutThrowing) {
  json response = make_ok({{"name", std::string("\xff\xfe.example.")}});
  std::string line;
  EXPECT_NO_THROW(line = encode_line(response));
  EXPECT_TRUE(decode_line(line.substr(0, line.size() - 1)));
}

TEST(AdminProtocol, DecodeRejectsWhatIsNotJson) {
  EXPECT_FALSE(decode_line("{\"cmd\":"));
  EXPECT_FALSE(decode_line("stats"));
  EXPECT_FALSE(decode_line(""));
}

TEST(AdminProtocol, RequestCommandNeedsAnObjectWithAStringCmd) {
  EXPECT_EQ(request_command(json::parse(R"({"cmd":"stats"})")), "stats");
  EXPECT_FALSE(request_command(json::parse(R"({"cmd":3})")));
  EXPECT_FALSE(request_command(json::parse(R"(["stats"])")));
  EXPECT_FALSE(request_command(json::parse(R"({"command":"stats"})")));
}

TEST(DefaultSocketPath, IsUnderRunForRoot) {
  EXPECT_EQ(default_socket_path("/var/lib/holdfast", 0, "/run/user/0"), "/run/holdfast/admin.sock");
}

TEST(DefaultSocketPath, IsInTheRuntimeDirForOtherUsers) {
  EXPECT_EQ(default_socket_path("/home/me/.local/state/holdfast", 1000, "/run/user/1000"),
            "/run/user/1000/holdfast/admin.sock");
}

TEST(DefaultSocketPath, FallsBackToTheStateDirWithoutAnAbsoluteRuntimeDir) {
  EXPECT_EQ(default_socket_path("/home/me/.local/state/holdfast", 1000, nullptr),
            "/home/me/.local/state/holdfast/admin.sock");
  EXPECT_EQ(default_socket_path("/srv/hf/", 1000, "relative"), "/srv/hf/admin.sock");
}

TEST(DefaultSocketPath, FollowsTheProcessEuid) {
  if (geteuid() != 0) GTEST_SKIP() << "checks the root case";
  EXPECT_EQ(default_socket_path("/anything"), "/run/holdfast/admin.sock");
}

}  // namespace
}  // namespace holdfast::observe
