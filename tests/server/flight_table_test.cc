// The flight table (server/flight_table.h) on its own: one flight per question, waiters in order,
// deadlines taken in time order and only for waiters still waiting on flights still in the air,
// flights closed once, and the upstream's answer handed to the sink.
#include "server/flight_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "cache/cache_key.h"
#include "dns/message.h"
#include "server/query_fixtures.h"

namespace holdfast::server {
namespace {

struct Done {
  Flight* flight;
  upstream::UpstreamStatus status;
  std::vector<std::uint8_t> response;
};

class RecordingSink final : public FlightSink {
 public:
  void on_flight_done(Flight* flight, upstream::UpstreamStatus status,
                      dns::Bytes response) noexcept override {
    done.push_back(
        Done{flight, status, std::vector<std::uint8_t>(response.begin(), response.end())});
  }
  std::vector<Done> done;
};

cache::CacheKey key_of(const std::vector<std::uint8_t>& query) {
  const dns::ParsedQuery parsed = dns::parse_query(query);
  EXPECT_EQ(parsed.error, dns::QueryError::kNone);
  return cache::CacheKey(query, parsed.query.question, {false, false});
}

ClientRef client_on_port(std::uint16_t port) {
  ClientRef client;
  auto& in = reinterpret_cast<sockaddr_in&>(client.peer);
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(0x7f000001);
  return client;
}

class FlightTableTest : public ::testing::Test {
 protected:
  const std::vector<std::uint8_t> q1_ = testing::query_for(1, "a.example.");
  const std::vector<std::uint8_t> q2_ = testing::query_for(2, "b.example.");
  const cache::CacheKey k1_ = key_of(q1_);
  const cache::CacheKey k2_ = key_of(q2_);
  // Zones are only compared by address here.
  Zone* const zone_a_ = reinterpret_cast<Zone*>(0x1000);
  Zone* const zone_b_ = reinterpret_cast<Zone*>(0x2000);
  RecordingSink sink_;
  FlightTable table_;
};

TEST_F(FlightTableTest, OneFlightPerQuestion) {
  EXPECT_EQ(table_.find(k1_.view()), nullptr);
  Flight& f1 = table_.open(sink_, k1_, zone_a_, q1_);
  EXPECT_EQ(table_.find(k1_.view()), &f1);
  EXPECT_TRUE(table_.contains(k1_.view()));
  EXPECT_FALSE(table_.contains(k2_.view()));
  Flight& f2 = table_.open(sink_, k2_, zone_a_, q2_);
  EXPECT_NE(&f1, &f2);
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(f1.key().view(), k1_.view());
  EXPECT_EQ(f1.query(), q1_);
  EXPECT_EQ(f1.zone(), zone_a_);
}

TEST_F(FlightTableTest, WaitersJoinInOrderWithIncreasingIds) {
  Flight& flight = table_.open(sink_, k1_, zone_a_, q1_);
  const std::uint64_t first = table_.join(flight, client_on_port(1000), q1_, 0);
  const std::uint64_t second = table_.join(flight, client_on_port(1001), q1_, 0);
  EXPECT_LT(first, second);
  ASSERT_EQ(flight.waiters().size(), 2u);
  EXPECT_EQ(flight.waiters()[0].id, first);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in&>(flight.waiters()[1].client.peer).sin_port),
            1001);
  EXPECT_EQ(flight.waiters()[0].query, q1_);  // the client's own packet, kept
  EXPECT_FALSE(table_.next_deadline_ms());    // no deadline asked for
}

TEST_F(FlightTableTest, DeadlinesComeDueInTimeOrderAndOnlyOnce) {
  Flight& f1 = table_.open(sink_, k1_, zone_a_, q1_);
  Flight& f2 = table_.open(sink_, k2_, zone_a_, q2_);
  const std::uint64_t late = table_.join(f1, client_on_port(1), q1_, 300);
  const std::uint64_t early = table_.join(f2, client_on_port(2), q2_, 100);
  const std::uint64_t middle = table_.join(f1, client_on_port(3), q1_, 200);
  EXPECT_EQ(table_.next_deadline_ms(), 100);

  std::vector<std::uint64_t> seen;
  auto answer_all = [&](Flight&, const FlightWaiter& waiter) {
    seen.push_back(waiter.id);
    return true;
  };
  table_.take_due(99, answer_all);
  EXPECT_TRUE(seen.empty());
  table_.take_due(200, answer_all);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{early, middle}));
  EXPECT_EQ(table_.next_deadline_ms(), 300);
  // Answered ones are marked, so the flight's own answer skips them.
  EXPECT_TRUE(f1.waiters()[1].answered);
  EXPECT_FALSE(f1.waiters()[0].answered);
  table_.take_due(200, answer_all);  // nothing twice
  EXPECT_EQ(seen.size(), 2u);
  table_.take_due(1000, answer_all);
  EXPECT_EQ(seen.back(), late);
  EXPECT_FALSE(table_.next_deadline_ms());
}

TEST_F(FlightTableTest, AWaiterNotAnsweredAtItsDeadlineStaysUnanswered) {
  Flight& flight = table_.open(sink_, k1_, zone_a_, q1_);
  table_.join(flight, client_on_port(1), q1_, 100);
  table_.take_due(100, [](Flight&, const FlightWaiter&) { return false; });  // nothing stale
  EXPECT_FALSE(flight.waiters()[0].answered);
}

TEST_F(FlightTableTest, AClosedFlightsDeadlinesAreSkipped) {
  Flight& flight = table_.open(sink_, k1_, zone_a_, q1_);
  table_.join(flight, client_on_port(1), q1_, 100);
  auto owned = table_.close(&flight);
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(table_.find(k1_.view()), nullptr);
  // A new flight for the same question: the old deadline is not its waiter's.
  Flight& again = table_.open(sink_, k1_, zone_a_, q1_);
  table_.join(again, client_on_port(2), q1_, 0);
  int calls = 0;
  table_.take_due(1000, [&](Flight&, const FlightWaiter&) { return ++calls > 0; });
  EXPECT_EQ(calls, 0);
}

TEST_F(FlightTableTest, AFlightIsClosedOnce) {
  Flight& flight = table_.open(sink_, k1_, zone_a_, q1_);
  auto owned = table_.close(&flight);
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(table_.close(owned.get()), nullptr);  // no longer in the table
  // Nor does closing an old flight take the newer one under the same key.
  Flight& newer = table_.open(sink_, k1_, zone_a_, q1_);
  EXPECT_EQ(table_.close(owned.get()), nullptr);
  EXPECT_EQ(table_.find(k1_.view()), &newer);
}

TEST_F(FlightTableTest, FlightsAreCountedPerZone) {
  Flight& f1 = table_.open(sink_, k1_, zone_a_, q1_);
  table_.open(sink_, k2_, zone_b_, q2_);
  EXPECT_EQ(table_.count_on(zone_a_), 1u);
  EXPECT_EQ(table_.count_on(zone_b_), 1u);
  EXPECT_EQ(table_.on_zone(zone_a_), std::vector<Flight*>{&f1});
  EXPECT_EQ(table_.count_on(nullptr), 0u);
}

TEST_F(FlightTableTest, TheUpstreamAnswerGoesToTheSink) {
  Flight& flight = table_.open(sink_, k1_, zone_a_, q1_);
  const std::vector<std::uint8_t> response = testing::answer_for(q1_, "a.example.", 7);
  flight.on_upstream_answer(upstream::UpstreamStatus::kAnswer, response);
  ASSERT_EQ(sink_.done.size(), 1u);
  EXPECT_EQ(sink_.done[0].flight, &flight);
  EXPECT_EQ(sink_.done[0].status, upstream::UpstreamStatus::kAnswer);
  EXPECT_EQ(sink_.done[0].response, response);
}

}  // namespace
}  // namespace holdfast::server
