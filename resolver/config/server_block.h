// Internal: parsed blocks → typed ServerBlocks. Owns block keys (zones, port, duplicates) and the
// table of known directives.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/directives.h"
#include "config/parser.h"

namespace holdfast::config {

// Throws ConfigError for a bad key, mixed ports in one block, a zone+port given twice, an unknown
// directive, a directive given twice where CoreDNS allows it once, or any directive's own error.
std::vector<ServerBlock> build_server_blocks(const std::vector<BlockNode>& nodes,
                                             BuildContext& context);

// Loop safety (the `loop` directive's purpose, checked before anything starts): throws
// ConfigError at the `forward` when one of its targets is an address and port this process
// listens on for the same names — every query would come back to us.
void reject_forwarding_loops(const std::vector<ServerBlock>& blocks);

}  // namespace holdfast::config
