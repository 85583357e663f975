// AdminSocket on a real loop, stepped from the test's thread, with a fake handler.
#include "observe/admin_socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "observe/admin_test_util.h"

namespace holdfast::observe {
namespace {

using nlohmann::json;
using testing::Client;
using testing::FakeHandler;
using testing::SteppedLoop;
using testing::TempDir;

class AdminSocketTest : public ::testing::Test {
 protected:
  std::unique_ptr<AdminSocket> open_socket(AdminSocketOptions options = {}) {
    auto socket = AdminSocket::open(loop_.get(), path_, handler_, options);
    EXPECT_TRUE(socket) << (socket ? "" : socket.error().message);
    return socket ? std::move(*socket) : nullptr;
  }

  TempDir dir_;
  std::string path_ = dir_.file("run/holdfast/admin.sock");
  SteppedLoop loop_;
  FakeHandler handler_;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Leaves a socket file behind, as a process killed before it could unlink does.
void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
}

TEST_F(AdminSocketTest, AnswersSeveralRequestsOnOneConnectionInOrder) {
  auto socket = open_socket();
  Client client(path_, loop_);
  ASSERT_TRUE(client.connected());
  client.send(R"({"cmd":"echo","n":1})"
              "\n"
              R"({"cmd":"echo","n":2})"
              "\n"
              R"({"cmd":"nope"})"
              "\n");
  for (int n = 1; n <= 2; ++n) {
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ((*response)["ok"], true);
    EXPECT_EQ((*response)["result"]["n"], n);
  }
  auto unknown = client.read_response();
  ASSERT_TRUE(unknown);
  EXPECT_EQ((*unknown)["ok"], false);
  EXPECT_EQ((*unknown)["code"], "unknown_command");
  client.send(R"({"cmd":"echo","n":3})"
              "\n");  // still open for more
  auto third = client.read_response();
  ASSERT_TRUE(third);
  EXPECT_EQ((*third)["result"]["n"], 3);
  EXPECT_EQ(handler_.requests.size(), 4u);
}

TEST_F(AdminSocketTest, AnswersInvalidJsonWithBadRequestAndCloses) {
  auto socket = open_socket();
  Client client(path_, loop_);
  client.send("{\"cmd\": \n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["code"], "bad_request");
  EXPECT_TRUE(client.at_eof());
  EXPECT_TRUE(handler_.requests.empty());
  EXPECT_EQ(socket->counters().bad_requests, 1u);
}

TEST_F(AdminSocketTest, AnswersAnOversizedLineWithBadRequestAndCloses) {
  auto socket = open_socket();
  Client client(path_, loop_);
  client.send(R"({"cmd":"echo","pad":")" + std::string(kMaxLineBytes + 10, 'x'));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["code"], "bad_request");
  EXPECT_NE((*response)["error"].get<std::string>().find("65536"), std::string::npos);
  EXPECT_TRUE(client.at_eof());
  EXPECT_TRUE(handler_.requests.empty());
}

TEST_F(AdminSocketTest, KeepsTheConnectionAfterJsonThatIsNoRequest) {
  auto socket = open_socket();
  Client client(path_, loop_);
  client.send("[1, 2]\n\n{\"cmd\":\"echo\"}\n");
  auto rejected = client.read_response();
  ASSERT_TRUE(rejected);
  EXPECT_EQ((*rejected)["code"], "bad_request");
  auto answered = client.read_response();  // the blank line got no answer
  ASSERT_TRUE(answered);
  EXPECT_EQ((*answered)["ok"], true);
}

TEST_F(AdminSocketTest, AnswersALastLineWithoutNewlineWhenTheClientHalfCloses) {
  auto socket = open_socket();
  Client client(path_, loop_);
  client.send(R"({"cmd":"echo","n":7})");
  client.shutdown_write();
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["result"]["n"], 7);
  EXPECT_TRUE(client.at_eof());
}

TEST_F(AdminSocketTest, ReplacesAResponseThatIsNoObjectWithAnInternalError) {
  auto socket = open_socket();
  Client client(path_, loop_);
  client.send("{\"cmd\":\"broken\"}\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["code"], "internal");
}

TEST_F(AdminSocketTest, CreatesTheDirectory0700AndTheSocket0600) {
  auto socket = open_socket();
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_TRUE(S_ISSOCK([&] {
    struct stat st {};
    ::lstat(path_.c_str(), &st);
    return st.st_mode;
  }()));
  EXPECT_EQ(mode_of(dir_.file("run/holdfast")), 0700u);
  EXPECT_EQ(mode_of(dir_.file("run")), 0700u);
}

TEST_F(AdminSocketTest, LeavesTheModeOfAnExistingDirectoryAlone) {
  ::mkdir(dir_.file("shared").c_str(), 0755);
  ::chmod(dir_.file("shared").c_str(), 0755);
  path_ = dir_.file("shared/admin.sock");
  auto socket = open_socket();
  EXPECT_EQ(mode_of(dir_.file("shared")), 0755u);
}

TEST_F(AdminSocketTest, ReplacesAStaleSocketFile) {
  path_ = dir_.file("admin.sock");
  make_stale_socket(path_);
  auto socket = open_socket();
  ASSERT_TRUE(socket);
  Client client(path_, loop_);
  client.send("{\"cmd\":\"echo\"}\n");
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], true);
}

TEST_F(AdminSocketTest, RefusesAPathWhereALiveProcessListens) {
  auto first = open_socket();
  FakeHandler other;
  auto second = AdminSocket::open(loop_.get(), path_, other);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("already listening on " + path_), std::string::npos)
      << second.error().message;
  Client client(path_, loop_);  // the first one still answers
  client.send("{\"cmd\":\"echo\"}\n");
  ASSERT_TRUE(client.read_response());
}

TEST_F(AdminSocketTest, RefusesAPathThatIsNoSocket) {
  path_ = dir_.file("admin.sock");
  std::ofstream(path_) << "precious";
  auto socket = AdminSocket::open(loop_.get(), path_, handler_);
  ASSERT_FALSE(socket);
  EXPECT_NE(socket.error().message.find("is not a socket"), std::string::npos);
}

TEST_F(AdminSocketTest, RefusesAPathTooLongForAUnixSocket) {
  path_ = dir_.file(std::string(120, 'a'));
  auto socket = AdminSocket::open(loop_.get(), path_, handler_);
  ASSERT_FALSE(socket);
  EXPECT_NE(socket.error().message.find("too long"), std::string::npos);
}

TEST_F(AdminSocketTest, CloseUnlinksTheSocketAndClosesConnections) {
  auto socket = open_socket();
  Client client(path_, loop_);
  ASSERT_TRUE(loop_.step_until([&] { return socket->connections() == 1; }));
  socket->close();
  struct stat st {};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
  socket.reset();          // handles are freed by their close callbacks, not by the object
  loop_.run_until_idle();  // returns only once every handle has closed
  EXPECT_TRUE(client.at_eof());
}

TEST_F(AdminSocketTest, CloseLeavesASocketFileThatIsNoLongerOurs) {
  auto socket = open_socket();
  ::unlink(path_.c_str());
  make_stale_socket(path_);  // a successor's socket at the same path
  socket->close();
  struct stat st {};
  EXPECT_EQ(::lstat(path_.c_str(), &st), 0);
}

TEST_F(AdminSocketTest, ClosesIdleConnections) {
  auto socket = open_socket({.max_connections = 16, .idle_timeout = std::chrono::milliseconds(20)});
  Client client(path_, loop_);
  EXPECT_TRUE(client.at_eof());
  EXPECT_EQ(socket->counters().idle_closed, 1u);
}

TEST_F(AdminSocketTest, AnswersBusyOverTheConnectionCap) {
  auto socket = open_socket({.max_connections = 2, .idle_timeout = std::chrono::seconds(30)});
  Client first(path_, loop_);
  Client second(path_, loop_);
  ASSERT_TRUE(loop_.step_until([&] { return socket->connections() == 2; }));
  Client third(path_, loop_);
  auto response = third.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["code"], "busy");
  EXPECT_TRUE(third.at_eof());
  first.send("{\"cmd\":\"echo\"}\n");  // the others are served
  ASSERT_TRUE(first.read_response());
}

TEST_F(AdminSocketTest, SurvivesAHandlerThatClosesTheSocket) {
  auto socket = open_socket();
  handler_.on_request = [&] { socket->close(); };
  Client client(path_, loop_);
  client.send("{\"cmd\":\"echo\"}\n");
  EXPECT_TRUE(client.at_eof());
}

// SO_PEERCRED: a process of another user that reaches the socket (here: its modes loosened on
// purpose) gets one "forbidden" line and nothing else.
TEST_F(AdminSocketTest, ForbidsAPeerThatIsNeitherRootNorOurUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a client as uid 65534";
  auto socket = open_socket();
  for (const std::string& dir : {dir_.path(), dir_.file("run"), dir_.file("run/holdfast")}) {
    ::chmod(dir.c_str(), 0755);
  }
  ::chmod(path_.c_str(), 0666);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(10);
    SteppedLoop unused;  // the child only reads; it never steps the parent's loop
    Client client(path_, unused);
    if (!client.connected()) _exit(11);
    client.send("{\"cmd\":\"echo\"}\n");
    auto response = client.read_response();
    if (!response) _exit(12);
    if ((*response)["code"] != "forbidden") _exit(13);
    if ((*response)["error"] != "uid 65534 may not use this socket") _exit(14);
    _exit(client.at_eof() ? 0 : 15);
  }
  int status = -1;
  ASSERT_TRUE(loop_.step_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(handler_.requests.empty());
  EXPECT_EQ(socket->counters().forbidden, 1u);
}

}  // namespace
}  // namespace holdfast::observe
