// `{$NAME}` environment substitution.
#include "config/env.h"

#include <cstdlib>

namespace holdfast::config {

std::string substitute_env(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = text.find("{$", pos);
    if (start == std::string_view::npos) break;
    const std::size_t end = text.find('}', start + 2);
    if (end == std::string_view::npos) break;
    out.append(text.substr(pos, start - pos));
    const std::string name(text.substr(start + 2, end - start - 2));
    if (name.empty()) {
      out.append("{$}");
    } else if (const char* value = std::getenv(name.c_str())) {
      out.append(value);
    }
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace holdfast::config
