#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include <string>

#include "cache/response_fixtures.h"
#include "dns/message.h"

namespace holdfast::cache {
namespace {

using testing::PacketBuilder;

CacheKey key_of(const char* name) {
  PacketBuilder b;
  b.header(0x4242, 0x0100, 1).question(name, dns::qtype::kAaaa);
  const std::vector<std::uint8_t> query = b.bytes();
  auto parsed = dns::parse_query(query);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  return CacheKey(query, parsed.query.question, KeyBits{true, false});
}

TEST(CacheKeyFromStored, RoundTripsAKeyAsTheStoreHoldsIt) {
  const CacheKey key = key_of("Svc.NS.svc.cluster.local.");
  const auto back = CacheKey::from_stored(key.view());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->view(), key.view());
  EXPECT_EQ(back->qtype(), dns::qtype::kAaaa);
  EXPECT_EQ(back->name().size(), key.name().size());
}

TEST(CacheKeyFromStored, RejectsWhatNoKeyLooksLike) {
  const std::string good(key_of("a.example.").view());
  EXPECT_FALSE(CacheKey::from_stored(""));
  EXPECT_FALSE(CacheKey::from_stored(good.substr(0, good.size() - 1)));  // 4 trailing bytes
  EXPECT_FALSE(CacheKey::from_stored(good + "x"));                       // 6 trailing bytes
  EXPECT_FALSE(
      CacheKey::from_stored(std::string("\x05"
                                        "ab",
                                        3)));  // label past the end
  EXPECT_FALSE(CacheKey::from_stored(std::string("\x40") + std::string(64, 'a') +
                                     std::string(6, '\0')));  // a 64-byte label
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(1, '\x3f') + std::string(63, 'a');
  EXPECT_FALSE(CacheKey::from_stored(long_name + std::string(6, '\0')));  // over 255 bytes
}

}  // namespace
}  // namespace holdfast::cache
