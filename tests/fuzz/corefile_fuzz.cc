// libFuzzer target for the Corefile dialect: any text either parses into a Config or fails with a
// "FILE:LINE:COL: message" error; it never crashes, hangs or throws past parse_corefile_text. A
// config that parses also has a summary (--check-config) that can be printed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  holdfast::config::ParseOptions options;
  options.default_resolv_conf = "/nonexistent/resolv.conf";  // deterministic: no host files
  options.default_persist_dir = "/nonexistent/state";
  auto config = holdfast::config::parse_corefile_text(text, "fuzz.Corefile", options);
  if (config) {
    (void)holdfast::config::summary(*config);
  } else if (config.error().message.rfind("fuzz.Corefile", 0) != 0 &&
             config.error().message.find("fuzz.Corefile") == std::string::npos &&
             config.error().message.find("/nonexistent") == std::string::npos) {
    std::abort();  // an error that does not say where
  }
  return 0;
}
