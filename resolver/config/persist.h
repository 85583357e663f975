// Internal: the store-wide settings: `persist` in any block, merged into Config::persist.
#pragma once

#include <vector>

#include "config/config.h"

namespace holdfast::config {

// The one PersistConfig of the process: the blocks' `persist` directives (which must agree) or
// the defaults, with the default directory resolved. Throws ConfigError on a conflict.
PersistConfig resolve_persist(const std::vector<ServerBlock>& blocks, const ParseOptions& options);

// /var/lib/holdfast for root, else $XDG_STATE_HOME/holdfast, else ~/.local/state/holdfast.
std::string default_persist_dir();

// "1GiB", "512MiB", "8MB", "65536": bytes; nullopt for anything else.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace holdfast::config
