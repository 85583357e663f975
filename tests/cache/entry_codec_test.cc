#include "cache/entry_codec.h"

#include <gtest/gtest.h>

#include "cache/response_fixtures.h"

namespace holdfast::cache {
namespace {

Entry sample_entry() {
  return *make_entry(testing::a_response(false, 300, 120), TtlPolicy{}, 1'700'000'000);
}

TEST(EntryCodec, RoundTripsEveryField) {
  const Entry entry = sample_entry();
  auto decoded = decode_entry(encode_entry(entry, 1'700'000'123));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->entry.wire, entry.wire);
  EXPECT_EQ(decoded->entry.ttl_offsets, entry.ttl_offsets);
  EXPECT_EQ(decoded->entry.question_end, entry.question_end);
  EXPECT_EQ(decoded->entry.stored_at_seconds, entry.stored_at_seconds);
  EXPECT_EQ(decoded->entry.ttl_seconds, entry.ttl_seconds);
  EXPECT_EQ(decoded->entry.rcode, entry.rcode);
  EXPECT_EQ(decoded->entry.kind, entry.kind);
  EXPECT_EQ(decoded->last_used_seconds, 1'700'000'123);
}

TEST(EntryCodec, RejectsEveryFlippedByte) {
  const std::string good = encode_entry(sample_entry(), 0);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(decode_entry(bad)) << "byte " << i;
  }
}

TEST(EntryCodec, RejectsEveryTruncation) {
  const std::string good = encode_entry(sample_entry(), 0);
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(decode_entry(good.substr(0, len))) << "length " << len;
  }
  EXPECT_FALSE(decode_entry(good + "x"));
}

TEST(EntryCodec, RejectsAnotherFormatVersion) {
  std::string bad = encode_entry(sample_entry(), 0);
  bad[0] = static_cast<char>(kEntryFormatVersion + 1);
  EXPECT_FALSE(decode_entry(bad));
  EXPECT_FALSE(peek_entry_times(bad));
}

TEST(EntryCodec, PeekReadsTheTimes) {
  const Entry entry = sample_entry();
  auto times = peek_entry_times(encode_entry(entry, 42));
  ASSERT_TRUE(times);
  EXPECT_EQ(times->stored_at_seconds, entry.stored_at_seconds);
  EXPECT_EQ(times->ttl_seconds, entry.ttl_seconds);
  EXPECT_EQ(times->last_used_seconds, 42);
}

}  // namespace
}  // namespace holdfast::cache
