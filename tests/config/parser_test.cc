// Tests for the Corefile grammar: blocks, directive lines, sub-blocks, brace errors.
#include "config/parser.h"

#include <gtest/gtest.h>

#include "config/config_error.h"

namespace holdfast::config {
namespace {

std::vector<BlockNode> parse(std::string_view text) {
  return parse_blocks(lex(text, "f"));
}

std::string parse_error(std::string_view text) {
  try {
    parse(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

std::vector<std::string> texts(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& token : tokens) out.push_back(token.text);
  return out;
}

TEST(Parser, BuildsBlocksOfDirectivesWithArgumentsAndSubBlocks) {
  const std::vector<BlockNode> blocks = parse(
      "a.example:53 b.example:53 {\n"
      "  forward . 1.1.1.1 {\n"
      "    force_tcp\n"
      "    except x.example\n"
      "  }\n"
      "  errors\n"
      "}\n"
      ".:53 {\n"
      "}\n");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(texts(blocks[0].keys), (std::vector<std::string>{"a.example:53", "b.example:53"}));
  EXPECT_EQ(blocks[0].open_brace.column, 27);
  ASSERT_EQ(blocks[0].directives.size(), 2u);
  const DirectiveNode& forward = blocks[0].directives[0];
  EXPECT_EQ(forward.name.text, "forward");
  EXPECT_EQ(texts(forward.args), (std::vector<std::string>{".", "1.1.1.1"}));
  EXPECT_TRUE(forward.has_block);
  EXPECT_EQ(forward.block_open.line, 2);
  ASSERT_EQ(forward.children.size(), 2u);
  EXPECT_EQ(forward.children[1].name.text, "except");
  EXPECT_EQ(texts(forward.children[1].args), std::vector<std::string>{"x.example"});
  EXPECT_EQ(blocks[0].directives[1].name.text, "errors");
  EXPECT_FALSE(blocks[0].directives[1].has_block);
  EXPECT_TRUE(blocks[1].directives.empty());
}

TEST(Parser, AcceptsBlocksOnOneLine) {
  const std::vector<BlockNode> blocks = parse(". { forward . 1.1.1.1 { force_tcp } }\n");
  ASSERT_EQ(blocks.size(), 1u);
  ASSERT_EQ(blocks[0].directives.size(), 1u);
  ASSERT_EQ(blocks[0].directives[0].children.size(), 1u);
  EXPECT_EQ(blocks[0].directives[0].children[0].name.text, "force_tcp");
}

TEST(Parser, EndsADirectiveAtAClosingBraceOnItsLine) {
  const std::vector<BlockNode> blocks = parse(". {\n errors }\n");
  ASSERT_EQ(blocks[0].directives.size(), 1u);
  EXPECT_TRUE(blocks[0].directives[0].args.empty());
}

TEST(Parser, ContinuesKeysEndingInACommaOnTheNextLine) {
  const std::vector<BlockNode> blocks = parse("a.example:53,\nb.example:53 {\n}\n");
  EXPECT_EQ(texts(blocks[0].keys), (std::vector<std::string>{"a.example:53", "b.example:53"}));
}

TEST(Parser, TreatsAQuotedBraceAsAnArgument) {
  const std::vector<BlockNode> blocks = parse(". {\n log \"{\"\n}\n");
  EXPECT_EQ(texts(blocks[0].directives[0].args), std::vector<std::string>{"{"});
}

TEST(Parser, RejectsAnUnmatchedClosingBrace) {
  EXPECT_EQ(parse_error(". {\n}\n}\n"), "f:3:1: unexpected '}' (no matching '{')");
}

TEST(Parser, RejectsAnUnclosedBlockAtTheEndOfTheFile) {
  EXPECT_EQ(parse_error(".:53 {\n  errors\n"),
            "f:3:1: unexpected end of file: '{' opened at f:1:6 is never closed");
}

TEST(Parser, RejectsAnUnclosedSubBlockNamingItsBrace) {
  EXPECT_EQ(parse_error(".:53 {\n  forward . 1.1.1.1 {\n  force_tcp\n}"),
            "f:4:2: unexpected end of file: '{' opened at f:1:6 is never closed");
}

TEST(Parser, RejectsAnOpeningBraceOnALineOfItsOwn) {
  EXPECT_EQ(parse_error(". {\n  forward . 1.1.1.1\n  {\n  }\n}\n"),
            "f:3:3: unexpected '{' on a line of its own; put it at the end of the line it "
            "belongs to");
}

TEST(Parser, RejectsServerBlockKeysWithoutABlock) {
  EXPECT_EQ(parse_error(".:53\nerrors\n"), "f:1:1: expected '{' after server block key '.:53'");
}

TEST(Parser, RejectsABlockBraceOnTheLineAfterTheKeys) {
  EXPECT_EQ(parse_error(".:53\n{\n}\n"), "f:1:1: expected '{' after server block key '.:53'");
}

TEST(Parser, RejectsABraceWhereAKeyShouldBe) {
  EXPECT_EQ(parse_error("{\n}\n"),
            "f:1:1: unexpected '{' (expected a server block key such as .:53)");
}

TEST(Parser, RejectsATrailingCommaBeforeTheBrace) {
  EXPECT_EQ(parse_error("a.example, {\n}\n"), "f:1:1: expected another server block key after ','");
}

TEST(Parser, RejectsWordsAfterASubBlockOnTheSameLine) {
  EXPECT_EQ(parse_error(". {\n forward . 1.1.1.1 { force_tcp } errors\n}\n"),
            "f:2:34: unexpected 'errors' after '}'; start a new line");
}

TEST(Parser, RejectsBlocksNestedTooDeeply) {
  std::string text = ". {\n";
  for (int i = 0; i < 20; ++i) text += "a {\n";
  EXPECT_EQ(parse_error(text), "f:17:3: blocks nested too deeply");
}

TEST(Parser, RejectsAClosingBraceAfterKeys) {
  EXPECT_EQ(parse_error(". }\n"), "f:1:3: unexpected '}' (no matching '{')");
}

TEST(Parser, RejectsAnEmptyKey) {
  EXPECT_EQ(parse_error("\"\" {\n}\n"), "f:1:4: expected a server block key before '{'");
}

}  // namespace
}  // namespace holdfast::config
