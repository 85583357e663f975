// Go-style durations ("30s", "1m30s", "1.5h", "100ms") as CoreDNS plugins accept them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast::config {

// time.ParseDuration without a sign: one or more NUMBER[.FRACTION]UNIT with units ns, us, µs,
// ms, s, m, h, or a bare "0". Precision is 1 ms (rounded). nullopt on any other text, a bare
// number other than 0, or a value past 100 years.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Go-like spelling for summaries: "0s", "250ms", "30s", "5m", "1h30m"; a value that is not a
// whole number of seconds prints in milliseconds ("1500ms").
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace holdfast::config
