// The queries of a dnsperf-format file ("NAME TYPE" per line), encoded to wire form once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace holdfast::bench {

enum class Edns : std::uint8_t { kOff, kOn };

// Every query is stored whole (header with ID 0, RD set; one question; an OPT record with
// `Edns::kOn`). Views returned are valid as long as the QuerySet.
class QuerySet {
 public:
  // Reads `path`; blank lines and lines starting with ';' or '#' are skipped. An error names
  // the first bad line.
  static tl::expected<QuerySet, std::string> load(const std::string& path, Edns edns);

  std::size_t size() const noexcept { return offsets_.size(); }
  std::span<const std::uint8_t> wire(std::size_t i) const noexcept {
    return {bytes_.data() + offsets_[i], lengths_[i]};
  }
  // The question section (name, type, class): a reply must echo it.
  std::span<const std::uint8_t> question(std::size_t i) const noexcept {
    return {bytes_.data() + offsets_[i] + kHeaderLen, question_lens_[i]};
  }

  static constexpr std::size_t kHeaderLen = 12;

 private:
  bool add(const std::string& name, std::uint16_t type, Edns edns);

  std::vector<std::uint8_t> bytes_;
  std::vector<std::uint32_t> offsets_;
  std::vector<std::uint16_t> lengths_;
  std::vector<std::uint16_t> question_lens_;
};

}  // namespace holdfast::bench
