// Whole-file reads for the Corefile, its imports and resolv.conf.
#include "config/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace holdfast::config {
namespace {

Result<std::string> read_error(const std::string& path, int error_number) {
  return fail("cannot read '" + path + "': " + std::strerror(error_number));
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error(path, errno);
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      ::close(fd);
      return read_error(path, error_number);
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxTextFileBytes) {
      ::close(fd);
      return fail("cannot read '" + path + "': larger than " +
                  std::to_string(kMaxTextFileBytes >> 20) + " MiB, not a configuration file");
    }
  }
  ::close(fd);
  return text;
}

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

}  // namespace holdfast::config
