#include "upstream/circuit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

namespace holdfast::upstream {
namespace {

constexpr std::uint64_t kSeed = 7;

CircuitOptions options(int max_fails, std::int64_t probe_interval_ms = 1000, int probes = 2) {
  return CircuitOptions{max_fails, probe_interval_ms, probes};
}

// A query to `server` sent at `now_ms` that fails at once.
CircuitChange send_and_fail(Circuit& circuit, std::size_t server, std::int64_t now_ms) {
  circuit.on_sent(server, now_ms);
  return circuit.on_failure(server, now_ms, now_ms);
}

// Every one of `servers` servers marked down at `now_ms`: the circuit is open.
void open_circuit(Circuit& circuit, std::size_t servers, std::int64_t now_ms) {
  for (std::size_t i = 0; i < servers; ++i) circuit.mark_down(i, now_ms);
  ASSERT_TRUE(circuit.open());
}

// --- Health and the breaker -------------------------------------------------------------------

TEST(Circuit, KeepsAServerUpBeforeMaxFailsFailuresInARow) {
  Circuit circuit(2, options(3), kSeed);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 0, 10);
  EXPECT_FALSE(circuit.down(0));
}

TEST(Circuit, MarksAServerDownAtMaxFailsFailuresInARow) {
  Circuit circuit(2, options(3), kSeed);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 0, 10);
  EXPECT_EQ(send_and_fail(circuit, 0, 20), CircuitChange::kNone);  // server 1 is still up
  EXPECT_TRUE(circuit.down(0));
  EXPECT_FALSE(circuit.open());
}

TEST(Circuit, AnAnswerResetsTheFailuresInARow) {
  Circuit circuit(1, options(3), kSeed);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 0, 10);
  circuit.on_sent(0, 20);
  circuit.on_answer(0, 30);
  send_and_fail(circuit, 0, 40);
  send_and_fail(circuit, 0, 50);
  EXPECT_FALSE(circuit.down(0));
}

TEST(Circuit, DoesNotOpenWhileOneServerIsUp) {
  Circuit circuit(3, options(1), kSeed);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 2, 0);
  EXPECT_FALSE(circuit.open());
}

TEST(Circuit, OpensWhenTheLastServerGoesDown) {
  Circuit circuit(2, options(2), kSeed);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 0, 0);
  send_and_fail(circuit, 1, 100);
  EXPECT_EQ(send_and_fail(circuit, 1, 150), CircuitChange::kOpened);
  EXPECT_TRUE(circuit.open());
  EXPECT_EQ(circuit.opened_at_ms(), 150);
}

TEST(Circuit, ReportsOpeningOnlyOnce) {
  Circuit circuit(1, options(1), kSeed);
  ASSERT_EQ(send_and_fail(circuit, 0, 0), CircuitChange::kOpened);
  EXPECT_EQ(send_and_fail(circuit, 0, 10), CircuitChange::kNone);
  EXPECT_EQ(circuit.mark_down(0, 20), CircuitChange::kNone);
  EXPECT_EQ(circuit.opened_at_ms(), 0);
}

TEST(Circuit, NeverMarksAServerDownWhenMaxFailsIsZero) {
  Circuit circuit(1, options(0), kSeed);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(send_and_fail(circuit, 0, i), CircuitChange::kNone);
  EXPECT_FALSE(circuit.down(0));
  EXPECT_FALSE(circuit.open());
}

TEST(Circuit, MarkDownDoesNothingWhenMaxFailsIsZero) {
  Circuit circuit(1, options(0), kSeed);
  EXPECT_EQ(circuit.mark_down(0, 0), CircuitChange::kNone);
  EXPECT_FALSE(circuit.down(0));
  EXPECT_FALSE(circuit.open());
}

TEST(Circuit, MarkDownOfTheLastUpServerOpens) {
  Circuit circuit(2, options(5), kSeed);
  EXPECT_EQ(circuit.mark_down(1, 10), CircuitChange::kNone);
  EXPECT_EQ(circuit.mark_down(0, 20), CircuitChange::kOpened);
  EXPECT_EQ(circuit.opened_at_ms(), 20);
}

TEST(Circuit, AServerMarkedDownNeedsAnAnswerNotOneMoreFailureToComeBack) {
  Circuit circuit(2, options(3), kSeed);
  circuit.mark_down(0, 0);
  send_and_fail(circuit, 0, 10);
  EXPECT_TRUE(circuit.down(0));
}

TEST(Circuit, AnAnswerBringsADownServerBack) {
  Circuit circuit(2, options(1), kSeed);
  send_and_fail(circuit, 0, 0);
  circuit.on_sent(0, 10);
  circuit.on_answer(0, 20);
  EXPECT_FALSE(circuit.down(0));
}

TEST(Circuit, AnyAnswerClosesTheOpenCircuit) {
  Circuit circuit(2, options(1), kSeed);
  open_circuit(circuit, 2, 0);
  circuit.on_sent(1, 10);
  EXPECT_EQ(circuit.on_answer(1, 20), CircuitChange::kClosed);
  EXPECT_FALSE(circuit.open());
  EXPECT_TRUE(circuit.down(0));  // only the server that answered is back
}

TEST(Circuit, ReportsClosingOnlyOnce) {
  Circuit circuit(2, options(1), kSeed);
  open_circuit(circuit, 2, 0);
  circuit.on_sent(0, 10);
  circuit.on_sent(1, 10);
  ASSERT_EQ(circuit.on_answer(0, 20), CircuitChange::kClosed);
  EXPECT_EQ(circuit.on_answer(1, 30), CircuitChange::kNone);
}

TEST(Circuit, AnAnswerWhileClosedChangesNothing) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  EXPECT_EQ(circuit.on_answer(0, 10), CircuitChange::kNone);
}

TEST(Circuit, AbandonedQueriesAreNotFailures) {
  Circuit circuit(1, options(1), kSeed);
  for (int i = 0; i < 10; ++i) {
    circuit.on_sent(0, i);
    circuit.on_abandoned(0);
  }
  EXPECT_FALSE(circuit.down(0));
  EXPECT_EQ(circuit.outstanding(), 0u);
}

TEST(Circuit, CountsQueriesOutstandingUntilTheyEndAnyWay) {
  Circuit circuit(2, options(5), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_sent(0, 0);
  circuit.on_sent(1, 0);
  circuit.on_sent(1, 0);
  EXPECT_EQ(circuit.outstanding(), 4u);
  circuit.on_answer(0, 10);
  circuit.on_failure(0, 10, 10);
  circuit.on_abandoned(1);
  EXPECT_EQ(circuit.outstanding(), 1u);
}

// --- Silence --------------------------------------------------------------------------------

// Sends Circuit::kSilenceQueries queries to `server` at `at_ms`, the least that can be silence.
void send_enough(Circuit& circuit, std::size_t server, std::int64_t at_ms) {
  for (int i = 0; i < Circuit::kSilenceQueries; ++i) circuit.on_sent(server, at_ms);
}

TEST(Circuit, FindsAServerSilentSinceItsFirstUnansweredQuery) {
  Circuit circuit(2, options(2), kSeed);
  circuit.on_sent(1, 1000);
  send_enough(circuit, 1, 1200);  // later queries do not restart the silence
  EXPECT_EQ(circuit.silent_server(1299, 300), std::nullopt);
  EXPECT_EQ(circuit.silent_server(1300, 300), std::optional<std::size_t>(1));
}

TEST(Circuit, CountsSilenceFromTheFirstQuerySentAfterTheLastAnswer) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_answer(0, 100);
  send_enough(circuit, 0, 500);
  EXPECT_EQ(circuit.silent_server(799, 300), std::nullopt);
  EXPECT_EQ(circuit.silent_server(800, 300), std::optional<std::size_t>(0));
}

// One or two unanswered queries are a lost datagram as often as a dead server: a quiet node
// whose one question was lost must not open the circuit 100 ms later. The third makes silence,
// counted from the first.
TEST(Circuit, FewerThanSilenceQueriesUnansweredAreNeverSilence) {
  static_assert(Circuit::kSilenceQueries == 3);
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_answer(0, 10);
  circuit.on_sent(0, 100);
  circuit.on_sent(0, 150);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt) << "two unanswered: not silence";
  circuit.on_sent(0, 100'000);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::optional<std::size_t>(0))
      << "the third unanswered query: silent since the first, at 100";
}

TEST(Circuit, AnAnswerStartsTheCountOfUnansweredQueriesAgain) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_sent(0, 0);
  circuit.on_answer(0, 10);  // one of them answered, the other lost
  circuit.on_sent(0, 20);
  circuit.on_sent(0, 30);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt)
      << "two sent since the latest answer, whatever came before it";
  circuit.on_sent(0, 40);
  EXPECT_EQ(circuit.silent_server(320, 300), std::optional<std::size_t>(0));
}

TEST(Circuit, AServerTheOperatorBringsBackStartsTheCountAgain) {
  Circuit circuit(2, options(2), kSeed);
  send_enough(circuit, 0, 0);
  ASSERT_EQ(circuit.silent_server(300, 300), std::optional<std::size_t>(0));
  circuit.mark_down(0, 300);
  circuit.force(0, false, 400);  // the operator brings it back
  circuit.on_sent(0, 500);
  circuit.on_sent(0, 500);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
}

// Disabled: Circuit forgets a query that was already outstanding when another one was answered,
// so a server that answers once and then goes quiet is never found silent (see the report).
// A query sent before the latest answer says nothing about silence: the server has answered
// since (after an outage, probes still in the blackhole must not re-open the circuit).
TEST(Circuit, QueriesSentBeforeTheLatestAnswerDoNotMakeAServerSilent) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_sent(0, 50);
  circuit.on_answer(0, 100);  // the query sent at 50 is still outstanding
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
  send_enough(circuit, 0, 200);  // new queries after the answer: silence counts from them
  EXPECT_EQ(circuit.silent_server(499, 300), std::nullopt);
  EXPECT_EQ(circuit.silent_server(500, 300), std::optional<std::size_t>(0));
}

TEST(Circuit, AFailureOfAQuerySentBeforeTheLatestAnswerIsNotCounted) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_sent(0, 1);
  circuit.on_answer(0, 10);
  EXPECT_EQ(circuit.on_failure(0, 2000, 0), CircuitChange::kNone);
  EXPECT_EQ(circuit.on_failure(0, 2001, 1), CircuitChange::kNone);
  EXPECT_FALSE(circuit.down(0)) << "old timeouts must not mark a server down";
  EXPECT_EQ(circuit.consecutive_fails(0), 0);
}

TEST(Circuit, AServerWithNothingOutstandingIsNeverSilent) {
  Circuit circuit(1, options(2), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_answer(0, 10);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
}

TEST(Circuit, AServerWhoseQueriesFailedIsNotSilent) {
  Circuit circuit(1, options(5), kSeed);
  circuit.on_sent(0, 0);
  circuit.on_failure(0, 10, 10);  // nothing outstanding: failures are counted, not silence
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
}

TEST(Circuit, NegativeSilenceDisablesSilenceDetection) {
  Circuit circuit(1, options(2), kSeed);
  send_enough(circuit, 0, 0);
  EXPECT_EQ(circuit.silent_server(100'000, -1), std::nullopt);
}

TEST(Circuit, SilenceIsNotDetectedWhenMaxFailsIsZero) {
  Circuit circuit(1, options(0), kSeed);
  send_enough(circuit, 0, 0);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
}

TEST(Circuit, NeverReportsADownServerAsSilent) {
  Circuit circuit(2, options(2), kSeed);
  send_enough(circuit, 0, 0);
  ASSERT_EQ(circuit.silent_server(300, 300), std::optional<std::size_t>(0));
  circuit.mark_down(0, 300);
  send_enough(circuit, 0, 400);
  EXPECT_EQ(circuit.silent_server(100'000, 300), std::nullopt);
}

// --- Probe budget ----------------------------------------------------------------------------

TEST(Circuit, ClaimsAtMostProbesSlotsAtOnce) {
  Circuit circuit(1, options(1, 1000, 2), kSeed);
  EXPECT_TRUE(circuit.claim_probe(0));
  EXPECT_TRUE(circuit.claim_probe(0));
  EXPECT_FALSE(circuit.claim_probe(0));
}

TEST(Circuit, HoldsAProbeSlotForTheWholeProbeInterval) {
  Circuit circuit(1, options(1, 1000, 1), kSeed);
  ASSERT_TRUE(circuit.claim_probe(100));
  EXPECT_FALSE(circuit.claim_probe(1099));
  EXPECT_TRUE(circuit.claim_probe(1100));
}

TEST(Circuit, HoldsAProbeSlotAfterItsProbeFailed) {
  Circuit circuit(1, options(1, 1000, 1), kSeed);
  open_circuit(circuit, 1, 0);
  ASSERT_TRUE(circuit.claim_probe(0));
  circuit.on_sent(0, 0);
  circuit.on_failure(0, 5, 5);
  EXPECT_FALSE(circuit.claim_probe(10));
}

TEST(Circuit, FreesEachProbeSlotOnItsOwnSchedule) {
  Circuit circuit(1, options(1, 1000, 2), kSeed);
  ASSERT_TRUE(circuit.claim_probe(0));
  ASSERT_TRUE(circuit.claim_probe(400));
  EXPECT_TRUE(circuit.claim_probe(1000));   // the first slot is free again
  EXPECT_FALSE(circuit.claim_probe(1399));  // the second is still held
}

TEST(Circuit, NeverSendsMoreThanProbesInAnyProbeInterval) {
  Circuit circuit(1, options(1, 1000, 3), kSeed);
  std::vector<std::int64_t> claimed_at;
  for (std::int64_t t = 0; t < 10'000; ++t) {
    if (circuit.claim_probe(t)) claimed_at.push_back(t);
  }
  for (std::int64_t start = 0; start + 1000 <= 10'000; ++start) {
    const auto in_interval = std::count_if(claimed_at.begin(), claimed_at.end(),
                                           [&](auto t) { return t >= start && t < start + 1000; });
    ASSERT_LE(in_interval, 3) << "interval starting at " << start << " ms";
  }
  EXPECT_EQ(claimed_at.size(), 30u);  // and the budget is used, not starved
}

TEST(Circuit, ClosingTheCircuitFreesTheProbeSlots) {
  Circuit circuit(1, options(1, 1000, 1), kSeed);
  open_circuit(circuit, 1, 0);
  ASSERT_TRUE(circuit.claim_probe(0));
  circuit.on_sent(0, 0);
  ASSERT_EQ(circuit.on_answer(0, 10), CircuitChange::kClosed);
  EXPECT_TRUE(circuit.claim_probe(10));
}

// --- Timed probes ----------------------------------------------------------------------------

TEST(Circuit, NoTimedProbeWhileEveryServerIsUp) {
  Circuit circuit(2, options(1), kSeed);
  for (std::int64_t t = 0; t < 10'000; t += 10) ASSERT_EQ(circuit.timed_probe(t), std::nullopt);
  EXPECT_TRUE(circuit.claim_probe(10'000));  // and no probe slot was taken
  EXPECT_TRUE(circuit.claim_probe(10'000));
}

TEST(Circuit, TimedProbeIsDueWithinTwentyPercentOfTheIntervalAfterTheFirstServerWentDown) {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Circuit circuit(2, options(1, 1000, 2), seed);
    circuit.mark_down(1, 5000);
    const std::int64_t due = circuit.next_timed_probe_ms();
    ASSERT_GE(due, 5800) << "seed " << seed;
    ASSERT_LE(due, 6200) << "seed " << seed;
    ASSERT_EQ(circuit.timed_probe(due - 1), std::nullopt) << "seed " << seed;
    ASSERT_EQ(circuit.timed_probe(due), std::optional<std::size_t>(1)) << "seed " << seed;
  }
}

TEST(Circuit, JittersTheTimedProbeSoNodesDoNotProbeTogether) {
  std::set<std::int64_t> due;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    Circuit circuit(1, options(1, 1000, 2), seed);
    circuit.mark_down(0, 0);
    due.insert(circuit.next_timed_probe_ms());
  }
  EXPECT_GT(due.size(), 10u);
}

TEST(Circuit, TimedProbeIsDueAgainAboutOneIntervalAfterTheLast) {
  Circuit circuit(1, options(1, 1000, 5), kSeed);
  circuit.mark_down(0, 0);
  const std::int64_t first = circuit.next_timed_probe_ms();
  ASSERT_TRUE(circuit.timed_probe(first).has_value());
  const std::int64_t second = circuit.next_timed_probe_ms();
  EXPECT_GE(second, first + 800);
  EXPECT_LE(second, first + 1200);
  EXPECT_EQ(circuit.timed_probe(second - 1), std::nullopt);
  EXPECT_EQ(circuit.timed_probe(second), std::optional<std::size_t>(0));
}

TEST(Circuit, ASecondServerGoingDownDoesNotPostponeTheTimedProbe) {
  Circuit circuit(2, options(1), kSeed);
  circuit.mark_down(0, 0);
  const std::int64_t due = circuit.next_timed_probe_ms();
  circuit.mark_down(1, 700);
  EXPECT_EQ(circuit.next_timed_probe_ms(), due);
}

TEST(Circuit, AFreshOutageSchedulesItsOwnTimedProbe) {
  Circuit circuit(1, options(1), kSeed);
  circuit.mark_down(0, 0);
  circuit.on_sent(0, 10);
  circuit.on_answer(0, 20);
  circuit.mark_down(0, 50'000);
  EXPECT_GE(circuit.next_timed_probe_ms(), 50'800);
  EXPECT_LE(circuit.next_timed_probe_ms(), 51'200);
}

TEST(Circuit, NoTimedProbeAfterEveryServerCameBack) {
  Circuit circuit(1, options(1), kSeed);
  circuit.mark_down(0, 0);
  circuit.on_sent(0, 10);
  circuit.on_answer(0, 20);
  EXPECT_EQ(circuit.timed_probe(10'000), std::nullopt);
}

TEST(Circuit, ATimedProbeTakesAProbeSlot) {
  Circuit circuit(1, options(1, 1000, 1), kSeed);
  circuit.mark_down(0, 0);
  const std::int64_t due = circuit.next_timed_probe_ms();
  ASSERT_TRUE(circuit.timed_probe(due).has_value());
  EXPECT_FALSE(circuit.claim_probe(due));
  EXPECT_FALSE(circuit.claim_probe(due + 999));
}

TEST(Circuit, NoTimedProbeWhileEveryProbeSlotIsHeld) {
  Circuit circuit(1, options(1, 1000, 1), kSeed);
  circuit.mark_down(0, 0);
  ASSERT_TRUE(circuit.claim_probe(500));  // a real miss went out as a probe; held until 1500
  const std::int64_t due = circuit.next_timed_probe_ms();  // within 800..1200
  EXPECT_EQ(circuit.timed_probe(due), std::nullopt);
  EXPECT_EQ(circuit.timed_probe(1499), std::nullopt);
  EXPECT_EQ(circuit.timed_probe(1500), std::optional<std::size_t>(0));
}

TEST(Circuit, TimedProbesAskTheDownServersInTurn) {
  Circuit circuit(3, options(1, 1000, 10), kSeed);
  circuit.mark_down(0, 0);
  circuit.mark_down(2, 0);  // server 1 stays up and is never probed
  std::vector<std::size_t> asked;
  for (std::int64_t t = 0; asked.size() < 4; ++t) {
    if (const auto server = circuit.timed_probe(t)) asked.push_back(*server);
  }
  EXPECT_EQ(asked, (std::vector<std::size_t>{0, 2, 0, 2}));
}

}  // namespace
}  // namespace holdfast::upstream
