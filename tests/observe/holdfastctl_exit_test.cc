// The built holdfastctl against a real AdminSocket (or none): exit codes and messages.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "observe/admin_socket.h"
#include "observe/admin_test_util.h"

namespace holdfast::observe {
namespace {

using testing::FakeHandler;
using testing::run_holdfastctl;
using testing::SteppedLoop;
using testing::TempDir;

// A listening socket that the test serves by hand (or not at all).
int listen_raw(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  return fd;
}

class HoldfastctlExit : public ::testing::Test {
 protected:
  void open_daemon() {
    auto opened = AdminSocket::open(loop_.get(), path_, handler_);
    ASSERT_TRUE(opened) << opened.error().message;
    socket_ = std::move(*opened);
  }
  testing::CtlRun run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", path_});
    return run_holdfastctl(args, &loop_);
  }

  TempDir dir_;
  std::string path_ = dir_.file("admin.sock");
  SteppedLoop loop_;
  FakeHandler handler_;
  std::unique_ptr<AdminSocket> socket_;
};

TEST_F(HoldfastctlExit, NoSocketIsThree) {
  auto run = this->run({"stats"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.err, "holdfastctl: holdfast is not running (no socket at " + path_ + ")\n");
}

TEST_F(HoldfastctlExit, ASocketNobodyListensOnIsThree) {
  ::close(listen_raw(path_));  // bound, then closed without unlinking
  auto run = this->run({"stats"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("holdfast is not running"), std::string::npos) << run.err;
}

TEST_F(HoldfastctlExit, AnOkAnswerIsZeroAndPrintsTheResult) {
  open_daemon();
  auto run = this->run({"stale-mode"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "stale mode: auto\n");
  ASSERT_EQ(handler_.requests.size(), 1u);
  EXPECT_EQ(handler_.requests[0], nlohmann::json::parse(R"({"cmd":"stale-mode"})"));
  auto json_run = this->run({"stale-mode", "--json"});
  EXPECT_EQ(json_run.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(json_run.out), nlohmann::json::parse(R"({"mode":"auto"})"));
}

TEST_F(HoldfastctlExit, AnErrorAnswerIsOne) {
  open_daemon();
  auto run = this->run({"stats"});  // the fake handler knows no "stats"
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "holdfastctl: unknown command 'stats' (unknown_command)\n");
  handler_.canned = make_error(code::kNotFound, "no upstream 10.9.9.9:53");
  auto json_run = this->run({"--json", "upstream", "down", "10.9.9.9:53"});
  EXPECT_EQ(json_run.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(json_run.out), *handler_.canned);  // for scripts
}

TEST_F(HoldfastctlExit, AForbiddenAnswerIsFour) {
  open_daemon();
  handler_.canned = make_error(code::kForbidden, "uid 1234 may not use this socket");
  auto run = this->run({"stats"});
  EXPECT_EQ(run.exit_code, 4);
  EXPECT_NE(run.err.find("permission denied: uid 1234 may not use this socket (only root and the "
                         "user holdfast runs as may use " +
                         path_ + ")"),
            std::string::npos)
      << run.err;
}

TEST_F(HoldfastctlExit, NoAnswerInTimeIsFive) {
  const int fd = listen_raw(path_);  // accepts into the backlog, never answers
  auto run = this->run({"--timeout", "0.2", "stats"});
  ::close(fd);
  EXPECT_EQ(run.exit_code, 5);
  EXPECT_NE(run.err.find("no answer from holdfast within 200 ms"), std::string::npos) << run.err;
}

TEST_F(HoldfastctlExit, AnAnswerThatIsNoResponseIsFive) {
  const int fd = listen_raw(path_);
  std::thread server([fd] {
    const int client = ::accept(fd, nullptr, nullptr);
    const char reply[] = "hello\n";
    [[maybe_unused]] auto sent = ::write(client, reply, sizeof(reply) - 1);
    ::close(client);
  });
  auto run = this->run({"stats"});
  server.join();
  ::close(fd);
  EXPECT_EQ(run.exit_code, 5);
  EXPECT_NE(run.err.find("not a response: hello"), std::string::npos) << run.err;
}

TEST_F(HoldfastctlExit, EaccesOnConnectIsFourAndSaysWhoMay) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run holdfastctl as uid 65534";
  open_daemon();
  ::chmod(dir_.path().c_str(), 0755);  // the directory may be entered; the 0600 socket may not
  auto run = run_holdfastctl({"--socket", path_, "stats"}, &loop_, 65534);
  EXPECT_EQ(run.exit_code, 4) << run.err;
  EXPECT_NE(run.err.find("only root and uid 0 (the user holdfast runs as) may use it; you are uid "
                         "65534"),
            std::string::npos)
      << run.err;
  EXPECT_TRUE(handler_.requests.empty());
}

}  // namespace
}  // namespace holdfast::observe
