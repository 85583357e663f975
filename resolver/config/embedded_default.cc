// The built-in Corefile used when no -conf is given.
#include "config/corefile.h"

namespace holdfast::config {
namespace {

// "/etc/resolv.conf" is read from ParseOptions::default_resolv_conf; when it names no
// nameserver (or is missing), 127.0.0.1:53 is used as glibc does, and Config::warnings says so.
constexpr const char* kEmbeddedDefault =
    R"(# Holdfast's built-in configuration, used when no -conf is given.
.:5353 {
    bind 127.0.0.1 ::1
    forward . /etc/resolv.conf
    cache
    errors
}
)";

}  // namespace

const char* embedded_default_text() noexcept {
  return kEmbeddedDefault;
}

Result<Config> embedded_default(const ParseOptions& options) {
  return parse_corefile_with(kEmbeddedDefault, "<embedded default>", options,
                             EmptyResolvConf::kUseGlibcDefault);
}

}  // namespace holdfast::config
