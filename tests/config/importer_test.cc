// Tests for `import`: relative paths, globs, cycles, and errors inside imported files.
#include "config/importer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config/config_error.h"
#include "config/text_file.h"
#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::TempDir;

Result<Config> parse_file(const std::string& path) {
  ParseOptions options;
  return parse_corefile_file(path, options);
}

std::string file_error(const std::string& path) {
  Result<Config> result = parse_file(path);
  return result ? std::string() : result.error().message;
}

TEST(Import, InlinesAFileRelativeToTheImportingFile) {
  TempDir dir;
  dir.write("conf/snippets/bind.conf", "bind 127.0.0.9\n");
  const std::string corefile =
      dir.write("conf/Corefile", ".:53 {\n    import snippets/bind.conf\n    errors\n}\n");
  Result<Config> config = parse_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->blocks.size(), 1u);
  EXPECT_EQ(config->blocks[0].bind, std::vector<std::string>{"127.0.0.9"});
  EXPECT_TRUE(config->blocks[0].errors);
}

TEST(Import, KeepsTheImportedFileInTokenLocations) {
  TempDir dir;
  const std::string snippet = dir.write("a.conf", "\n  loop\n");
  std::vector<std::string> warnings;
  const TokenStream stream = load_tokens("import a.conf\n", dir.path("Corefile"), warnings);
  ASSERT_EQ(stream.tokens.size(), 1u);
  EXPECT_EQ(stream.tokens[0].where.file, snippet);
  EXPECT_EQ(stream.tokens[0].where.line, 2);
  EXPECT_EQ(stream.tokens[0].where.column, 3);
  EXPECT_TRUE(stream.tokens[0].line_start);
}

TEST(Import, AtTopLevelAddsWholeServerBlocks) {
  TempDir dir;
  dir.write("zones/a.conf", "a.example:53 {\n errors\n}\n");
  dir.write("zones/b.conf", "b.example:53 {\n log\n}\n");
  const std::string corefile = dir.write("Corefile", "import zones/*.conf\n.:53 {\n}\n");
  Result<Config> config = parse_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->blocks.size(), 3u);
  EXPECT_EQ(config->blocks[0].zones, std::vector<std::string>{"a.example."});
  EXPECT_EQ(config->blocks[1].zones, std::vector<std::string>{"b.example."});
  EXPECT_EQ(config->blocks[2].zones, std::vector<std::string>{"."});
}

TEST(Import, ExpandsAGlobInSortedOrderAndSkipsFolders) {
  TempDir dir;
  dir.write("d/2.conf", "bind 127.0.0.2\n");
  dir.write("d/1.conf", "bind 127.0.0.1\n");
  dir.write("d/3.conf/inner", "bind 127.0.0.3\n");
  const std::string corefile = dir.write("Corefile", ".:53 {\n import d/*.conf\n}\n");
  Result<Config> config = parse_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].bind, (std::vector<std::string>{"127.0.0.1", "127.0.0.2"}));
}

TEST(Import, WarnsWhenAGlobMatchesNothing) {
  TempDir dir;
  const std::string corefile = dir.write("Corefile", ".:53 {\n  import none/*.conf\n}\n");
  Result<Config> config = parse_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->warnings,
            std::vector<std::string>{corefile + ":2:10: import: no files match '" +
                                     dir.path("none/*.conf") + "'"});
}

TEST(Import, ResolvesNestedImportsAgainstTheirOwnFolder) {
  TempDir dir;
  dir.write("a/b/leaf.conf", "errors\n");
  dir.write("a/mid.conf", "import b/leaf.conf\n");
  const std::string corefile = dir.write("Corefile", ".:53 {\n import a/mid.conf\n}\n");
  Result<Config> config = parse_file(corefile);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->blocks[0].errors);
}

TEST(Import, SubstitutesEnvironmentVariablesInThePath) {
  TempDir dir;
  dir.write("extra.conf", "log\n");
  ::setenv("HOLDFAST_TEST_IMPORT", "extra", 1);
  const std::string corefile =
      dir.write("Corefile", ".:53 {\n import {$HOLDFAST_TEST_IMPORT}.conf\n}\n");
  Result<Config> config = parse_file(corefile);
  ::unsetenv("HOLDFAST_TEST_IMPORT");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->blocks[0].log);
}

TEST(Import, RejectsAMissingFile) {
  TempDir dir;
  const std::string corefile = dir.write("Corefile", ".:53 {\n    import missing.conf\n}\n");
  EXPECT_EQ(file_error(corefile), corefile + ":2:12: import: cannot read '" +
                                      dir.path("missing.conf") + "': No such file or directory");
}

// A device is never configuration: /dev/zero would fill memory, a FIFO or a terminal block the
// start (the Corefile fuzzer reached both with `import /dev/*`).
TEST(Import, RejectsADevice) {
  TempDir dir;
  const std::string corefile = dir.write("Corefile", ".:53 {\n    import /dev/zero\n}\n");
  EXPECT_EQ(file_error(corefile), corefile + ":2:12: import: '/dev/zero' is not a regular file");
}

TEST(Import, GlobSkipsFifosAndFolders) {
  TempDir dir;
  dir.write("d/a.conf", "bind 127.0.0.9\n");
  ASSERT_EQ(::mkfifo(dir.path("d/b.conf").c_str(), 0600), 0);
  ::mkdir(dir.path("d/c.conf").c_str(), 0700);
  const std::string corefile = dir.write("Corefile", ".:53 {\n import d/*.conf\n}\n");
  Result<Config> config = parse_file(corefile);  // would block for ever reading the FIFO
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->blocks[0].bind, std::vector<std::string>{"127.0.0.9"});
}

TEST(Import, RejectsAFileLargerThanConfigurationIs) {
  TempDir dir;
  const std::string big = dir.write("big.conf", std::string(kMaxTextFileBytes + 1, '#'));
  const std::string corefile = dir.write("Corefile", ".:53 {\n import big.conf\n}\n");
  EXPECT_EQ(file_error(corefile), corefile + ":2:9: import: cannot read '" + big +
                                      "': larger than 4 MiB, not a "
                                      "configuration file");
}

TEST(Import, RejectsACycle) {
  TempDir dir;
  const std::string a = dir.write("a.conf", "import b.conf\n");
  const std::string b = dir.write("b.conf", "import a.conf\n");
  const std::string corefile = dir.write("Corefile", ".:53 {\n import a.conf\n}\n");
  EXPECT_EQ(file_error(corefile), b + ":1:8: import cycle: '" + a + "' is already being imported");
}

TEST(Import, RejectsAFileImportingItself) {
  TempDir dir;
  const std::string corefile = dir.write("Corefile", "import Corefile\n");
  EXPECT_EQ(file_error(corefile),
            corefile + ":1:8: import cycle: '" + corefile + "' is already being imported");
}

TEST(Import, RejectsAnImportWithoutAPattern) {
  EXPECT_EQ(testing::parse_error(".:53 {\n    import\n}\n"),
            "Corefile:2:5: import expects a file or glob pattern");
}

TEST(Import, RejectsAnImportWithTwoPatterns) {
  EXPECT_EQ(testing::parse_error(".:53 {\n    import a.conf b.conf\n}\n"),
            "Corefile:2:19: import expects exactly 1 file or glob pattern");
}

TEST(Import, RejectsAnImportWithABlock) {
  EXPECT_EQ(testing::parse_error(".:53 {\n    import a.conf {\n    }\n}\n"),
            "Corefile:2:19: import does not take a block");
}

TEST(Import, ReportsErrorsInsideAnImportedFileAtThatFile) {
  TempDir dir;
  const std::string snippet = dir.write("bad.conf", "# comment\n  bind 999.1.1.1\n");
  const std::string corefile = dir.write("Corefile", ".:53 {\n import bad.conf\n}\n");
  EXPECT_EQ(file_error(corefile), snippet + ":2:8: bind: '999.1.1.1' is not an IP address");
}

TEST(Import, RejectsAnEmptyPattern) {
  EXPECT_EQ(testing::parse_error(".:53 {\n    import \"\"\n}\n"),
            "Corefile:2:5: import expects a file or glob pattern");
}

}  // namespace
}  // namespace holdfast::config
