// Server blocks and directive trees from a token stream, with brace balance errors.
#include "config/parser.h"

#include "config/config_error.h"

namespace holdfast::config {
namespace {

// Deep enough for any real Corefile, shallow enough that hostile input cannot exhaust the stack.
constexpr int kMaxNesting = 16;

class Parser {
 public:
  explicit Parser(const TokenStream& stream) : tokens_(stream.tokens), end_(stream.end) {}

  std::vector<BlockNode> parse_all() {
    std::vector<BlockNode> blocks;
    while (!at_end()) {
      const Token& token = current();
      if (token.kind == TokenKind::kOpenBrace) {
        fail_at(token.where, "unexpected '{' (expected a server block key such as .:53)");
      }
      if (token.kind == TokenKind::kCloseBrace) fail_unmatched_close(token);
      blocks.push_back(parse_block());
    }
    return blocks;
  }

 private:
  bool at_end() const { return pos_ >= tokens_.size(); }
  const Token& current() const { return tokens_[pos_]; }
  bool continues_line() const { return !at_end() && !current().line_start; }

  [[noreturn]] static void fail_unmatched_close(const Token& token) {
    fail_at(token.where, "unexpected '}' (no matching '{')");
  }

  BlockNode parse_block() {
    BlockNode block;
    block.keys = parse_keys();
    block.open_brace = current().where;
    ++pos_;
    block.directives = parse_body(block.open_brace, 1);
    return block;
  }

  // Leaves pos_ on the block's `{`.
  std::vector<Token> parse_keys() {
    std::vector<Token> keys;
    bool expecting_another = false;
    const Token* last = &current();
    while (!at_end() && current().kind == TokenKind::kWord) {
      if (last != &current() && current().line_start && !expecting_another) break;
      last = &current();
      Token key = tokens_[pos_++];
      expecting_another = key.text.ends_with(',');
      if (expecting_another) key.text.pop_back();
      if (!key.text.empty()) keys.push_back(std::move(key));
    }
    if (expecting_another) fail_at(last->where, "expected another server block key after ','");
    if (at_end() || current().kind != TokenKind::kOpenBrace || current().line_start) {
      if (!at_end() && current().kind == TokenKind::kCloseBrace) fail_unmatched_close(current());
      fail_at(last->where, "expected '{' after server block key '" + last->text + "'");
    }
    if (keys.empty()) fail_at(current().where, "expected a server block key before '{'");
    return keys;
  }

  // Reads directives up to and including the `}` that matches the `{` at `open`.
  std::vector<DirectiveNode> parse_body(const SourceLocation& open, int depth) {
    if (depth > kMaxNesting) fail_at(open, "blocks nested too deeply");
    std::vector<DirectiveNode> directives;
    while (true) {
      if (at_end()) {
        fail_at(end_, "unexpected end of file: '{' opened at " + format_location(open) +
                          " is never closed");
      }
      const Token& token = current();
      if (token.kind == TokenKind::kCloseBrace) {
        ++pos_;
        return directives;
      }
      if (token.kind == TokenKind::kOpenBrace) {
        fail_at(token.where,
                "unexpected '{' on a line of its own; put it at the end of the line "
                "it belongs to");
      }
      directives.push_back(parse_directive(depth));
    }
  }

  DirectiveNode parse_directive(int depth) {
    DirectiveNode node;
    node.name = tokens_[pos_++];
    while (continues_line() && current().kind == TokenKind::kWord) {
      node.args.push_back(tokens_[pos_++]);
    }
    if (!continues_line() || current().kind != TokenKind::kOpenBrace) return node;
    node.has_block = true;
    node.block_open = current().where;
    ++pos_;
    node.children = parse_body(node.block_open, depth + 1);
    if (continues_line() && current().kind != TokenKind::kCloseBrace) {
      fail_at(current().where, "unexpected '" + current().text + "' after '}'; start a new line");
    }
    return node;
  }

  const std::vector<Token>& tokens_;
  SourceLocation end_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<BlockNode> parse_blocks(const TokenStream& stream) {
  return Parser(stream).parse_all();
}

}  // namespace holdfast::config
