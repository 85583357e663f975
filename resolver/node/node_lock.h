// STATE_DIR/node.lock: every running holdfast on the node holds it shared; whoever tears the node
// setup down (an exiting instance, the guardian) holds it exclusively, so the last one out cleans
// up and a hand-over (two instances during a rolling update) never loses the rules. flock locks
// die with their process: a SIGKILLed instance never blocks anyone.
#pragma once

#include <string>

#include "base/result.h"

namespace holdfast::node {

inline constexpr const char* kNodeLockFileName = "node.lock";

class NodeLock {
 public:
  // Opens (creating it and its directories if needed) without locking.
  static Result<NodeLock> open(const std::string& path);

  NodeLock(NodeLock&& other) noexcept;
  NodeLock& operator=(NodeLock&& other) noexcept;
  NodeLock(const NodeLock&) = delete;
  NodeLock& operator=(const NodeLock&) = delete;
  ~NodeLock();  // closing the file drops whatever lock it held

  // LOCK_EX|LOCK_NB: true when no other process holds the lock in any mode.
  bool try_exclusive();
  // LOCK_SH, waiting while someone holds it exclusively (a teardown in progress).
  Result<void> share();

  const std::string& path() const { return path_; }

 private:
  NodeLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace holdfast::node
