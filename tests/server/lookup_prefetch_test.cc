// Prefetching a batch's cache lookups (server/lookup_prefetch.h): the hint's key is the key the
// lookup uses, each packet gets its own hint (or none), and prefetching changes nothing in the
// cache — no hit, miss or insert — for queries cached, absent, unrouted or not plain.
#include "server/lookup_prefetch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "dns/message.h"
#include "dns/packet_builder.h"
#include "server/query_fixtures.h"

namespace holdfast::server {
namespace {

using testing::CachedZone;
using testing::query_for;

// "<prefix><n>.example." (appended piece by piece: GCC 12 warns wrongly on operator+ chains).
std::string numbered(const char* prefix, int n) {
  std::string name = prefix;
  name += std::to_string(n);
  name += ".example.";
  return name;
}

cache::CacheKey parsed_key(const std::vector<std::uint8_t>& query) {
  const dns::ParsedQuery parsed = dns::parse_query(query);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  return cache::CacheKey(query, parsed.query);
}

TEST(LookupHint, HasTheKeyTheLookupUsesAndMatchesItsOwnPacket) {
  const Router router("dns://127.0.0.1:53");
  std::vector<std::vector<std::uint8_t>> queries;
  queries.push_back(query_for(1, "WwW.Example."));
  for (const std::uint16_t flags : {0x0100, 0x0110}) {  // RD; RD and CD
    for (const std::uint32_t ttl : {0u, 0x8000u}) {     // without and with DO
      dns::testing::PacketBuilder b;
      b.header(2, flags, 1, 0, 0, 1)
          .question("MiXeD.cAsE.example", dns::qtype::kAaaa)
          .opt(1232, ttl);
      queries.push_back(b.bytes());
    }
    dns::testing::PacketBuilder plain;
    plain.header(3, flags, 1, 0, 0, 0).question("a.b.c.example", dns::qtype::kTxt);
    queries.push_back(plain.bytes());
  }
  for (const auto& query : queries) {
    const std::optional<dns::QuestionHint> read = dns::question_hint(query);
    ASSERT_TRUE(read);
    const LookupHint hint(query, *read, &router);
    EXPECT_EQ(hint.key.view(), parsed_key(query).view());
    EXPECT_EQ(hint.key.hash(), parsed_key(query).hash());
    EXPECT_TRUE(hint.matches(dns::parse_query(query).query));
    EXPECT_EQ(hint.zone, nullptr);  // the router has no zone
  }
}

TEST(PrefetchLookups, ChangesNothingInTheCache) {
  ManualClock clock;
  CachedZone zone(clock);
  for (int i = 0; i < 200; ++i) zone.put(numbered("n", i).c_str(), 300);
  std::vector<std::vector<std::uint8_t>> queries;
  for (int i = 0; i < 60; ++i) queries.push_back(query_for(1, numbered("N", i * 7).c_str()));
  queries.push_back(query_for(2, "absent.example."));
  queries.push_back(query_for(3, "elsewhere.org."));  // no zone
  queries.push_back({0x12, 0x34});                    // not a query
  std::vector<dns::Bytes> packets(queries.begin(), queries.end());
  std::vector<std::optional<LookupHint>> hints(packets.size());
  const cache::CacheCounters before = zone.zone().cache->counters();

  prefetch_lookups(packets, &zone.router(), hints);
  for (std::size_t i = 0; i < 61; ++i) {  // cached or not, in the zone
    ASSERT_TRUE(hints[i]) << i;
    EXPECT_EQ(hints[i]->zone, &zone.zone());
    EXPECT_EQ(hints[i]->key.view(), parsed_key(queries[i]).view());
  }
  ASSERT_TRUE(hints[61]);
  EXPECT_EQ(hints[61]->zone, nullptr);  // routed nowhere
  EXPECT_FALSE(hints[62]);              // not a query

  prefetch_lookups(packets, nullptr, hints);  // a listener without zones: no hints left
  for (const auto& hint : hints) EXPECT_FALSE(hint);

  const cache::CacheCounters after = zone.zone().cache->counters();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.inserts, before.inserts);
  EXPECT_EQ(zone.zone().cache->size(), 200u);
  // The lookups after it are what they would have been.
  std::vector<std::uint8_t> out(4096);
  EXPECT_TRUE(zone.zone().cache->lookup(parsed_key(queries[0]), out));
  EXPECT_FALSE(zone.zone().cache->lookup(parsed_key(queries[60]), out));
}

}  // namespace
}  // namespace holdfast::server
