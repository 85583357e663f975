// Test helpers for the admin socket.
#include "observe/admin_test_util.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace holdfast::observe::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  char pattern[] = "/tmp/hfadm.XXXXXX";
  const char* made = ::mkdtemp(pattern);
  path_ = made != nullptr ? made : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

SteppedLoop::SteppedLoop() {
  uv_loop_init(&loop_);
}

SteppedLoop::~SteppedLoop() {
  run_until_idle();
  uv_loop_close(&loop_);
}

bool SteppedLoop::step_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 1);  // let the other side (a child process, the kernel) move
  }
}

void SteppedLoop::run_until_idle() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

json FakeHandler::handle(const json& request) noexcept {
  requests.push_back(request);
  if (on_request) on_request();
  if (canned) return *canned;
  const std::string cmd = request.value("cmd", "");
  if (cmd == "echo") return make_ok(request);
  if (cmd == "broken") return json::array({1, 2});
  if (cmd == "stale-mode") return make_ok({{"mode", "auto"}});
  return make_unknown_command(cmd);
}

Client::Client(const std::string& path, SteppedLoop& loop) : loop_(loop) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    connect_errno_ = errno;
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(const std::string& bytes) {
  std::size_t sent = 0;
  loop_.step_until([&] {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<std::size_t>(n);
    return sent == bytes.size() || (n < 0 && errno != EAGAIN);
  });
}

void Client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

std::optional<std::string> Client::read_line(std::chrono::milliseconds timeout) {
  std::optional<std::string> line;
  loop_.step_until(
      [&] {
        if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
          line = buffer_.substr(0, newline);
          buffer_.erase(0, newline + 1);
          return true;
        }
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
        if (n == 0 || (n < 0 && errno != EAGAIN)) eof_ = true;
        return eof_ && buffer_.find('\n') == std::string::npos;
      },
      timeout);
  return line;
}

std::optional<json> Client::read_response() {
  auto line = read_line();
  if (!line) return std::nullopt;
  return decode_line(*line);
}

bool Client::at_eof(std::chrono::milliseconds timeout) {
  return !read_line(timeout) && eof_;
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CtlRun run_holdfastctl(const std::vector<std::string>& args, SteppedLoop* loop,
                       std::optional<uid_t> as_uid) {
  TempDir output;
  ::chmod(output.path().c_str(), 0777);  // the child may run as another user
  const std::string out_path = output.file("out"), err_path = output.file("err");
  std::vector<std::string> argv_text = {HOLDFASTCTL_BIN};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    if (as_uid &&
        (::setgroups(0, nullptr) != 0 || ::setgid(*as_uid) != 0 || ::setuid(*as_uid) != 0)) {
      ::_exit(120);
    }
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (out < 0 || err < 0) ::_exit(121);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(122);
  }
  CtlRun run;
  int status = 0;
  auto exited = [&] { return ::waitpid(pid, &status, WNOHANG) == pid; };
  bool done = false;
  if (loop != nullptr) {
    done = loop->step_until(exited, std::chrono::seconds(20));
  } else {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!(done = exited()) && Clock::now() < deadline) ::poll(nullptr, 0, 1);
  }
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "holdfastctl did not exit";
    return run;
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  return run;
}

}  // namespace holdfast::observe::testing
