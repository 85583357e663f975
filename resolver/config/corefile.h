// Internal: the parse pipeline behind the public entry points (load tokens → parse blocks →
// typed config), with the one place where ConfigError becomes an Error.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/directives.h"

namespace holdfast::config {

Result<Config> parse_corefile_with(std::string_view text, const std::string& file_name,
                                   const ParseOptions& options, EmptyResolvConf empty_resolv_conf);

}  // namespace holdfast::config
