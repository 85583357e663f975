#include "cache/entry.h"

#include <gtest/gtest.h>

#include "cache/response_fixtures.h"
#include "dns/header.h"

namespace holdfast::cache {
namespace {

using testing::a_response;
using testing::negative_response;
using testing::rcode_response;

constexpr std::int64_t kNow = 1'700'000'000;

TEST(MakeEntry, PositiveTtlIsTheSmallestRecordTtl) {
  auto entry = make_entry(a_response(), TtlPolicy{}, kNow);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->kind, EntryKind::kSuccess);
  EXPECT_EQ(entry->ttl_seconds, 120u);
  EXPECT_EQ(entry->stored_at_seconds, kNow);
  EXPECT_EQ(entry->ttl_offsets.size(), 2u);
}

TEST(MakeEntry, PositiveTtlIsClampedToMaxAndMin) {
  TtlPolicy policy;
  policy.success_max_ttl = 30;
  EXPECT_EQ(make_entry(a_response(), policy, kNow)->ttl_seconds, 30u);
  policy.success_max_ttl = 3600;
  policy.success_min_ttl = 10;
  EXPECT_EQ(make_entry(a_response(true, 2, 3), policy, kNow)->ttl_seconds, 10u);
}

TEST(MakeEntry, TtlWithTheHighBitSetCountsAsZero) {
  // RFC 2181 §8: 2^31 and above mean 0, so the answer is not cached past the minimum, and the
  // record goes out with TTL 0 rather than the cap.
  auto entry = make_entry(a_response(false, 0xffff'ffffu, 0x8000'0000u), TtlPolicy{}, kNow);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->ttl_seconds, TtlPolicy{}.success_min_ttl);
  for (std::uint16_t offset : entry->ttl_offsets) {
    EXPECT_EQ(dns::read_u32(entry->wire.data() + offset), 0u);
  }
  std::vector<std::uint8_t> out(512);
  render_entry(*entry, entry->ttl_seconds, RenderOptions{}, out);
  EXPECT_EQ(dns::read_u32(out.data() + entry->ttl_offsets[0]), 0u);
  EXPECT_EQ(
      make_entry(a_response(false, 0x7fff'ffffu, 0x7fff'ffffu), TtlPolicy{}, kNow)->ttl_seconds,
      TtlPolicy{}.success_max_ttl);
}

TEST(MakeEntry, StripsTheOptRecordAndZeroesTheId) {
  auto response = a_response(true);
  auto entry = make_entry(response, TtlPolicy{}, kNow);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->wire.size(), response.size() - 11);
  auto header = dns::read_header(entry->wire);
  EXPECT_EQ(header->id, 0);
  EXPECT_EQ(header->arcount, 0);
  EXPECT_EQ(header->ancount, 2);
}

TEST(MakeEntry, NxdomainTtlIsMinOfSoaTtlAndMinimum) {
  // RFC 2308 §5: min(SOA TTL, SOA MINIMUM).
  auto entry = make_entry(negative_response(3, 60, 20), TtlPolicy{}, kNow);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->kind, EntryKind::kDenial);
  EXPECT_EQ(entry->ttl_seconds, 20u);
  EXPECT_EQ(make_entry(negative_response(3, 15, 900), TtlPolicy{}, kNow)->ttl_seconds, 15u);
}

TEST(MakeEntry, NodataIsCachedAsDenial) {
  auto entry = make_entry(negative_response(0, 60, 30), TtlPolicy{}, kNow);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->kind, EntryKind::kDenial);
  EXPECT_EQ(entry->ttl_seconds, 30u);
}

TEST(MakeEntry, DenialTtlIsClampedByDenialMax) {
  TtlPolicy policy;
  policy.denial_max_ttl = 5;
  EXPECT_EQ(make_entry(negative_response(3, 600, 600), policy, kNow)->ttl_seconds, 5u);
}

TEST(MakeEntry, NegativeAnswerWithoutSoaIsNotCached) {
  EXPECT_EQ(make_entry(negative_response(3, 0, 0, false), TtlPolicy{}, kNow)->kind,
            EntryKind::kUncacheable);
  EXPECT_EQ(make_entry(negative_response(0, 0, 0, false), TtlPolicy{}, kNow)->kind,
            EntryKind::kUncacheable);
}

TEST(MakeEntry, ServfailIsKeptForTheServfailTtl) {
  TtlPolicy policy;
  policy.servfail_ttl = 5;
  auto entry = make_entry(rcode_response(2), policy, kNow);
  EXPECT_EQ(entry->kind, EntryKind::kServfail);
  EXPECT_EQ(entry->ttl_seconds, 5u);
  policy.servfail_ttl = 0;
  EXPECT_EQ(make_entry(rcode_response(2), policy, kNow)->kind, EntryKind::kUncacheable);
}

TEST(MakeEntry, RefusedAndTruncatedAreNotCached) {
  EXPECT_EQ(make_entry(rcode_response(5), TtlPolicy{}, kNow)->kind, EntryKind::kUncacheable);
  auto truncated = a_response(false);
  truncated[2] |= 0x02;  // TC
  EXPECT_EQ(make_entry(truncated, TtlPolicy{}, kNow)->kind, EntryKind::kUncacheable);
}

TEST(MakeEntry, RejectsMalformedResponses) {
  auto response = a_response(false);
  response.resize(response.size() - 3);
  EXPECT_FALSE(make_entry(response, TtlPolicy{}, kNow));
}

TEST(RenderEntry, AgesEveryTtlToTheTimeLeft) {
  auto entry = make_entry(a_response(false, 300, 120), TtlPolicy{}, kNow);
  std::vector<std::uint8_t> out(512);
  ASSERT_EQ(render_entry(*entry, 100, RenderOptions{}, out), entry->wire.size());
  for (std::uint16_t offset : entry->ttl_offsets)
    EXPECT_EQ(dns::read_u32(out.data() + offset), 100u);
}

TEST(RenderEntry, NeverRaisesARecordTtl) {
  auto entry = make_entry(a_response(false, 300, 50), TtlPolicy{}, kNow);
  std::vector<std::uint8_t> out(512);
  entry->ttl_seconds = 200;  // e.g. raised by a minimum TTL
  render_entry(*entry, 200, RenderOptions{}, out);
  EXPECT_EQ(dns::read_u32(out.data() + entry->ttl_offsets[0]), 200u);
  EXPECT_EQ(dns::read_u32(out.data() + entry->ttl_offsets[1]), 50u);
}

TEST(RenderEntry, FixedModeWritesTheStaleTtl) {
  auto entry = make_entry(a_response(false), TtlPolicy{}, kNow);
  std::vector<std::uint8_t> out(512);
  render_entry(*entry, 0, RenderOptions{TtlMode::kFixed, 30}, out);
  for (std::uint16_t offset : entry->ttl_offsets)
    EXPECT_EQ(dns::read_u32(out.data() + offset), 30u);
}

TEST(RenderEntry, RefusesABufferThatIsTooSmall) {
  auto entry = make_entry(a_response(false), TtlPolicy{}, kNow);
  std::vector<std::uint8_t> out(entry->wire.size() - 1);
  EXPECT_EQ(render_entry(*entry, 10, RenderOptions{}, out), 0u);
}

}  // namespace
}  // namespace holdfast::cache
