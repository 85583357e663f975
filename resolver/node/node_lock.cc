// flock(2) on one file.
#include "node/node_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace holdfast::node {

Result<NodeLock> NodeLock::open(const std::string& path) {
  if (const std::size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    std::error_code ignored;  // the state dir; an error shows at open
    std::filesystem::create_directories(path.substr(0, slash), ignored);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot open '" + path + "': " + std::strerror(errno));
  return NodeLock(fd, path);
}

NodeLock::NodeLock(NodeLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

NodeLock& NodeLock::operator=(NodeLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

NodeLock::~NodeLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool NodeLock::try_exclusive() {
  int result;
  while ((result = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  return result == 0;
}

Result<void> NodeLock::share() {
  int result;
  while ((result = ::flock(fd_, LOCK_SH)) != 0 && errno == EINTR) {
  }
  if (result != 0) return fail("flock '" + path_ + "': " + std::strerror(errno));
  return {};
}

}  // namespace holdfast::node
