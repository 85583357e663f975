// The guardian: a tiny process that outlives a SIGKILLed (OOM-killed) daemon and takes the
// node-local IPs and NOTRACK rules away, so DNS to them falls back to kube-dns through kube-proxy
// instead of being black-holed (node-local-dns issue #438).
//
// The guardian is the parent and the daemon its child: in a container the first process is the
// PID namespace's init, and when init dies the kernel kills every other process in the namespace,
// so a guardian child of a killed daemon would die with it. The guardian forwards SIGTERM, SIGINT,
// SIGHUP, SIGUSR1 and SIGUSR2 to the daemon, reaps orphans, and exits with the daemon's status
// (128+signal when it was killed). The daemon runs in a process group of its own and gets SIGTERM
// if the guardian dies (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>

#include "base/result.h"
#include "node/node_plan.h"

namespace holdfast::node {

// The daemon's end: a pipe whose write end only the daemon holds. EOF without the byte written by
// clean_exit() means the daemon died without tearing down (or chose not to start).
class GuardianLink {
 public:
  explicit GuardianLink(int fd = -1) : fd_(fd) {}
  GuardianLink(GuardianLink&& other) noexcept;
  GuardianLink& operator=(GuardianLink&& other) noexcept;
  GuardianLink(const GuardianLink&) = delete;
  GuardianLink& operator=(const GuardianLink&) = delete;
  ~GuardianLink();

  // The daemon has tore down what it should (or was told to leave it): the guardian only exits.
  void clean_exit();

 private:
  int fd_ = -1;
};

// Forks. Must run before any thread or loop handle exists. In the child (the daemon) it returns
// the link; the parent becomes the guardian and never returns. `grace` is how long it waits
// before looking at node.lock, so an instance restarted at once can take its shared lock.
Result<GuardianLink> start_guardian(const NodePlan& plan, std::chrono::milliseconds grace);

}  // namespace holdfast::node
