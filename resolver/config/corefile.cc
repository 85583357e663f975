// The public Corefile entry points: read, lex with imports, parse, build typed config.
#include "config/corefile.h"

#include <exception>

#include "config/config_error.h"
#include "config/directives.h"
#include "config/importer.h"
#include "config/parser.h"
#include "config/persist.h"
#include "config/server_block.h"
#include "config/text_file.h"

namespace holdfast::config {

Result<Config> parse_corefile_with(std::string_view text, const std::string& file_name,
                                   const ParseOptions& options, EmptyResolvConf empty_resolv_conf) {
  try {
    Config config;
    config.source = file_name;
    const TokenStream stream = load_tokens(text, file_name, config.warnings);
    const std::vector<BlockNode> nodes = parse_blocks(stream);
    if (nodes.empty()) return fail(file_name + ": no server blocks");
    BuildContext context{options, empty_resolv_conf, config.warnings, &config.files_read};
    config.blocks = build_server_blocks(nodes, context);
    reject_forwarding_loops(config.blocks);
    config.persist = resolve_persist(config.blocks, options);
    config.workers = resolve_workers(config.blocks);
    return config;
  } catch (const ConfigError& error) {
    return fail(error.what());
  } catch (const std::exception& error) {  // bad_alloc, filesystem_error: still one clear line
    return fail(file_name + ": " + error.what());
  }
}

Result<Config> parse_corefile_text(const std::string& text, const std::string& file_name,
                                   const ParseOptions& options) {
  return parse_corefile_with(text, file_name, options, EmptyResolvConf::kError);
}

Result<Config> parse_corefile_file(const std::string& path, const ParseOptions& options) {
  Result<std::string> text = read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_corefile_with(*text, path, options, EmptyResolvConf::kError);
}

}  // namespace holdfast::config
