// libFuzzer target for the Corefile dialect: any text either parses into a Config or fails with a
// "FILE:LINE:COL: message" error; it never crashes, hangs or throws past parse_corefile_text. A
// config that parses also has a summary (--check-config) that can be printed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

// "FILE:LINE:COL: message", where FILE is fuzz.Corefile or a file an `import` in the input reached
// (the fuzzer finds `import /*`, so that is any file of the host).
bool says_where(std::string_view message) {
  const std::size_t end = message.find(": ");
  if (end == std::string_view::npos) return false;
  std::string_view where = message.substr(0, end);
  for (int field = 0; field < 2; ++field) {  // COL, then LINE, each digits after a ':'
    const std::size_t colon = where.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == where.size()) return false;
    if (where.find_first_not_of("0123456789", colon + 1) != std::string_view::npos) return false;
    where = where.substr(0, colon);
  }
  return !where.empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  holdfast::config::ParseOptions options;
  options.default_resolv_conf = "/nonexistent/resolv.conf";  // deterministic: no host files
  options.default_persist_dir = "/nonexistent/state";
  auto config = holdfast::config::parse_corefile_text(text, "fuzz.Corefile", options);
  if (config) {
    (void)holdfast::config::summary(*config);
  } else if (config.error().message.rfind("fuzz.Corefile: ", 0) != 0 &&  // no block at all
             !says_where(config.error().message) &&
             config.error().message.find("/nonexistent") == std::string::npos) {
    std::abort();  // an error that does not say where
  }
  return 0;
}
