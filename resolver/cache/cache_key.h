// The cache key of a question: lower-cased wire name, QTYPE, QCLASS and the bits that change the
// answer (DO, CD). Fixed-size and stack-allocated so a lookup allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/string_hash.h"
#include "dns/message.h"

namespace holdfast::cache {

struct KeyBits {
  bool do_bit = false;
  bool cd_bit = false;
};

class CacheKey {
 public:
  // FORMAT: name (lower-cased, uncompressed wire) | QTYPE (2) | QCLASS (2) | bits (1).
  CacheKey(dns::Bytes packet, const dns::Question& question, KeyBits bits) noexcept;
  // The key of a parsed query: its question, and its DO (from the OPT record) and CD bits.
  CacheKey(dns::Bytes packet, const dns::QueryView& query) noexcept
      : CacheKey(packet, query.question,
                 KeyBits{query.opt && query.opt->do_bit, query.header.cd()}) {}
  // A key as the store holds it (view() of an earlier key); nullopt unless it is well formed:
  // labels of 1..63 bytes ending in the root within 255 bytes, then exactly 5 bytes.
  static std::optional<CacheKey> from_stored(std::string_view stored) noexcept;

  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), size_};
  }
  // StringHash of view(), computed once when the key is built: the listener's prefetch and the
  // lookup of the same key share it (server/lookup_prefetch.h).
  std::uint64_t hash() const noexcept { return hash_; }
  // The lower-cased wire name: the first part of the key.
  dns::Bytes name() const noexcept { return {bytes_.data(), name_len_}; }
  std::uint16_t qtype() const noexcept;

 private:
  CacheKey() = default;
  // Only the first size_ bytes are ever written or read: no zeroing of 260 bytes per query.
  std::array<std::uint8_t, dns::kMaxNameWireLen + 5> bytes_;
  std::uint16_t size_ = 0;
  std::uint16_t name_len_ = 0;
  std::uint64_t hash_ = 0;
};

}  // namespace holdfast::cache
