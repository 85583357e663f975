// Token loading with `import`: lexes a Corefile, substitutes {$ENV} and inlines imported files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/lexer.h"

namespace holdfast::config {

// Lexes `text` (named `file_name` in locations), replaces {$ENV} in every word, and replaces each
// line `import FILE_OR_GLOB` with the tokens of the matching files, recursively. Relative paths
// resolve against the importing file's folder; globs expand in sorted order. Imported tokens keep
// their own file, line and column. Throws ConfigError for a missing file, an import cycle or a
// malformed import line; a glob that matches nothing adds a warning (Caddy behaviour).
TokenStream load_tokens(std::string_view text, const std::string& file_name,
                        std::vector<std::string>& warnings);

}  // namespace holdfast::config
