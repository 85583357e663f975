// A file descriptor closed when its owner goes: the one RAII wrapper for raw fds.
#pragma once

#include <unistd.h>

#include <utility>

namespace holdfast {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const noexcept { return fd_; }
  // Gives the fd up: the caller closes it from now on.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace holdfast
