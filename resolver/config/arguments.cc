// Shared argument checks for directive setups.
#include "config/arguments.h"

#include <charconv>

#include "config/config_error.h"
#include "config/duration.h"
#include "config/zone.h"

namespace holdfast::config {

void expect_no_block(const DirectiveNode& node, const std::string& who) {
  if (node.has_block) fail_at(node.block_open, who + " does not take a block");
}

void expect_no_args(const DirectiveNode& node, const std::string& who) {
  if (!node.args.empty()) fail_at(node.args.front().where, who + " takes no arguments");
}

void expect_min_args(const DirectiveNode& node, std::size_t min, const std::string& message) {
  if (node.args.size() < min) fail_at(node.name.where, message);
}

void expect_max_args(const DirectiveNode& node, std::size_t max, const std::string& message) {
  if (node.args.size() > max) fail_at(node.args[max].where, message);
}

const Token& expect_one_arg(const DirectiveNode& node, const std::string& who) {
  const std::string message = who + " expects 1 argument";
  expect_min_args(node, 1, message);
  expect_max_args(node, 1, message);
  return node.args.front();
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::int64_t expect_integer(const Token& token, std::int64_t min, std::int64_t max,
                            const std::string& description) {
  const std::optional<std::int64_t> value = parse_integer(token.text);
  if (!value || *value < min || *value > max) {
    fail_at(token.where, description + ", got '" + token.text + "'");
  }
  return *value;
}

std::chrono::milliseconds expect_duration(const Token& token, const std::string& description) {
  const std::optional<std::chrono::milliseconds> value = parse_duration(token.text);
  if (!value) fail_at(token.where, description + ", got '" + token.text + "'");
  return *value;
}

std::string expect_zone(const Token& token, const std::string& directive) {
  std::string_view text = token.text;
  if (text.starts_with("dns://")) text.remove_prefix(6);
  std::optional<std::string> zone = normalize_zone(text);
  if (!zone) fail_at(token.where, directive + ": '" + token.text + "' is not a valid zone");
  return *zone;
}

}  // namespace holdfast::config
