// Building cache keys from parsed questions.
#include "cache/cache_key.h"

namespace holdfast::cache {

CacheKey::CacheKey(dns::Bytes packet, const dns::Question& question, KeyBits bits) noexcept {
  name_len_ =
      static_cast<std::uint16_t>(dns::copy_name_lower(packet, question.name, bytes_.data()));
  std::uint8_t* p = bytes_.data() + name_len_;
  dns::write_u16(p, question.qtype);
  dns::write_u16(p + 2, question.qclass);
  p[4] = static_cast<std::uint8_t>((bits.do_bit ? 1 : 0) | (bits.cd_bit ? 2 : 0));
  size_ = static_cast<std::uint16_t>(name_len_ + 5);
}

std::uint16_t CacheKey::qtype() const noexcept {
  return dns::read_u16(bytes_.data() + name_len_);
}

}  // namespace holdfast::cache
