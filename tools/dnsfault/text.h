// The small lexical pieces shared by rules, schedules, names files and flags: shell-like
// tokenising, durations ("10s", "500ms"), numbers and "HOST:PORT" addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace holdfast::dnsfault {

// Splits a line into tokens on blanks; an unquoted `;` is a token of its own (it separates rules).
// Single and double quotes group (and are removed, as in a
// shell); a `#` at the start of a token begins a comment that runs to the end of the line.
// Errors on an unterminated quote.
Result<std::vector<std::string>> tokenize(std::string_view line);

// The whole file (rules, schedules, names); "cannot read PATH" otherwise.
Result<std::string> read_file(const std::string& path);

// Concatenation without `"literal" + std::string`, which trips g++ 12's -Wrestrict (bug 105329).
std::string cat(std::initializer_list<std::string_view> parts);

// Quotes a token for display when tokenize() would not give it back unchanged, or when a shell
// would expand it (`*`, `?`).
std::string quote_token(std::string_view token);

// "250ms", "10s", "1.5s", "2m", "1h", or a bare number of seconds ("90"). Not negative.
Result<std::uint64_t> parse_duration_ms(std::string_view text);

// "10s", "1.5s", "250ms": the shortest exact form of a duration.
std::string format_duration_ms(std::uint64_t ms);

// A finite decimal number (the whole text), nullopt otherwise.
std::optional<double> parse_double(std::string_view text);

// An unsigned integer in [0, max] (the whole text), nullopt otherwise.
std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max);

struct HostPort {
  std::string host;  // numeric IPv4 or IPv6, without brackets
  unsigned port = 0;
};

// "127.0.0.1:53", "[::1]:53". The host must be a numeric address; the port 1..65535.
Result<HostPort> parse_host_port(std::string_view text);

// parse_host_port + a socket address.
Result<sockaddr_storage> parse_socket_address(std::string_view text);

// True for 127.0.0.0/8 and ::1.
bool is_loopback(const sockaddr* addr) noexcept;

}  // namespace holdfast::dnsfault
