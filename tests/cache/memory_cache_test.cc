#include "cache/memory_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include "cache/response_fixtures.h"
#include "dns/message.h"

namespace holdfast::cache {
namespace {

using testing::a_response;
using testing::negative_response;
using testing::PacketBuilder;
using testing::rcode_response;

std::vector<std::uint8_t> query_for(const char* name, std::uint16_t qtype = dns::qtype::kA) {
  PacketBuilder b;
  b.header(0x4242, 0x0100, 1).question(name, qtype);
  return b.bytes();
}

CacheKey key_for(const std::vector<std::uint8_t>& query, KeyBits bits = {}) {
  auto parsed = dns::parse_query(query);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  return CacheKey(query, parsed.query.question, bits);
}

class MemoryCacheTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'000};
  std::vector<std::uint8_t> out_ = std::vector<std::uint8_t>(4096);

  Entry entry(const std::vector<std::uint8_t>& response, TtlPolicy policy = {}) {
    return *make_entry(response, policy, clock_.wall_seconds());
  }
};

TEST_F(MemoryCacheTest, KeyIgnoresNameCase) {
  auto lower = query_for("www.example.com");
  auto mixed = query_for("WwW.ExAmPlE.cOm");
  EXPECT_EQ(key_for(lower).view(), key_for(mixed).view());
}

TEST_F(MemoryCacheTest, KeyDependsOnTypeAndDoBit) {
  auto a = query_for("www.example.com", dns::qtype::kA);
  auto aaaa = query_for("www.example.com", dns::qtype::kAaaa);
  EXPECT_NE(key_for(a).view(), key_for(aaaa).view());
  EXPECT_NE(key_for(a).view(), key_for(a, {true, false}).view());
}

TEST_F(MemoryCacheTest, MissThenHitWithAgedTtl) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  EXPECT_FALSE(cache.lookup(key, out_));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(20);
  auto hit = cache.lookup(key, out_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->remaining_seconds, 100u);
  EXPECT_FALSE(hit->stale);
  auto counters = cache.counters();
  EXPECT_EQ(counters.hits, 1u);
  EXPECT_EQ(counters.misses, 1u);
  EXPECT_EQ(counters.entries_success, 1u);
}

TEST_F(MemoryCacheTest, ExpiredEntryIsAMiss) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(120);
  EXPECT_FALSE(cache.lookup(key, out_));
}

TEST_F(MemoryCacheTest, ExpiredEntryIsServedStaleOnlyWhenAskedAndWithinMaxStale) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 60;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(150);
  EXPECT_FALSE(cache.lookup(key, out_, StaleUse::kFreshOnly));
  auto hit = cache.lookup(key, out_, StaleUse::kAllowStale, 30);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->stale);
  clock_.advance_seconds(60);
  EXPECT_FALSE(cache.lookup(key, out_, StaleUse::kAllowStale, 30));
}

TEST_F(MemoryCacheTest, EntryPastItsStaleWindowIsDropped) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 60;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(100);
  EXPECT_TRUE(cache.lookup(key, out_, StaleUse::kAllowStale));
  EXPECT_EQ(cache.size(), 1u);
  clock_.advance_seconds(100);
  EXPECT_FALSE(cache.lookup(key, out_, StaleUse::kAllowStale));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(MemoryCacheTest, ClockJumpingBackwardsDoesNotExtendLife) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.set_wall_seconds(clock_.wall_seconds() - 3600);
  EXPECT_FALSE(cache.lookup(key, out_));
}

TEST_F(MemoryCacheTest, NegativeEntriesAreCachedAndCountedSeparately) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("nope.example.com"));
  cache.insert(key, entry(negative_response(3, 60, 30)));
  auto hit = cache.lookup(key, out_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->rcode, 3);
  EXPECT_EQ(hit->kind, EntryKind::kDenial);
  EXPECT_EQ(cache.counters().entries_denial, 1u);
  EXPECT_EQ(cache.counters().entries_success, 0u);
}

TEST_F(MemoryCacheTest, PrefetchingWhileAnotherThreadFillsEvictsAndErasesIsSafe) {
  // A listener prefetches without the shard lock (the slot's address) and then under a try-lock
  // (the entries) while another loop inserts: the index grows, entries are evicted and freed,
  // slots shift. Nothing may be read that is gone (ASan and TSan builds run this too), and the
  // prefetches change nothing.
  MemoryCacheOptions options;
  options.success_capacity = 3000;
  options.shards = 2;
  MemoryCache cache(options, clock_);
  const Entry answer = entry(a_response(false));
  std::vector<CacheKey> keys;
  for (int i = 0; i < 6000; ++i) {
    std::string name = "n";
    name += std::to_string(i);
    name += ".example.com";
    keys.push_back(key_for(query_for(name.c_str())));
  }
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (const CacheKey& key : keys) cache.insert(key, answer);  // grows, then evicts
    cache.erase_if([](std::string_view key) { return key.size() % 2 == 0; });
    done = true;
  });
  std::uint64_t prefetched = 0;
  while (!done) {
    for (std::size_t i = 0; i < keys.size(); i += 7) {
      cache.prefetch_slot(keys[i]);
      cache.prefetch_entry(keys[i]);
      ++prefetched;
    }
  }
  writer.join();
  EXPECT_GT(prefetched, 0u);
  EXPECT_EQ(cache.counters().hits, 0u);
  EXPECT_EQ(cache.counters().misses, 0u);
  EXPECT_LE(cache.size(), 3000u);
}

TEST_F(MemoryCacheTest, EvictsLeastRecentlyUsedAtCapacity) {
  MemoryCacheOptions options;
  options.success_capacity = 2;
  options.shards = 1;
  MemoryCache cache(options, clock_);
  auto k1 = key_for(query_for("a.example.com"));
  auto k2 = key_for(query_for("b.example.com"));
  auto k3 = key_for(query_for("c.example.com"));
  cache.insert(k1, entry(a_response(false)));
  cache.insert(k2, entry(a_response(false)));
  ASSERT_TRUE(cache.lookup(k1, out_));  // k1 becomes most recent; k2 is the LRU
  cache.insert(k3, entry(a_response(false)));
  EXPECT_TRUE(cache.lookup(k1, out_));
  EXPECT_FALSE(cache.lookup(k2, out_));
  EXPECT_TRUE(cache.lookup(k3, out_));
  EXPECT_EQ(cache.counters().evictions, 1u);
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(MemoryCacheTest, ReconfigureKeepsEntriesAndAppliesTheNewCapacity) {
  MemoryCacheOptions options;
  options.success_capacity = 3;
  options.shards = 1;
  MemoryCache cache(options, clock_);
  auto k1 = key_for(query_for("a.example.com"));
  auto k2 = key_for(query_for("b.example.com"));
  auto k3 = key_for(query_for("c.example.com"));
  cache.insert(k1, entry(a_response(false)));
  cache.insert(k2, entry(a_response(false)));
  cache.insert(k3, entry(a_response(false)));
  ASSERT_TRUE(cache.lookup(k1, out_));  // k2 is now the least recently used
  options.success_capacity = 2;
  options.keep_ttl = true;
  cache.reconfigure(options);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.lookup(k1, out_));
  EXPECT_FALSE(cache.lookup(k2, out_));
  EXPECT_TRUE(cache.lookup(k3, out_));
  EXPECT_TRUE(cache.options().keep_ttl);
  options.success_capacity = 100;
  cache.reconfigure(options);
  EXPECT_EQ(cache.size(), 2u);  // growing loses nothing
  EXPECT_EQ(cache.options().shards, 1u);
}

TEST_F(MemoryCacheTest, DenialCapacityDoesNotEvictSuccessEntries) {
  MemoryCacheOptions options;
  options.success_capacity = 10;
  options.denial_capacity = 1;
  options.shards = 1;
  MemoryCache cache(options, clock_);
  auto good = key_for(query_for("www.example.com"));
  cache.insert(good, entry(a_response(false)));
  cache.insert(key_for(query_for("x.example.com")), entry(negative_response(3, 60, 60)));
  cache.insert(key_for(query_for("y.example.com")), entry(negative_response(3, 60, 60)));
  EXPECT_TRUE(cache.lookup(good, out_));
  EXPECT_EQ(cache.counters().entries_denial, 1u);
  EXPECT_EQ(cache.counters().evictions, 1u);
}

TEST_F(MemoryCacheTest, ServfailNeverReplacesGoodData) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 3600;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false)));
  cache.insert(key, entry(rcode_response(2)));
  auto hit = cache.lookup(key, out_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->rcode, 0);
}

TEST_F(MemoryCacheTest, InsertIfAbsentStoresOnlyWhereNothingIsCached) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  const Entry first = entry(a_response(false, 300, 120));
  EXPECT_TRUE(cache.insert_if_absent(key, first));
  EXPECT_EQ(cache.peek(key.view())->wire, first.wire);  // a copy, in the cache's own block
  const Entry second = entry(a_response(false, 300, 600));
  EXPECT_FALSE(cache.insert_if_absent(key, second));
  auto hit = cache.lookup(key, out_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->remaining_seconds, 120u);  // the first entry's
  EXPECT_EQ(cache.counters().inserts, 1u);
}

TEST_F(MemoryCacheTest, InsertIfAbsentKeepsAnExpiredEntryToo) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(200);
  Entry newer = entry(a_response(false, 300, 600));
  EXPECT_FALSE(cache.insert_if_absent(key, newer));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(MemoryCacheTest, InsertAndLookupAnswersAsInsertThenLookupWould) {
  MemoryCache two_steps({}, clock_);
  MemoryCache one_step({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  Entry stored = entry(a_response(false, 300, 120));
  clock_.advance_seconds(20);  // read from the store 20 s after it was stored
  two_steps.insert(key, stored);
  auto expected = two_steps.lookup(key, out_);
  ASSERT_TRUE(expected);
  const std::vector<std::uint8_t> expected_bytes(out_.begin(), out_.begin() + expected->wire_len);
  std::vector<std::uint8_t> out(4096);
  auto hit = one_step.insert_and_lookup(key, stored, out);
  ASSERT_TRUE(hit);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + hit->wire_len), expected_bytes);
  EXPECT_EQ(hit->remaining_seconds, 100u);
  EXPECT_EQ(hit->age_seconds, 20u);
  EXPECT_FALSE(hit->stale);
  EXPECT_EQ(hit->question_end, expected->question_end);
  auto counters = one_step.counters();
  EXPECT_EQ(counters.inserts, 1u);
  EXPECT_EQ(counters.hits, 1u);
  EXPECT_EQ(counters.misses, 0u);
  EXPECT_EQ(one_step.size(), 1u);
  // Later lookups find it like any other entry.
  EXPECT_TRUE(one_step.lookup(key, out));
}

TEST_F(MemoryCacheTest, InsertAndLookupServesAnExpiredStoredAnswerOnlyAsStale) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 3600;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  Entry stored = entry(a_response(false, 300, 120));
  clock_.advance_seconds(200);
  EXPECT_FALSE(cache.insert_and_lookup(key, stored, out_));  // fresh only: a miss, kept
  EXPECT_EQ(cache.counters().misses, 1u);
  EXPECT_EQ(cache.size(), 1u);
  auto hit = cache.insert_and_lookup(key, stored, out_, StaleUse::kAllowStale, 30);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->stale);
  EXPECT_EQ(hit->stale_seconds, 80u);
}

TEST_F(MemoryCacheTest, InsertAndLookupOfAServfailAnswersFromTheGoodDataItMayNotReplace) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 3600;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 300, 120)));
  clock_.advance_seconds(200);
  auto hit = cache.insert_and_lookup(key, entry(rcode_response(2)), out_, StaleUse::kAllowStale);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->rcode, 0);
  EXPECT_TRUE(hit->stale);
}

TEST_F(MemoryCacheTest, ShortAndLongKeysAreFoundListedAndErased) {
  MemoryCache cache({}, clock_);
  // 17 bytes of key (kept inside the node) and 113 (kept apart from it).
  auto short_key = key_for(query_for("www.example.com"));
  auto long_key = key_for(
      query_for("a-rather-long-service-name.with-a-long-namespace.svc.cluster.local.example.com"));
  ASSERT_GT(long_key.view().size(), 46u);
  cache.insert(short_key, entry(a_response(false)));
  cache.insert(long_key, entry(a_response(false)));
  cache.insert(long_key, entry(a_response(false, 300, 60)));  // replaces the node
  EXPECT_TRUE(cache.lookup(short_key, out_));
  auto hit = cache.lookup(long_key, out_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->remaining_seconds, 60u);
  std::vector<std::string> keys;
  cache.for_each([&](std::string_view key, const Entry&, bool) { keys.emplace_back(key); });
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(std::find(keys.begin(), keys.end(), std::string(long_key.view())), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), std::string(short_key.view())), keys.end());
  EXPECT_EQ(cache.erase_if([&](std::string_view key) { return key == long_key.view(); }), 1u);
  EXPECT_FALSE(cache.lookup(long_key, out_));
  EXPECT_TRUE(cache.lookup(short_key, out_));
}

TEST_F(MemoryCacheTest, ReserveChangesNoEntryAndNoCounter) {
  MemoryCacheOptions options;
  options.success_capacity = 1000;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false)));
  cache.reserve(1'000'000);  // more than the capacity: the capacity bounds it
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.lookup(key, out_));
  EXPECT_EQ(cache.counters().inserts, 1u);
}

TEST_F(MemoryCacheTest, ServfailIsCachedBriefly) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("broken.example.com"));
  cache.insert(key, entry(rcode_response(2)));
  ASSERT_TRUE(cache.lookup(key, out_));
  clock_.advance_seconds(5);
  EXPECT_FALSE(cache.lookup(key, out_));
}

TEST_F(MemoryCacheTest, UncacheableEntriesAreIgnored) {
  MemoryCache cache({}, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(rcode_response(5)));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(MemoryCacheTest, KeepTtlReturnsTheOriginalTtls) {
  MemoryCacheOptions options;
  options.keep_ttl = true;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  auto e = entry(a_response(false, 300, 120));
  const std::uint16_t first_ttl = e.ttl_offsets[0];
  cache.insert(key, e);
  clock_.advance_seconds(50);
  ASSERT_TRUE(cache.lookup(key, out_));
  EXPECT_EQ(dns::read_u32(out_.data() + first_ttl), 300u);
}

TEST_F(MemoryCacheTest, PopularEntryNearExpiryIsDueForPrefetchOnce) {
  MemoryCacheOptions options;
  options.prefetch = true;
  options.prefetch_amount = 3;
  options.prefetch_window_seconds = 100;
  options.prefetch_percent = 10;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 100, 100)));
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // 1 hit, 100 s left
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // 2 hits
  clock_.advance_seconds(85);
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // 3 hits, but 15 % left
  clock_.advance_seconds(6);
  EXPECT_TRUE(cache.lookup(key, out_)->prefetch_due);   // 4 hits, 9 % left
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // counted afresh after triggering
}

TEST_F(MemoryCacheTest, HitsOutsideTheWindowDoNotCountForPrefetch) {
  MemoryCacheOptions options;
  options.prefetch = true;
  options.prefetch_amount = 3;
  options.prefetch_window_seconds = 10;
  options.prefetch_percent = 50;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 100, 100)));
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);
  clock_.advance_seconds(30);
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // a new window: 1 hit
  clock_.advance_seconds(30);
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // 40 s left (< 50 %), a new window: 1 hit
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);  // 2 hits
  EXPECT_TRUE(cache.lookup(key, out_)->prefetch_due);   // 3 hits within 10 s
}

TEST_F(MemoryCacheTest, UnpopularEntryIsNeverDueForPrefetch) {
  MemoryCacheOptions options;
  options.prefetch = true;
  options.prefetch_amount = 5;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("www.example.com"));
  cache.insert(key, entry(a_response(false, 100, 100)));
  clock_.advance_seconds(99);
  EXPECT_FALSE(cache.lookup(key, out_)->prefetch_due);
}

TEST_F(MemoryCacheTest, StaleHitCarriesTheKindAndRcode) {
  MemoryCacheOptions options;
  options.max_stale_seconds = 600;
  MemoryCache cache(options, clock_);
  auto key = key_for(query_for("nope.example.com"));
  cache.insert(key, entry(negative_response(3, 60, 30)));
  clock_.advance_seconds(40);
  auto hit = cache.lookup(key, out_, StaleUse::kAllowStale, 30);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->stale);
  EXPECT_EQ(hit->rcode, 3);
  EXPECT_EQ(hit->kind, EntryKind::kDenial);
}

}  // namespace
}  // namespace holdfast::cache
