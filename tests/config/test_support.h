// Helpers for the config tests: a temporary folder that removes itself, and shortcuts that parse
// Corefile text and hand back the config, its only block, or the error message.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "config/config.h"

namespace holdfast::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "holdfast-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& name) const { return root_ + "/" + name; }

  // Writes `text` to ROOT/name (creating folders) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string full = path(name);
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    std::ofstream(full, std::ios::binary) << text;
    return full;
  }

 private:
  std::string root_;
};

// The error message of parsing `text` as file "Corefile", or "" when it parses.
inline std::string parse_error(const std::string& text, const ParseOptions& options = {}) {
  Result<Config> result = parse_corefile_text(text, "Corefile", options);
  return result ? std::string() : result.error().message;
}

inline Config parse_ok(const std::string& text, const ParseOptions& options = {}) {
  Result<Config> result = parse_corefile_text(text, "Corefile", options);
  if (!result) {
    ADD_FAILURE() << result.error().message;
    return {};
  }
  return *result;
}

// The single server block of `text`; a default block (and a test failure) otherwise.
inline ServerBlock parse_block(const std::string& text, const ParseOptions& options = {}) {
  Config config = parse_ok(text, options);
  if (config.blocks.size() != 1) {
    ADD_FAILURE() << "expected 1 server block, got " << config.blocks.size();
    return {};
  }
  return config.blocks.front();
}

}  // namespace holdfast::config::testing
