// Formatting of source locations and the one place ConfigError is thrown.
#include "config/config_error.h"

namespace holdfast::config {

std::string format_location(const SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

void fail_at(const SourceLocation& where, const std::string& message) {
  throw ConfigError(format_location(where) + ": " + message);
}

}  // namespace holdfast::config
