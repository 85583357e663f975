// libFuzzer target for the admin socket's request framing (one JSON object per line): any line
// either decodes or is refused; a decoded request yields a command or none, and re-encoding a
// decoded message gives one line that decodes again (floats may round, so not compared).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "observe/admin_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto message = holdfast::observe::decode_line(line);
  if (!message) return 0;
  (void)holdfast::observe::request_command(*message);
  const std::string encoded = holdfast::observe::encode_line(*message);
  if (encoded.empty() || encoded.back() != '\n') std::abort();
  auto again =
      holdfast::observe::decode_line(std::string_view(encoded).substr(0, encoded.size() - 1));
  if (!again) std::abort();
  return 0;
}
