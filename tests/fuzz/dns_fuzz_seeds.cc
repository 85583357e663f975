// Writes the seed corpus of dns_seeds.h as files: OUT/query/NAME and OUT/response/NAME.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "dns_seeds.h"

namespace {

bool write_all(const std::filesystem::path& dir,
               const std::vector<holdfast::dns::fuzz::Seed>& seeds) {
  std::filesystem::create_directories(dir);
  for (const auto& seed : seeds) {
    std::ofstream out(dir / seed.name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(seed.bytes.data()),
              static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  if (!write_all(root / "query", holdfast::dns::fuzz::query_seeds()) ||
      !write_all(root / "response", holdfast::dns::fuzz::response_seeds())) {
    std::fprintf(stderr, "dns_fuzz_seeds: cannot write under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
