// fork, forward signals, waitpid, and the clean-up after an abnormal death.
#include "node/guardian.h"

#include <fcntl.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigaction and kill are POSIX
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "node/iptables.h"
#include "node/link.h"
#include "node/node_lock.h"

namespace holdfast::node {

namespace {

constexpr char kCleanExit = 'c';
volatile sig_atomic_t g_daemon_pid = 0;

extern "C" void forward_signal(int signum) {
  if (g_daemon_pid > 0) ::kill(static_cast<pid_t>(g_daemon_pid), signum);
}

// After the daemon died without the byte: wait, then clean up unless another instance runs.
void clean_up_after(const NodePlan& plan, std::chrono::milliseconds grace) {
  std::this_thread::sleep_for(grace);
  auto lock = NodeLock::open(plan.lock_path);
  if (!lock) {
    spdlog::error("guardian: {}; leaving the interface and rules in place", lock.error().message);
    return;
  }
  if (!lock->try_exclusive()) {
    spdlog::info("guardian: another holdfast holds {}: leaving the interface and rules in place",
                 plan.lock_path);
    return;
  }
  // Held exclusively until the process exits: an instance starting now waits for the clean-up.
  const auto started = std::chrono::steady_clock::now();
  SetupReport report;
  const ModeChoice mode = plan.setup_iptables ? detect_iptables_mode() : ModeChoice{};
  remove_rules_step(plan, mode.mode, report);
  if (plan.setup_interface) {
    if (auto removed = remove_addresses(plan.interface_name, plan.local_ips); !removed) {
      report.errors.emplace_back(SetupError::kInterfaceCheck, removed.error().message);
    }
  }
  for (const auto& [kind, message] : report.errors) spdlog::error("guardian: {}", message);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::warn(
      "guardian: the daemon died without teardown and no holdfast runs on this node: removed "
      "{} iptables rules ({}) and the addresses of {} in {} ms; DNS to the local IPs goes to "
      "kube-dns until holdfast is back",
      plan.setup_iptables ? plan.rules.size() : 0, mode_name(mode.mode), plan.interface_name,
      elapsed.count());
}

[[noreturn]] void run_guardian(pid_t daemon, int read_fd, const NodePlan& plan,
                               std::chrono::milliseconds grace) {
  ::prctl(PR_SET_NAME, "holdfast-guard", 0, 0, 0);
  g_daemon_pid = daemon;
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  for (int signum : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
    ::sigaction(signum, &action, nullptr);
  }
  int status = 0;
  for (;;) {
    // -1: as a container's init the guardian also reaps orphans.
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid == daemon) break;
    if (pid < 0 && errno == ECHILD) break;
  }
  g_daemon_pid = 0;
  char byte = 0;
  ssize_t n;
  while ((n = ::read(read_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  const bool clean = n == 1 && byte == kCleanExit;
  const int code = WIFEXITED(status)     ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : 1;
  if (!clean) {
    if (WIFSIGNALED(status)) {
      spdlog::error("guardian: holdfast (pid {}) was killed by signal {}", daemon,
                    WTERMSIG(status));
    } else {
      spdlog::error("guardian: holdfast (pid {}) exited with {} without teardown", daemon, code);
    }
    clean_up_after(plan, grace);
  }
  std::_Exit(code);
}

}  // namespace

GuardianLink::GuardianLink(GuardianLink&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

GuardianLink& GuardianLink::operator=(GuardianLink&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

GuardianLink::~GuardianLink() {
  if (fd_ >= 0) ::close(fd_);
}

void GuardianLink::clean_exit() {
  if (fd_ < 0) return;
  while (::write(fd_, &kCleanExit, 1) < 0 && errno == EINTR) {
  }
  ::close(fd_);
  fd_ = -1;
}

Result<GuardianLink> start_guardian(const NodePlan& plan, std::chrono::milliseconds grace) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  const pid_t guardian = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(std::string("fork: ") + std::strerror(errno));
  }
  if (child > 0) {
    ::close(fds[1]);
    run_guardian(child, fds[0], plan, grace);
  }
  ::close(fds[0]);
  // A process group of its own: a terminal's Ctrl-C reaches the guardian only, which forwards it
  // once (two SIGINTs could outlive the daemon's handler and kill it mid-teardown).
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  if (::getppid() != guardian) ::raise(SIGTERM);  // the guardian died before prctl
  spdlog::info("guardian pid {} watches this daemon (pid {})", guardian, ::getpid());
  return GuardianLink(fds[1]);
}

}  // namespace holdfast::node
