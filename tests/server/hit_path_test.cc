// Worker loops (server/hit_path.h, server/worker_pool.h): a worker answers a fresh hit itself —
// the client's ID and spelling, counted once — and hands everything else to the owner untouched
// and uncounted (a miss, a stale entry, a block with `log` or `rrl`); with real threads and
// sockets, hits are answered by the worker's socket while the owner gets the misses, and the pool
// stops cleanly (run under TSan by `tools/dev test --tsan`).
#include "server/hit_path.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "dns/message.h"
#include "server/lookup_prefetch.h"
#include "server/query_fixtures.h"
#include "server/router.h"
#include "server/udp_listener.h"
#include "server/worker_pool.h"

namespace holdfast::server {
namespace {

using testing::CachedZone;
using testing::query_for;
using testing::Replies;

class HitPathTest : public ::testing::Test {
 protected:
  static void wake(void* self) { ++static_cast<HitPathTest*>(self)->wakes_; }
  void SetUp() override {
    path_.add_listener(&replies_, 3);
    client_.sink = &replies_;
    client_.router = &zone_.router();
    auto& peer = reinterpret_cast<sockaddr_in&>(client_.peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons(40000);
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  std::vector<HandoffMessage> handed() {
    std::vector<HandoffMessage> out;
    queue_.take(out);
    return out;
  }

  ManualClock clock_;
  CachedZone zone_{clock_};
  Replies replies_;
  HandoffQueue queue_{16};
  int wakes_ = 0;
  HitPath path_{clock_, 1232, queue_, &HitPathTest::wake, this};
  ClientRef client_;
};

TEST_F(HitPathTest, AnswersAFreshHitForItsClient) {
  zone_.put("www.example.", 300, 100);
  const auto q = query_for(0xBEEF, "WwW.ExAmple.");
  path_.handle(q, client_);
  ASSERT_EQ(replies_.sent.size(), 1u);
  const auto& reply = replies_.sent[0];
  EXPECT_EQ(reply[0], 0xBE);
  EXPECT_EQ(reply[1], 0xEF);
  EXPECT_EQ(std::string(reply.begin() + 13, reply.begin() + 16), "WwW");  // the client's case
  EXPECT_EQ(reply[2] & 0x80, 0x80);                                       // QR
  EXPECT_TRUE(handed().empty());
  EXPECT_EQ(path_.counters().answered, 1u);
  EXPECT_EQ(zone_.zone().cache->counters().hits, 1u);
  ASSERT_EQ(path_.requests().size(), 1u);
  EXPECT_EQ(path_.requests()[0].target, &zone_.router().metrics_for(&zone_.zone()));
}

TEST_F(HitPathTest, TakesTheKeyAndZoneOfAHintThatReadTheSameQuestion) {
  zone_.put("www.example.", 300, 100);
  const auto q = query_for(0xBEEF, "WwW.ExAmple.");
  const std::optional<dns::QuestionHint> read = dns::question_hint(q);
  ASSERT_TRUE(read);
  LookupHint hint(q, *read, &zone_.router());
  hint.zone = &zone_.zone();
  path_.handle_hinted(q, client_, &hint);
  EXPECT_EQ(replies_.sent.size(), 1u);
  EXPECT_TRUE(handed().empty());
  hint.zone = nullptr;  // used as it is: no zone, the owner's to answer
  path_.handle_hinted(q, client_, &hint);
  EXPECT_EQ(replies_.sent.size(), 1u);
  EXPECT_EQ(handed().size(), 1u);
}

TEST_F(HitPathTest, HandsAMissToTheOwnerUncounted) {
  const auto q = query_for(7, "nothere.example.");
  path_.handle(q, client_);
  EXPECT_TRUE(replies_.sent.empty());
  const auto messages = handed();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].kind, HandoffMessage::Kind::kQuery);
  EXPECT_EQ(messages[0].slot, 3u);
  EXPECT_EQ(messages[0].packet, q);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(messages[0].peer).sin_port, htons(40000));
  EXPECT_EQ(wakes_, 1);
  // The owner's own lookup counts the miss; the worker must not count it a second time.
  EXPECT_EQ(zone_.zone().cache->counters().misses, 0u);
  EXPECT_EQ(path_.counters().handed_off, 1u);
}

TEST_F(HitPathTest, HandsAStaleEntryToTheOwner) {
  zone_.put("old.example.", 10, 100);  // expired 90 s ago: the owner's stale policy decides
  path_.handle(query_for(8, "old.example."), client_);
  EXPECT_TRUE(replies_.sent.empty());
  EXPECT_EQ(handed().size(), 1u);
  EXPECT_EQ(zone_.zone().cache->counters().hits, 0u);
  EXPECT_EQ(zone_.zone().cache->size(), 1u);  // left for the owner, not freed here
}

TEST_F(HitPathTest, HandsEverythingOfABlockThatLogsToTheOwner) {
  zone_.put("www.example.", 300);
  zone_.block().log = true;  // one log line per query: the owner writes it
  path_.handle(query_for(9, "www.example."), client_);
  EXPECT_TRUE(replies_.sent.empty());
  EXPECT_EQ(handed().size(), 1u);
}

TEST_F(HitPathTest, HandsMalformedAndUnroutedQueriesToTheOwner) {
  const std::vector<std::uint8_t> garbage{1, 2, 3};
  path_.handle(garbage, client_);
  path_.handle(query_for(10, "www.elsewhere."), client_);
  EXPECT_TRUE(replies_.sent.empty());
  EXPECT_EQ(handed().size(), 2u);
}

TEST_F(HitPathTest, DropsAndCountsWhenTheOwnersQueueIsFull) {
  for (std::uint16_t i = 0; i < 20; ++i) path_.handle(query_for(i, "miss.example."), client_);
  EXPECT_EQ(handed().size(), 16u);
  EXPECT_EQ(path_.counters().handoff_drops, 4u);
}

// Threads and sockets: the owner loop here, one worker; hits go out of whichever socket the
// kernel chose, misses reach the owner's callback.
class OwnerAnswers final : public QueryHandler {
 public:
  void handle(dns::Bytes packet, const ClientRef& client) noexcept override {
    ++received;
    std::vector<std::uint8_t> reply(packet.begin(), packet.end());
    reply[2] |= 0x80;
    reply[3] = static_cast<std::uint8_t>((reply[3] & 0xf0) | 5);  // REFUSED: "the owner"
    client.sink->send_reply(client, reply);
  }
  int received = 0;
};

TEST(WorkerPool, AWorkerAnswersHitsOnItsSocketAndTheOwnerTheRest) {
  SystemClock clock;
  CachedZone zone(clock);
  zone.put("hit.example.", 300);
  uv_loop_t loop;
  uv_loop_init(&loop);
  OwnerAnswers owner_path;
  UdpListener owner(&loop, owner_path, zone.router());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  {
    // A free port: the kernel's pick for a socket closed at once.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    ::close(fd);
  }
  ASSERT_TRUE(owner.bind("127.0.0.1", ntohs(address.sin_port)));
  std::vector<HandoffMessage> handed;
  WorkerPool pool(&loop, clock, 1232, [&](HandoffMessage& m) { handed.push_back(std::move(m)); });
  ASSERT_TRUE(pool.start(2, {&owner}));
  ASSERT_EQ(pool.size(), 1u);

  // 200 clients, each its own socket (port): about half land on each socket of the group.
  constexpr int kClients = 200;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
    const auto q =
        query_for(static_cast<std::uint16_t>(i), i % 4 == 0 ? "miss.example." : "hit.example.");
    ASSERT_EQ(
        ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address),
        static_cast<ssize_t>(q.size()));
    // The cache is written while the worker reads it (TSan checks the shard locks).
    if (i % 10 == 0) zone.put("other.example.", 300);
  }
  int hits = 0;
  int refused = 0;
  std::vector<bool> done(kClients, false);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (hits + refused + static_cast<int>(handed.size()) < kClients &&
         std::chrono::steady_clock::now() < until) {
    uv_run(&loop, UV_RUN_NOWAIT);
    for (int i = 0; i < kClients; ++i) {
      if (done[i]) continue;
      std::uint8_t buffer[512];
      const ssize_t n = ::recv(fds[i], buffer, sizeof buffer, 0);
      if (n < 12) continue;
      done[i] = true;
      ((buffer[3] & 0x0f) == 5 ? refused : hits) += 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Hits the owner's socket got went to its handler (REFUSED here); misses the worker's socket got
  // came through the queue (unanswered here). Every client is accounted for, and both paths ran.
  EXPECT_EQ(hits + refused + static_cast<int>(handed.size()), kClients);
  EXPECT_GT(hits, 0) << "the worker answered no hit";
  EXPECT_GT(handed.size(), 0u) << "the worker handed over no miss";
  for (const HandoffMessage& m : handed) EXPECT_EQ(m.slot, 0u);
  pool.stop();
  const std::vector<WorkerStats> stats = pool.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].path.answered, static_cast<std::uint64_t>(hits));
  EXPECT_EQ(stats[0].path.handed_off, handed.size());
  for (int fd : fds) ::close(fd);
  owner.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// The policy (sched_setscheduler) of each thread of this process named `prefix`N.
std::map<std::string, int> policies_of_threads(const std::string& prefix) {
  std::map<std::string, int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm_file(task.path() / "comm");
    std::string comm;
    std::getline(comm_file, comm);
    if (comm.rfind(prefix, 0) != 0) continue;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i) {
      if (i == 41) out[comm] = std::stoi(field);  // proc(5): policy
    }
  }
  return out;
}

TEST(WorkerPool, WorkerThreadsAreNamedAndDoNotPreemptAtWakeUp) {
  SystemClock clock;
  CachedZone zone(clock);
  uv_loop_t loop;
  uv_loop_init(&loop);
  OwnerAnswers owner_path;
  UdpListener owner(&loop, owner_path, zone.router());
  ASSERT_TRUE(owner.bind("127.0.0.1", 0));
  WorkerPool pool(&loop, clock, 1232, [](HandoffMessage&) {});
  ASSERT_TRUE(pool.start(3, {&owner}));
  std::map<std::string, int> policies;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (policies.size() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    policies = policies_of_threads("holdfast-w");
  }
  // SCHED_BATCH: a query that wakes a worker does not preempt the pod running on its core.
  const std::map<std::string, int> expected{{"holdfast-w1", SCHED_BATCH},
                                            {"holdfast-w2", SCHED_BATCH}};
  EXPECT_EQ(policies, expected);
  EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER) << "the owner loop keeps its policy";
  pool.stop();
  owner.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace holdfast::server
