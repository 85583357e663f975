// Argument and block checks shared by the directive setups. Every failure throws ConfigError
// pointing at the offending token.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/parser.h"

namespace holdfast::config {

// `who` names the directive in messages: "directive 'loop'" or "forward: 'force_tcp'".
void expect_no_block(const DirectiveNode& node, const std::string& who);  // points at the '{'
void expect_no_args(const DirectiveNode& node, const std::string& who);   // at the first argument

// `message` is the whole text, e.g. "directive 'bind' expects at least 1 address".
void expect_min_args(const DirectiveNode& node, std::size_t min, const std::string& message);
void expect_max_args(const DirectiveNode& node, std::size_t max, const std::string& message);

// The single argument; "<who> expects 1 argument" otherwise.
const Token& expect_one_arg(const DirectiveNode& node, const std::string& who);

// Decimal integer with an optional '-'; nullopt for anything else or overflow.
std::optional<std::int64_t> parse_integer(std::string_view text);

// `description` is completed with ", got 'TEXT'", e.g. "forward: 'max_fails' expects a
// non-negative integer".
std::int64_t expect_integer(const Token& token, std::int64_t min, std::int64_t max,
                            const std::string& description);
std::chrono::milliseconds expect_duration(const Token& token, const std::string& description);

// A zone argument (a `dns://` prefix is dropped) normalised as zone.h does; otherwise
// "<directive>: 'TEXT' is not a valid zone".
std::string expect_zone(const Token& token, const std::string& directive);

}  // namespace holdfast::config
