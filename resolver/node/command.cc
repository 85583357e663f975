// posix_spawn with stdout and stderr on one pipe.
#include "node/command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace holdfast::node {

namespace {

std::string search_path() {
  const char* path = std::getenv("PATH");
  std::string result = path != nullptr && *path != '\0' ? path : "/usr/bin:/bin";
  return result + ":/usr/sbin:/sbin";
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const std::string path = search_path();
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return name;
}

// A pipe holding all of `input`, its write end closed: the read end, or -1 with `error` set.
int pipe_with(std::string_view input, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  while (!input.empty()) {
    const ssize_t n = ::write(fds[1], input.data(), input.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "input of " + std::to_string(input.size()) + " more bytes does not fit the pipe";
      ::close(fds[0]);
      ::close(fds[1]);
      return -1;
    }
    input.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fds[1]);
  // The program reads it with blocking reads.
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
  return fds[0];
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::string_view input) {
  CommandResult result;
  if (argv.empty()) return result;
  int in_fd = -1;
  if (!input.empty() && (in_fd = pipe_with(input, result.output)) < 0) return result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    if (in_fd >= 0) ::close(in_fd);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const std::string program = find_program(argv[0]);
  pid_t pid = -1;
  const int spawn_error =
      ::posix_spawn(&pid, program.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (in_fd >= 0) ::close(in_fd);
  if (spawn_error != 0) {
    ::close(fds[0]);
    result.output = argv[0] + ": " + std::strerror(spawn_error);
    return result;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  while (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
  return result;
}

}  // namespace holdfast::node
