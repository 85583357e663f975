// `import` expansion and {$ENV} substitution over the lexer's tokens.
#include "config/importer.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>

#include "config/config_error.h"
#include "config/env.h"
#include "config/text_file.h"

namespace holdfast::config {
namespace {

namespace fs = std::filesystem;

// glob(3) results, freed once.
class GlobMatches {
 public:
  explicit GlobMatches(const std::string& pattern) {
    if (::glob(pattern.c_str(), GLOB_ERR, nullptr, &glob_) != 0) return;
    for (std::size_t i = 0; i < glob_.gl_pathc; ++i) paths_.emplace_back(glob_.gl_pathv[i]);
  }
  ~GlobMatches() { ::globfree(&glob_); }
  GlobMatches(const GlobMatches&) = delete;
  GlobMatches& operator=(const GlobMatches&) = delete;
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  glob_t glob_{};
  std::vector<std::string> paths_;
};

bool has_glob_meta(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

std::string canonical_or_same(const std::string& path) {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(path, error);
  return error ? path : canonical.string();
}

bool is_import_line(const Token& token) {
  return token.kind == TokenKind::kWord && !token.quoted && token.line_start &&
         token.text == "import";
}

class Importer {
 public:
  explicit Importer(std::vector<std::string>& warnings) : warnings_(warnings) {}

  SourceLocation append(std::string_view text, const std::string& file, std::vector<Token>& out) {
    stack_.push_back(canonical_or_same(file));
    TokenStream stream = lex(text, file);
    std::vector<Token>& tokens = stream.tokens;
    for (Token& token : tokens) {
      if (token.kind == TokenKind::kWord) token.text = substitute_env(token.text);
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (!is_import_line(tokens[i])) {
        out.push_back(std::move(tokens[i]));
        continue;
      }
      i = expand_import(tokens, i, out);
    }
    stack_.pop_back();
    return stream.end;
  }

 private:
  // Expands the import line starting at tokens[at]; returns the index of its last token.
  std::size_t expand_import(const std::vector<Token>& tokens, std::size_t at,
                            std::vector<Token>& out) {
    std::size_t end = at + 1;
    while (end < tokens.size() && !tokens[end].line_start && tokens[end].kind == TokenKind::kWord) {
      ++end;
    }
    if (end == at + 1 || tokens[at + 1].text.empty()) {
      fail_at(tokens[at].where, "import expects a file or glob pattern");
    }
    if (end > at + 2)
      fail_at(tokens[at + 2].where, "import expects exactly 1 file or glob pattern");
    if (end < tokens.size() && !tokens[end].line_start &&
        tokens[end].kind == TokenKind::kOpenBrace) {
      fail_at(tokens[end].where, "import does not take a block");
    }
    import_pattern(tokens[at + 1], out);
    return end - 1;
  }

  void import_pattern(const Token& pattern, std::vector<Token>& out) {
    fs::path path(pattern.text);
    if (path.is_relative()) path = fs::path(pattern.where.file).parent_path() / path;
    if (!has_glob_meta(pattern.text)) {
      import_file(pattern, path.string(), out);
      return;
    }
    GlobMatches matches(path.string());
    bool any = false;
    for (const std::string& match : matches.paths()) {
      // Folders, devices, FIFOs and sockets a wide glob picks up are not configuration (a FIFO
      // or a terminal would block the start).
      if (!is_regular_file(match)) continue;
      any = true;
      import_file(pattern, match, out);
    }
    if (!any) {
      warnings_.push_back(format_location(pattern.where) + ": import: no files match '" +
                          path.string() + "'");
    }
  }

  void import_file(const Token& pattern, const std::string& path, std::vector<Token>& out) {
    if (std::find(stack_.begin(), stack_.end(), canonical_or_same(path)) != stack_.end()) {
      fail_at(pattern.where, "import cycle: '" + path + "' is already being imported");
    }
    std::error_code error;
    if (fs::exists(path, error) && !is_regular_file(path)) {
      fail_at(pattern.where, "import: '" + path + "' is not a regular file");
    }
    Result<std::string> text = read_text_file(path);
    if (!text) fail_at(pattern.where, "import: " + text.error().message);
    append(*text, path, out);
  }

  std::vector<std::string> stack_;  // canonical paths of the files being read, outermost first
  std::vector<std::string>& warnings_;
};

}  // namespace

TokenStream load_tokens(std::string_view text, const std::string& file_name,
                        std::vector<std::string>& warnings) {
  Importer importer(warnings);
  TokenStream stream;
  stream.end = importer.append(text, file_name, stream.tokens);
  return stream;
}

}  // namespace holdfast::config
