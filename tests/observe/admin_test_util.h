// Test helpers for the admin socket: a temporary directory, a loop stepped from the test's own
// thread, a fake AdminHandler, a blocking client, and running the built holdfastctl.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe/admin_protocol.h"

namespace holdfast::observe::testing {

// mkdtemp() under /tmp (short: a socket path must fit in 108 bytes); removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A uv loop that the test steps until a condition holds (fails the test after `timeout`).
class SteppedLoop {
 public:
  SteppedLoop();
  ~SteppedLoop();  // runs the loop until every handle has closed, then closes it
  uv_loop_t* get() { return &loop_; }
  bool step_until(const std::function<bool()>& done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void run_until_idle();  // uv_run(DEFAULT): returns once nothing is open

 private:
  uv_loop_t loop_{};
};

// Answers `canned` when set; else "echo" with its request, "broken" with a non-object,
// "stale-mode" with {"mode": "auto"}, anything else with unknown_command. Keeps every request.
class FakeHandler : public AdminHandler {
 public:
  nlohmann::json handle(const nlohmann::json& request) noexcept override;
  std::vector<nlohmann::json> requests;
  std::optional<nlohmann::json> canned;
  std::function<void()> on_request;  // runs inside handle(), before the answer
};

// A blocking Unix-socket client whose reads step `loop` while they wait.
class Client {
 public:
  Client(const std::string& path, SteppedLoop& loop);
  ~Client();
  bool connected() const { return fd_ >= 0; }
  int connect_errno() const { return connect_errno_; }
  void send(const std::string& bytes);  // steps the loop while the socket buffer is full
  void shutdown_write();
  // The next line (without '\n'); nullopt at EOF or after the timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::optional<nlohmann::json> read_response();
  bool at_eof(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  SteppedLoop& loop_;
  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffer_;
  bool eof_ = false;
};

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built holdfastctl with `args`, stepping `loop` (if any) until it exits. With
// `as_uid`, the child drops to that uid (and its gid) first: root only.
CtlRun run_holdfastctl(const std::vector<std::string>& args, SteppedLoop* loop,
                       std::optional<uid_t> as_uid = std::nullopt);

}  // namespace holdfast::observe::testing
