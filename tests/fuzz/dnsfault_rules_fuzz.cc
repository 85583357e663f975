// libFuzzer target for dnsfault's text inputs: a rules file (`dnsfault proxy --rules FILE`, one
// rule per line) and a schedule (`drill --schedule`). Any text parses or is refused with a message
// naming its source; it never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rule.h"
#include "schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = holdfast::dnsfault::parse_rules_file(text, "fuzz.rules");
  if (!rules && rules.error().message.empty()) std::abort();
  auto schedule = holdfast::dnsfault::parse_schedule(text, "fuzz.schedule");
  if (!schedule && schedule.error().message.empty()) std::abort();
  return 0;
}
