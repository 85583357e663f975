// The Corefile lexer: words, quoted strings and braces with their positions; comments dropped.
#include "config/lexer.h"

#include <cstddef>

#include "config/config_error.h"

namespace holdfast::config {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Walks the text one byte at a time, keeping the 1-based line and column of the next byte.
class Cursor {
 public:
  Cursor(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }
  SourceLocation location() const { return {file_, line_, column_}; }

 private:
  std::string_view text_;
  const std::string& file_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

bool is_blank(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

bool ends_word(char ch) {
  return is_blank(ch) || ch == '\n' || ch == '#';
}

std::string read_quoted(Cursor& cursor) {
  const SourceLocation start = cursor.location();
  cursor.advance();  // the opening quote
  std::string text;
  while (!cursor.done()) {
    const char ch = cursor.peek();
    if (ch == '\\' && cursor.peek(1) == '"') {
      text += '"';
      cursor.advance();
      cursor.advance();
      continue;
    }
    cursor.advance();
    if (ch == '"') return text;
    text += ch;
  }
  fail_at(start, "unterminated quoted string");
}

std::string read_word(Cursor& cursor) {
  std::string text;
  while (!cursor.done() && !ends_word(cursor.peek())) {
    text += cursor.peek();
    cursor.advance();
  }
  return text;
}

void skip_comment(Cursor& cursor) {
  while (!cursor.done() && cursor.peek() != '\n') cursor.advance();
}

// `.:53{` or `errors}` is one word to Caddy, and the brace silently goes missing; say so instead.
// A word that holds a `{` before its closing `}` is a placeholder ({$ENV}, {combined}) and fine.
void classify(Token& token) {
  if (token.quoted) return;
  const std::string& text = token.text;
  if (text == "{") {
    token.kind = TokenKind::kOpenBrace;
  } else if (text == "}") {
    token.kind = TokenKind::kCloseBrace;
  } else if (text.ends_with('{')) {
    fail_at(token.where, "missing space before '{' in '" + text + "'");
  } else if (text.ends_with('}') && text.find('{') == std::string::npos) {
    fail_at(token.where, "missing space before '}' in '" + text + "'");
  }
}

}  // namespace

TokenStream lex(std::string_view text, const std::string& file_name) {
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  Cursor cursor(text, file_name);
  TokenStream stream;
  bool after_newline = true;
  while (!cursor.done()) {
    const char ch = cursor.peek();
    if (ch == '\n') {
      after_newline = true;
      cursor.advance();
    } else if (is_blank(ch)) {
      cursor.advance();
    } else if (ch == '#') {
      skip_comment(cursor);
    } else {
      Token token;
      token.where = cursor.location();
      token.line_start = after_newline;
      token.quoted = ch == '"';
      token.text = token.quoted ? read_quoted(cursor) : read_word(cursor);
      classify(token);
      stream.tokens.push_back(std::move(token));
      after_newline = false;
    }
  }
  stream.end = cursor.location();
  return stream;
}

}  // namespace holdfast::config
