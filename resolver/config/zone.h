// Zone names as the config stores them: presentation form, lower-case, ending in '.'.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace holdfast::config {

// "Cluster.Local" → "cluster.local.", "." and "" → ".". nullopt for an empty label, a label
// over 63 bytes, a name over 253 characters, or whitespace, '/', ':', '[', ']', '@' or a quote.
std::optional<std::string> normalize_zone(std::string_view text);

}  // namespace holdfast::config
