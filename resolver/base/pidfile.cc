// Writing and removing the pid file.
#include "base/pidfile.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace holdfast {

Result<void> write_pidfile(const std::string& path) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << ::getpid() << '\n';
    out.close();
    if (!out) return fail("pidfile " + path + ": cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    return fail("pidfile " + path + ": " + std::strerror(error));
  }
  return {};
}

void remove_pidfile(const std::string& path) noexcept {
  std::ifstream in(path);
  long pid = 0;
  if (in >> pid && pid == static_cast<long>(::getpid())) std::remove(path.c_str());
}

}  // namespace holdfast
