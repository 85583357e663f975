// Internal: the setup functions that turn one parsed directive into typed ServerBlock fields, and
// the context they share. One function per directive; forward and cache have files of their own.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/parser.h"

namespace holdfast::config {

// What a resolv.conf forward target without nameservers becomes.
enum class EmptyResolvConf {
  kError,            // a Corefile that names it: the operator must fix it
  kUseGlibcDefault,  // the embedded default: 127.0.0.1:53, as glibc does, with a warning
};

struct BuildContext {
  const ParseOptions& options;
  EmptyResolvConf empty_resolv_conf = EmptyResolvConf::kError;
  std::vector<std::string>& warnings;
  std::vector<std::string>* files_read = nullptr;  // resolv.conf files read (Config::files_read)
};

using DirectiveSetup = void (*)(const DirectiveNode& node, ServerBlock& block,
                                BuildContext& context);

void setup_bind(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_forward(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_cache(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_log(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_errors(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_reload(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_loop(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_health(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_prometheus(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
// `admin unix:PATH`: the break-glass admin socket (process-wide; blocks that name one must agree).
void setup_admin(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_chaos(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_acl(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_rrl(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_workers(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
// Config::workers from the blocks' `workers` (they must agree; `auto` = the CPUs the process may
// run on); throws ConfigError naming the second block on a conflict.
std::uint32_t resolve_workers(const std::vector<ServerBlock>& blocks);
void setup_persist(const DirectiveNode& node, ServerBlock& block, BuildContext& context);
void setup_upstream_limits(const DirectiveNode& node, ServerBlock& block, BuildContext& context);

}  // namespace holdfast::config
