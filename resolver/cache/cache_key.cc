// Building cache keys from parsed questions.
#include "cache/cache_key.h"

#include <cstring>

namespace holdfast::cache {

CacheKey::CacheKey(dns::Bytes packet, const dns::Question& question, KeyBits bits) noexcept {
  name_len_ =
      static_cast<std::uint16_t>(dns::copy_name_lower(packet, question.name, bytes_.data()));
  std::uint8_t* p = bytes_.data() + name_len_;
  dns::write_u16(p, question.qtype);
  dns::write_u16(p + 2, question.qclass);
  p[4] = static_cast<std::uint8_t>((bits.do_bit ? 1 : 0) | (bits.cd_bit ? 2 : 0));
  size_ = static_cast<std::uint16_t>(name_len_ + 5);
  hash_ = StringHash{}(view());
}

std::optional<CacheKey> CacheKey::from_stored(std::string_view stored) noexcept {
  std::size_t at = 0;
  while (at < stored.size() && stored[at] != 0) {
    const auto label = static_cast<std::uint8_t>(stored[at]);
    if (label > 63) return std::nullopt;
    at += 1 + label;
  }
  const std::size_t name_len = at + 1;
  if (at >= stored.size() || name_len > dns::kMaxNameWireLen || stored.size() != name_len + 5) {
    return std::nullopt;
  }
  CacheKey key;
  std::memcpy(key.bytes_.data(), stored.data(), stored.size());
  key.name_len_ = static_cast<std::uint16_t>(name_len);
  key.size_ = static_cast<std::uint16_t>(stored.size());
  key.hash_ = StringHash{}(key.view());
  return key;
}

std::uint16_t CacheKey::qtype() const noexcept {
  return dns::read_u16(bytes_.data() + name_len_);
}

}  // namespace holdfast::cache
