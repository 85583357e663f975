// Store reads off the loop (server/store_reads.h): a slow read runs on its own thread while the
// loop goes on, results come back to the loop in the order asked, drain() waits for what was
// queued, close() drops the rest. And the query pipeline with a real store behind its memory
// cache: read in place while the whole store is in the page cache; once it is not (as after a
// reboot), read off the loop, one read per name however many ask, while a memory hit asked
// meanwhile is answered at once, and a name the store lacks goes upstream after the read.
#include "server/store_reads.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "cache/persistent_store.h"
#include "server/query_fixtures.h"
#include "server/query_pipeline.h"
#include "server/scripted_upstream.h"

namespace holdfast::server {
namespace {

using namespace std::chrono_literals;

class StoreReadsTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    reads_->close();
    reads_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  template <class Done>
  void run_until(Done done, int ms = 3000) {
    testing::run_loop_until(loop_, done, ms);
  }
  void make() {
    reads_ = std::make_unique<StoreReads>(&loop_, [this](std::vector<StoreReads::Done>& done) {
      for (auto& d : done) delivered_.push_back(d.key + (d.entry ? "=hit" : "=miss"));
    });
  }
  static StoreReads::Read sleeping(std::chrono::milliseconds ms, bool found) {
    return [ms, found](std::string_view) -> std::optional<cache::Entry> {
      std::this_thread::sleep_for(ms);
      if (!found) return std::nullopt;
      return cache::Entry{};
    };
  }

  uv_loop_t loop_{};
  std::unique_ptr<StoreReads> reads_;
  std::vector<std::string> delivered_;
};

TEST_F(StoreReadsTest, ASlowReadDoesNotHoldUpTheLoop) {
  make();
  const auto start = std::chrono::steady_clock::now();
  reads_->submit("slow", sleeping(300ms, true));
  const auto submitted = std::chrono::steady_clock::now() - start;
  EXPECT_LT(submitted, 100ms);  // the loop is back at once
  // The loop keeps turning meanwhile: a 5 ms timer fires many times before the read is done.
  uv_timer_t timer;
  uv_timer_init(&loop_, &timer);
  int ticks = 0;
  timer.data = &ticks;
  uv_timer_start(
      &timer, [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 5, 5);
  int ticks_at_delivery = -1;
  run_until([&] {
    if (!delivered_.empty() && ticks_at_delivery < 0) ticks_at_delivery = ticks;
    return !delivered_.empty();
  });
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);  // the close finishes while `timer` is in scope
  ASSERT_EQ(delivered_, std::vector<std::string>{"slow=hit"});
  EXPECT_GE(ticks_at_delivery, 20);
}

TEST_F(StoreReadsTest, ResultsComeBackInTheOrderAsked) {
  make();
  reads_->submit("a", sleeping(20ms, true));
  reads_->submit("b", sleeping(1ms, false));
  reads_->submit("c", sleeping(1ms, true));
  run_until([&] { return delivered_.size() == 3; });
  EXPECT_EQ(delivered_, (std::vector<std::string>{"a=hit", "b=miss", "c=hit"}));
}

TEST_F(StoreReadsTest, DrainWaitsForEveryQueuedRead) {
  make();
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) {
    reads_->submit("k" + std::to_string(i), [&ran](std::string_view) {
      std::this_thread::sleep_for(30ms);
      ++ran;
      return std::optional<cache::Entry>();
    });
  }
  reads_->drain();           // right away, in the same turn of the loop as the submits
  EXPECT_EQ(ran.load(), 3);  // all ran before drain() returned (a store may close now)
  run_until([&] { return delivered_.size() == 3; });
  EXPECT_EQ(delivered_.size(), 3u);
}

TEST_F(StoreReadsTest, CloseDropsWhatIsQueuedAndDeliversNothingAfter) {
  make();
  std::atomic<int> ran{0};
  reads_->submit("first", [&ran](std::string_view) {
    std::this_thread::sleep_for(100ms);
    ++ran;
    return std::optional<cache::Entry>();
  });
  for (int i = 0; i < 5; ++i) {
    reads_->submit("queued" + std::to_string(i), [&ran](std::string_view) {
      ++ran;
      return std::optional<cache::Entry>();
    });
  }
  reads_->close();  // joins: the running read finishes, the queued ones never run
  EXPECT_LE(ran.load(), 1);
  reads_->submit("after", sleeping(1ms, true));  // ignored once closed
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_TRUE(delivered_.empty());
}

// The pipeline with a real LMDB store behind its memory cache.
class PipelineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("holdfast-pipeline-store-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    cache::StoreOptions options;
    options.dir = dir_.string();
    options.size_bytes = 4 << 20;
    options.flush_interval = 10ms;
    store_ = cache::PersistentStore::open(options, clock_);
    ASSERT_EQ(store_->state(), cache::StoreState::kOpen);
    uv_loop_init(&loop_);
    block_.zones = {"example."};
    zone_.block = &block_;
    zone_.name = "example.:53";
    zone_.cache = std::make_shared<cache::MemoryCache>(cache::MemoryCacheOptions{}, clock_);
    zone_.store = store_.get();
    zone_.upstream = &upstream_;
    router_.add(&zone_);
    pipeline_ = std::make_unique<QueryPipeline>(&loop_, clock_, PipelineOptions{});
    client_ = testing::loopback_client(replies_, router_);
  }
  void TearDown() override {
    pipeline_->close();
    pipeline_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    store_->close();
    std::filesystem::remove_all(dir_);
  }
  // Puts an answer for `name` in the store only (not in memory).
  void store_answer(const char* name, std::uint8_t octet) {
    const auto q = testing::query_for(1, name);
    auto entry = cache::make_entry(testing::answer_for(q, name, octet), zone_.ttl_policy,
                                   clock_.wall_seconds());
    ASSERT_TRUE(entry);
    const dns::ParsedQuery parsed = dns::parse_query(q);
    store_->put(cache::CacheKey(q, parsed.query.question, {false, false}).view(), *entry);
    store_->flush();
  }
  // As after a reboot: the store's pages are not in the page cache, a read would wait for the
  // disk (what PersistentStore::pages_resident() tells in production).
  void store_not_in_page_cache() {
    pipeline_->close();
    pipeline_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    PipelineOptions options;
    options.store_in_page_cache = [](const cache::PersistentStore&) { return false; };
    pipeline_ = std::make_unique<QueryPipeline>(&loop_, clock_, options);
  }
  template <class Done>
  void run_until(Done done, int ms = 3000) {
    testing::run_loop_until(loop_, done, ms);
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  std::unique_ptr<cache::PersistentStore> store_;
  uv_loop_t loop_{};
  config::ServerBlock block_;
  Zone zone_;
  Router router_{"dns://127.0.0.1:53"};
  testing::ScriptedUpstream upstream_;
  testing::Replies replies_;
  ClientRef client_;
  std::unique_ptr<QueryPipeline> pipeline_;
};

TEST_F(PipelineStoreTest, AStoreAllInThePageCacheIsReadInPlace) {
  store_answer("stored.example.", 7);
  ASSERT_TRUE(store_->pages_resident());
  pipeline_->handle(testing::query_for(301, "stored.example."), client_);
  ASSERT_EQ(replies_.sent.size(), 1u);  // answered on the spot: no read can wait for the disk
  EXPECT_EQ(dns::read_u16(replies_.sent[0].data()), 301);
  EXPECT_TRUE(upstream_.asked.empty());
  EXPECT_EQ(pipeline_->counters().store_promotions, 1u);
}

TEST_F(PipelineStoreTest, AMemoryMissIsReadOffTheLoopWhenTheStoreIsNotInThePageCache) {
  store_answer("stored.example.", 7);
  store_not_in_page_cache();
  testing::cache_answer(zone_, clock_, "hot.example.", 9, 300, 0);
  const std::uint64_t reads_before = store_->counters().reads.load();
  pipeline_->handle(testing::query_for(101, "stored.example."), client_);
  pipeline_->handle(testing::query_for(102, "Stored.Example."), client_);  // the same question
  EXPECT_TRUE(replies_.sent.empty());  // not answered on the spot: the store is read elsewhere
  // A hit asked meanwhile is answered at once.
  pipeline_->handle(testing::query_for(103, "hot.example."), client_);
  ASSERT_EQ(replies_.sent.size(), 1u);
  EXPECT_EQ(dns::read_u16(replies_.sent[0].data()), 103);
  run_until([&] { return replies_.sent.size() == 3; });
  ASSERT_EQ(replies_.sent.size(), 3u);
  EXPECT_EQ(dns::read_u16(replies_.sent[1].data()), 101);
  EXPECT_EQ(dns::read_u16(replies_.sent[2].data()), 102);
  EXPECT_EQ(replies_.sent[2][3] & 0x0f, 0);                       // NOERROR, from the store
  EXPECT_EQ(store_->counters().reads.load() - reads_before, 1u);  // one read for both
  EXPECT_TRUE(upstream_.asked.empty());                           // nothing went upstream
  EXPECT_EQ(pipeline_->counters().store_promotions, 1u);
  // Now in memory: answered at once.
  pipeline_->handle(testing::query_for(104, "stored.example."), client_);
  EXPECT_EQ(replies_.sent.size(), 4u);
}

TEST_F(PipelineStoreTest, ANameTheStoreLacksGoesUpstreamAfterTheRead) {
  store_answer("other.example.", 1);
  store_not_in_page_cache();
  pipeline_->handle(testing::query_for(201, "new.example."), client_);
  EXPECT_TRUE(upstream_.asked.empty());  // the store first
  EXPECT_EQ(pipeline_->flights_in_air(), 1u);
  run_until([&] { return !upstream_.asked.empty(); });
  ASSERT_EQ(upstream_.asked.size(), 1u);
  const auto response = testing::answer_for(upstream_.asked[0].query, "new.example.", 5);
  upstream_.asked[0].handler->on_upstream_answer(upstream::UpstreamStatus::kAnswer, response);
  ASSERT_EQ(replies_.sent.size(), 1u);
  EXPECT_EQ(dns::read_u16(replies_.sent[0].data()), 201);
}

// A reload retires the zone while its client waits for the store: the read counts as one of the
// zone's flights until then; abandoning answers the client at once (SERVFAIL: nothing in memory)
// and never through the closed upstream, and the read's late result answers no one twice.
TEST_F(PipelineStoreTest, AbandoningAZoneAnswersItsStoreWaitersAndForgetsThem) {
  store_answer("stored.example.", 7);
  store_not_in_page_cache();
  pipeline_->handle(testing::query_for(401, "stored.example."), client_);
  EXPECT_EQ(pipeline_->flights_for(&zone_), 1u);
  pipeline_->abandon_flights(&zone_);
  ASSERT_EQ(replies_.sent.size(), 1u);
  EXPECT_EQ(dns::read_u16(replies_.sent[0].data()), 401);
  EXPECT_EQ(replies_.sent[0][3] & 0x0f, 2);  // SERVFAIL
  EXPECT_EQ(pipeline_->flights_for(&zone_), 0u);
  pipeline_->drain_store_reads();
  run_until([] { return false; }, 50);  // the read's result arrives: nobody left to answer
  EXPECT_EQ(replies_.sent.size(), 1u);
  EXPECT_TRUE(upstream_.asked.empty());
}

}  // namespace
}  // namespace holdfast::server
