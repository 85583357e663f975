// ConfigError: the exception that carries one "FILE:LINE:COL: message" through config code. The
// public parse functions catch it and return it as an Error; it never leaves this module.
#pragma once

#include <stdexcept>
#include <string>

#include "config/config.h"

namespace holdfast::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "FILE:LINE:COL".
std::string format_location(const SourceLocation& where);

// Throws ConfigError("FILE:LINE:COL: message").
[[noreturn]] void fail_at(const SourceLocation& where, const std::string& message);

}  // namespace holdfast::config
