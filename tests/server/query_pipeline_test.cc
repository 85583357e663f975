// The query pipeline against a scripted upstream group (upstream::UpstreamGroup) on a real loop:
// misses coalesce into one flight, verify-mode serve-stale answers stale when the upstream is
// slower than the client's wait, an open circuit answers stale at once and holds the refresh
// until recovery, and an over-budget upstream gets no refresh now but one later. A stale answer
// promised to a waiting client is kept by its flight, so it still goes out when the memory cache
// evicted the entry meanwhile.
#include "server/query_pipeline.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "cache/response_fixtures.h"
#include "dns/message.h"
#include "dns/packet_builder.h"
#include "server/lookup_prefetch.h"
#include "server/query_fixtures.h"
#include "server/router.h"
#include "server/scripted_upstream.h"

namespace holdfast::server {
namespace {

using testing::answer_for;
using testing::query_for;
using testing::Replies;
using testing::ScriptedUpstream;

std::uint16_t id_of(const std::vector<std::uint8_t>& m) {
  return static_cast<std::uint16_t>((m[0] << 8) | m[1]);
}
std::uint8_t rcode_of(const std::vector<std::uint8_t>& m) {
  return m[3] & 0x0f;
}
// The last byte of the first A record's address (the answers here carry one A record).
std::uint8_t address_octet(const std::vector<std::uint8_t>& m) {
  for (std::size_t i = 12; i + 4 <= m.size(); ++i) {
    if (m[i] == 192 && m[i + 1] == 0 && m[i + 2] == 2) return m[i + 3];
  }
  return 0;
}
bool has_ede(const std::vector<std::uint8_t>& m, std::uint16_t code) {
  // OPT option 15 (EDE), length >= 2, INFO-CODE `code`.
  for (std::size_t i = 12; i + 6 <= m.size(); ++i) {
    if (m[i] == 0 && m[i + 1] == 15 && m[i + 4] == (code >> 8) && m[i + 5] == (code & 0xff)) {
      return true;
    }
  }
  return false;
}

class QueryPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    zone_.stale.enabled = true;
    zone_.stale.verify = true;
    zone_.stale.client_timeout_ms = 400;
    zone_.stale.recheck_ms = 50;
    zone_.upstream = &upstream_;
    pipeline_ = std::make_unique<QueryPipeline>(&loop_, clock_, PipelineOptions{});
    client_ = testing::loopback_client(replies_, router_);
  }
  void TearDown() override {
    pipeline_->close();
    pipeline_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void ask(std::uint16_t id, const char* name) {
    const auto q = query_for(id, name);
    pipeline_->handle(q, client_);
  }
  // Caches an answer for `name` that expired `ago` seconds ago (stale now).
  void cache_stale(const char* name, std::uint8_t octet, std::int64_t ago = 100) {
    testing::cache_answer(zone_, clock_, name, octet, 10, ago);
  }
  // Runs the loop until `done` or `ms` pass.
  template <class Done>
  void run_until(Done done, int ms = 2000) {
    testing::run_loop_until(loop_, done, ms);
  }
  void answer(std::size_t i, const char* name, std::uint8_t octet) {
    const auto response = answer_for(upstream_.asked.at(i).query, name, octet);
    upstream_.asked.at(i).handler->on_upstream_answer(upstream::UpstreamStatus::kAnswer, response);
  }

  uv_loop_t loop_{};
  SystemClock clock_;
  testing::CachedZone cached_{clock_};  // "example.", its cache and router
  Zone& zone_ = cached_.zone();
  const Router& router_ = cached_.router();
  ScriptedUpstream upstream_;
  Replies replies_;
  ClientRef client_;
  std::unique_ptr<QueryPipeline> pipeline_;
};

TEST_F(QueryPipelineTest, MissesForOneQuestionShareOneFlightAndEachClientGetsItsOwnId) {
  ask(101, "a.example");
  ask(102, "a.example");
  ask(103, "A.EXAMPLE");
  ASSERT_EQ(upstream_.asked.size(), 1U);
  EXPECT_TRUE(upstream_.asked[0].as_miss);
  EXPECT_TRUE(replies_.sent.empty());
  answer(0, "a.example", 7);
  ASSERT_EQ(replies_.sent.size(), 3U);
  std::vector<std::uint16_t> ids;
  for (const auto& reply : replies_.sent) {
    EXPECT_EQ(rcode_of(reply), 0);
    EXPECT_EQ(address_octet(reply), 7);
    ids.push_back(id_of(reply));
  }
  EXPECT_EQ(ids, (std::vector<std::uint16_t>{101, 102, 103}));
  ask(104, "a.example");  // now a hit: nothing more upstream
  EXPECT_EQ(upstream_.asked.size(), 1U);
  ASSERT_EQ(replies_.sent.size(), 4U);
  EXPECT_EQ(address_octet(replies_.sent[3]), 7);
}

TEST_F(QueryPipelineTest, TakesTheKeyAndZoneOfAHintThatReadTheSameQuestion) {
  testing::cache_answer(zone_, clock_, "h.example.", 9, 300, 0);
  const auto q = query_for(301, "H.example.");
  const std::optional<dns::QuestionHint> read = dns::question_hint(q);
  ASSERT_TRUE(read);
  // As the listener's prefetch leaves it: answered from the cache as without a hint.
  LookupHint hint(q, *read, &router_);
  hint.zone = &zone_;
  pipeline_->handle_hinted(q, client_, &hint);
  ASSERT_EQ(replies_.sent.size(), 1U);
  EXPECT_EQ(address_octet(replies_.sent[0]), 9);
  // Its zone is the one used (none: REFUSED), not routed again.
  hint.zone = nullptr;
  pipeline_->handle_hinted(q, client_, &hint);
  ASSERT_EQ(replies_.sent.size(), 2U);
  EXPECT_EQ(rcode_of(replies_.sent[1]), 5);
  // A hint that read other bits (here CD) than parse_query is ignored: built and routed again.
  dns::QuestionHint other = *read;
  other.cd_bit = !other.cd_bit;
  LookupHint stale(q, other, &router_);
  stale.zone = nullptr;
  pipeline_->handle_hinted(q, client_, &stale);
  ASSERT_EQ(replies_.sent.size(), 3U);
  EXPECT_EQ(address_octet(replies_.sent[2]), 9);
  // So is one routed by another router.
  Router elsewhere("dns://127.0.0.1:54");
  LookupHint foreign(q, *read, &elsewhere);
  pipeline_->handle_hinted(q, client_, &foreign);
  ASSERT_EQ(replies_.sent.size(), 4U);
  EXPECT_EQ(address_octet(replies_.sent[3]), 9);
  EXPECT_TRUE(upstream_.asked.empty());
}

TEST_F(QueryPipelineTest, VerifyModeAnswersStaleWhenTheUpstreamIsSlowerThanTheClientsWait) {
  cache_stale("b.example", 1);
  ask(201, "b.example");
  ASSERT_EQ(upstream_.asked.size(), 1U);
  EXPECT_FALSE(upstream_.asked[0].as_miss);  // it has data to fall back on
  EXPECT_TRUE(replies_.sent.empty());        // the upstream gets its chance first
  run_until([&] { return !replies_.sent.empty(); });
  ASSERT_EQ(replies_.sent.size(), 1U);  // after stale_wait_ms (30 ms here), stale
  EXPECT_EQ(address_octet(replies_.sent[0]), 1);
  EXPECT_TRUE(has_ede(replies_.sent[0], dns::ede::kStaleAnswer));
  // The late answer still refreshes the cache for the next client, who gets it fresh.
  answer(0, "b.example", 2);
  EXPECT_EQ(replies_.sent.size(), 1U);  // the client was answered once
  ask(202, "b.example");
  ASSERT_EQ(replies_.sent.size(), 2U);
  EXPECT_EQ(address_octet(replies_.sent[1]), 2);
  EXPECT_FALSE(has_ede(replies_.sent[1], dns::ede::kStaleAnswer));
}

TEST_F(QueryPipelineTest, AStaleAnswerPromisedAtTheDeadlineSurvivesItsEntryLeavingTheCache) {
  cache_stale("e.example", 6);
  ask(501, "e.example");
  ask(502, "E.example");  // joins the flight
  ASSERT_EQ(upstream_.asked.size(), 1U);
  // Evicted while the flight is in the air: a working set larger than the cache, as after a
  // restart on a big store, where this entry had just been read from the store.
  EXPECT_EQ(zone_.cache->erase_if([](std::string_view) { return true; }), 1U);
  run_until([&] { return replies_.sent.size() == 2; });
  ASSERT_EQ(replies_.sent.size(), 2U);
  for (const auto& reply : replies_.sent) {
    EXPECT_EQ(rcode_of(reply), 0);
    EXPECT_EQ(address_octet(reply), 6);
    EXPECT_TRUE(has_ede(reply, dns::ede::kStaleAnswer));
  }
  EXPECT_EQ(id_of(replies_.sent[0]), 501);
  EXPECT_EQ(id_of(replies_.sent[1]), 502);
  // The upstream's late failure answers nobody twice.
  upstream_.asked[0].handler->on_upstream_answer(upstream::UpstreamStatus::kTimeout, dns::Bytes());
  EXPECT_EQ(replies_.sent.size(), 2U);
}

TEST_F(QueryPipelineTest, AStaleAnswerPromisedBeforeAFailureSurvivesItsEntryLeavingTheCache) {
  cache_stale("f.example", 8);
  ask(601, "f.example");
  ASSERT_EQ(upstream_.asked.size(), 1U);
  EXPECT_EQ(zone_.cache->erase_if([](std::string_view) { return true; }), 1U);
  // The upstream fails before the client's deadline: stale, not SERVFAIL.
  upstream_.asked[0].handler->on_upstream_answer(upstream::UpstreamStatus::kTimeout, dns::Bytes());
  ASSERT_EQ(replies_.sent.size(), 1U);
  EXPECT_EQ(rcode_of(replies_.sent[0]), 0);
  EXPECT_EQ(address_octet(replies_.sent[0]), 8);
  EXPECT_TRUE(has_ede(replies_.sent[0], dns::ede::kStaleAnswer));
}

TEST_F(QueryPipelineTest, AnOpenCircuitAnswersStaleAtOnceAndRefreshesAfterRecovery) {
  cache_stale("c.example", 3);
  upstream_.open = true;
  ask(301, "c.example");
  ASSERT_EQ(replies_.sent.size(), 1U);
  EXPECT_EQ(address_octet(replies_.sent[0]), 3);
  EXPECT_TRUE(upstream_.asked.empty());  // nothing sent while every upstream is down
  run_until([] { return false; }, 100);
  EXPECT_TRUE(upstream_.asked.empty());  // held: no due time until the recovery
  upstream_.open = false;
  pipeline_->on_circuit_closed(upstream_);
  run_until([&] { return !upstream_.asked.empty(); });  // within recheck (50 ms)
  ASSERT_EQ(upstream_.asked.size(), 1U);
  EXPECT_FALSE(upstream_.asked[0].as_miss);
  answer(0, "c.example", 4);
  ask(302, "c.example");
  ASSERT_EQ(replies_.sent.size(), 2U);
  EXPECT_EQ(address_octet(replies_.sent[1]), 4);
}

TEST_F(QueryPipelineTest, OverBudgetAStaleNameIsAnsweredNowAndRefreshedInTheQuietAfter) {
  cache_stale("d.example", 5);
  upstream_.admits = false;
  ask(401, "d.example");
  ASSERT_EQ(replies_.sent.size(), 1U);  // stale at once: the budget said no
  EXPECT_EQ(address_octet(replies_.sent[0]), 5);
  EXPECT_TRUE(upstream_.asked.empty());
  upstream_.admits = true;
  run_until([&] { return !upstream_.asked.empty(); });  // within recheck
  ASSERT_EQ(upstream_.asked.size(), 1U);
  EXPECT_EQ(pipeline_->counters().refreshes, 1U);
}

}  // namespace
}  // namespace holdfast::server
