// Tests for the Corefile lexer: tokens, positions, comments, quotes.
#include "config/lexer.h"

#include <gtest/gtest.h>

#include "config/config_error.h"

namespace holdfast::config {
namespace {

std::vector<std::string> texts(const TokenStream& stream) {
  std::vector<std::string> out;
  for (const Token& token : stream.tokens) out.push_back(token.text);
  return out;
}

std::string lex_error(std::string_view text) {
  try {
    lex(text, "f");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(Lexer, SplitsWordsAndBracesWithLineAndColumn) {
  const TokenStream stream = lex(".:53 {\n  errors\n}\n", "Corefile");
  ASSERT_EQ(stream.tokens.size(), 4u);
  EXPECT_EQ(texts(stream), (std::vector<std::string>{".:53", "{", "errors", "}"}));
  EXPECT_EQ(stream.tokens[0].kind, TokenKind::kWord);
  EXPECT_EQ(stream.tokens[1].kind, TokenKind::kOpenBrace);
  EXPECT_EQ(stream.tokens[3].kind, TokenKind::kCloseBrace);
  EXPECT_EQ(stream.tokens[2].where.file, "Corefile");
  EXPECT_EQ(stream.tokens[2].where.line, 2);
  EXPECT_EQ(stream.tokens[2].where.column, 3);
  EXPECT_EQ(stream.tokens[1].where.column, 6);
}

TEST(Lexer, MarksTheFirstTokenOfEachLine) {
  const TokenStream stream = lex("a b\n\n  c\td\n", "f");
  ASSERT_EQ(stream.tokens.size(), 4u);
  EXPECT_TRUE(stream.tokens[0].line_start);
  EXPECT_FALSE(stream.tokens[1].line_start);
  EXPECT_TRUE(stream.tokens[2].line_start);
  EXPECT_FALSE(stream.tokens[3].line_start);
  EXPECT_EQ(stream.tokens[3].where.column, 5);
}

TEST(Lexer, DropsCommentsToTheEndOfTheLine) {
  const TokenStream stream = lex("# header\na # trailing { }\nb#glued\nc\n", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(stream.tokens[2].line_start);
}

TEST(Lexer, UnquotesDoubleQuotedStringsWithEscapedQuotes) {
  const TokenStream stream = lex(R"(log "a b" "say \"hi\"" "back\slash")", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{"log", "a b", "say \"hi\"", "back\\slash"}));
  EXPECT_TRUE(stream.tokens[1].quoted);
  EXPECT_EQ(stream.tokens[1].where.column, 5);
}

TEST(Lexer, KeepsHashAndBracesInsideQuotes) {
  const TokenStream stream = lex(R"(a "# not a comment" "{" "}")", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{"a", "# not a comment", "{", "}"}));
  EXPECT_EQ(stream.tokens[2].kind, TokenKind::kWord);
  EXPECT_EQ(stream.tokens[3].kind, TokenKind::kWord);
}

TEST(Lexer, QuotedStringMaySpanLines) {
  const TokenStream stream = lex("a \"x\ny\" b\nc", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{"a", "x\ny", "b", "c"}));
  EXPECT_FALSE(stream.tokens[2].line_start);
  EXPECT_EQ(stream.tokens[2].where.line, 2);
  EXPECT_EQ(stream.tokens[2].where.column, 4);
  EXPECT_EQ(stream.tokens[3].where.line, 3);
}

TEST(Lexer, KeepsPlaceholdersWithBracesAsWords) {
  const TokenStream stream = lex("log . {combined} {$HOME}x", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{"log", ".", "{combined}", "{$HOME}x"}));
  EXPECT_EQ(stream.tokens[2].kind, TokenKind::kWord);
}

TEST(Lexer, IgnoresCarriageReturnsAndAByteOrderMark) {
  const TokenStream stream = lex("\xEF\xBB\xBF.:53 {\r\n errors\r\n}\r\n", "f");
  EXPECT_EQ(texts(stream), (std::vector<std::string>{".:53", "{", "errors", "}"}));
  EXPECT_EQ(stream.tokens[0].where.column, 1);
  EXPECT_TRUE(stream.tokens[2].line_start);
}

TEST(Lexer, ReportsWhereTheTextEnds) {
  const TokenStream stream = lex("a\nbc", "f");
  EXPECT_EQ(stream.end.line, 2);
  EXPECT_EQ(stream.end.column, 3);
}

TEST(Lexer, RejectsAnUnterminatedQuoteAtItsOpening) {
  EXPECT_EQ(lex_error("a\n  log \"oops\n"), "f:2:7: unterminated quoted string");
}

TEST(Lexer, RejectsAnOpeningBraceGluedToAWord) {
  EXPECT_EQ(lex_error(".:53{\n}"), "f:1:1: missing space before '{' in '.:53{'");
}

TEST(Lexer, RejectsAClosingBraceGluedToAWord) {
  EXPECT_EQ(lex_error(". {\n errors}"), "f:2:2: missing space before '}' in 'errors}'");
}

}  // namespace
}  // namespace holdfast::config
