// The Corefile parser: tokens → server blocks holding a generic tree of directives. Knows the
// grammar (keys, braces, lines), not what any directive means.
#pragma once

#include <vector>

#include "config/lexer.h"

namespace holdfast::config {

// `name args... [{ children, one per line }]`.
struct DirectiveNode {
  Token name;
  std::vector<Token> args;
  bool has_block = false;
  SourceLocation block_open;  // the `{`, when has_block
  std::vector<DirectiveNode> children;
};

// `KEY [KEY...] { directives }`; keys keep their text as written (a trailing ',' removed).
struct BlockNode {
  std::vector<Token> keys;
  SourceLocation open_brace;
  std::vector<DirectiveNode> directives;
};

// A directive line ends at the newline; a `{` at its end opens its block. A `}` ends the
// directive and closes the enclosing block, so `. { errors }` on one line works. Keys end at the
// `{` on their line; a key ending in ',' continues on the next line (Caddy). Throws ConfigError
// for unbalanced braces, a `{` on a line of its own, keys without a block.
std::vector<BlockNode> parse_blocks(const TokenStream& stream);

}  // namespace holdfast::config
