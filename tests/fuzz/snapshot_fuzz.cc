// libFuzzer target for the snapshot importer's validation (holdfastctl snapshot import): any bytes
// are either refused with a message naming the file or accepted, and then every record is a valid
// cache key with a value that decodes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cache/entry_codec.h"
#include "cache/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto snapshot = holdfast::cache::SnapshotFile::parse(
      "fuzz.snap", std::string(reinterpret_cast<const char*>(data), size));
  if (!snapshot) {
    if (snapshot.error().message.find("fuzz.snap") == std::string::npos) std::abort();
    return 0;
  }
  for (std::size_t i = 0; i < snapshot->size(); ++i) {
    if (!holdfast::cache::is_cache_key(snapshot->key(i))) std::abort();
    if (!holdfast::cache::decode_entry(snapshot->value(i))) std::abort();
  }
  return 0;
}
