// The Corefile lexer: text → words and braces, each with its file, line and column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace holdfast::config {

enum class TokenKind { kWord, kOpenBrace, kCloseBrace };

struct Token {
  TokenKind kind = TokenKind::kWord;
  std::string text;  // quotes removed, \" unescaped; "{" or "}" for braces
  SourceLocation where;
  bool quoted = false;      // a quoted "{" is a word, never a brace
  bool line_start = false;  // first token on its line (a newline separates it from the previous)
};

struct TokenStream {
  std::vector<Token> tokens;
  SourceLocation end;  // just past the last character; where "unexpected end of file" points
};

// Splits Corefile text (Caddy v1 rules, as CoreDNS uses them): tokens are separated by
// whitespace; `#` starts a comment to the end of the line anywhere outside quotes; a token that
// starts with `"` runs to the next unescaped `"` and may span lines; only `\"` is an escape.
// Throws ConfigError for an unterminated quote or a brace glued to a word (`.:53{`).
TokenStream lex(std::string_view text, const std::string& file_name);

}  // namespace holdfast::config
