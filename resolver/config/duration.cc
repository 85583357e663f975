// Parsing and printing of Go-style durations.
#include "config/duration.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>

namespace holdfast::config {
namespace {

struct Unit {
  std::string_view name;
  double nanoseconds;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr std::array kUnits = {
    Unit{"ns", 1.0}, Unit{"us", 1e3}, Unit{"\xC2\xB5s", 1e3}, Unit{"\xCE\xBCs", 1e3},
    Unit{"ms", 1e6}, Unit{"s", 1e9},  Unit{"m", 60e9},        Unit{"h", 3600e9},
};

constexpr double kMaxNanoseconds = 100.0 * 365 * 24 * 3600e9;

bool is_digit(char ch) {
  return std::isdigit(static_cast<unsigned char>(ch)) != 0;
}

// Reads "123", "1.5" or ".5" from the front of `text`; nullopt if there are no digits.
std::optional<double> take_number(std::string_view& text) {
  std::size_t pos = 0;
  bool any_digit = false;
  double value = 0;
  for (; pos < text.size() && is_digit(text[pos]); ++pos, any_digit = true) {
    value = value * 10 + (text[pos] - '0');
  }
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    for (++pos; pos < text.size() && is_digit(text[pos]); ++pos, any_digit = true, scale /= 10) {
      value += (text[pos] - '0') * scale;
    }
  }
  if (!any_digit) return std::nullopt;
  text.remove_prefix(pos);
  return value;
}

std::optional<double> take_unit(std::string_view& text) {
  for (const Unit& unit : kUnits) {
    if (!text.starts_with(unit.name)) continue;
    const std::string_view rest = text.substr(unit.name.size());
    // A unit is followed by the next number or by the end: "5mx" is not "5m" plus noise.
    if (!rest.empty() && !is_digit(rest.front()) && rest.front() != '.') continue;
    text = rest;
    return unit.nanoseconds;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return std::nullopt;
  double total_ns = 0;
  while (!text.empty()) {
    const std::optional<double> number = take_number(text);
    if (!number) return std::nullopt;
    const std::optional<double> unit_ns = take_unit(text);
    if (!unit_ns) return std::nullopt;
    total_ns += *number * *unit_ns;
    if (total_ns > kMaxNanoseconds) return std::nullopt;
  }
  // Rounded, not truncated: "0.3s" must not become 299 ms through binary fractions.
  return std::chrono::milliseconds(std::llround(total_ns / 1e6));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  std::int64_t seconds = ms / 1000;
  std::string out;
  if (seconds >= 3600) {
    out += std::to_string(seconds / 3600) + "h";
    seconds %= 3600;
  }
  if (seconds >= 60) {
    out += std::to_string(seconds / 60) + "m";
    seconds %= 60;
  }
  if (seconds > 0) out += std::to_string(seconds) + "s";
  return out;
}

}  // namespace holdfast::config
