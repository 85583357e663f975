// `{$NAME}` environment substitution inside Corefile tokens.
#pragma once

#include <string>
#include <string_view>

namespace holdfast::config {

// Replaces every `{$NAME}` with the value of the environment variable NAME, or with nothing when
// it is unset (CoreDNS behaviour). Applied per token after lexing, so a value with spaces stays
// one token and a value "{" is never a brace. `{$` without a closing `}` is left as it is.
std::string substitute_env(std::string_view text);

}  // namespace holdfast::config
