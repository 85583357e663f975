// Serve-stale decisions, case by case: who is asked first, why a stale answer went out, and how
// the name is refreshed afterwards (RFC 8767 §5, and the circuit/degraded/limits states).
#include "server/stale_decision.h"

#include <gtest/gtest.h>

namespace holdfast::server {
namespace {

constexpr UpstreamView kHealthy{true, false, false};
constexpr UpstreamView kDown{true, true, false};
constexpr UpstreamView kDegraded{true, false, true};
constexpr UpstreamView kNone{false, false, false};

TEST(StaleDecision, ForceServesWhatIsCachedWhateverTheUpstream) {
  for (const UpstreamView up : {kHealthy, kDown, kDegraded, kNone}) {
    EXPECT_EQ(first_step(StaleMode::kForce, true, up), StaleStep::kServeForced);
    EXPECT_EQ(first_step(StaleMode::kForce, false, up), StaleStep::kServeForced);
  }
}

TEST(StaleDecision, VerifyAsksAHealthyUpstreamFirst) {
  EXPECT_EQ(first_step(StaleMode::kAuto, true, kHealthy), StaleStep::kAskUpstreamFirst);
  EXPECT_EQ(first_step(StaleMode::kOff, true, kHealthy), StaleStep::kAskUpstreamFirst);
}

TEST(StaleDecision, VerifyDoesNotWaitForAnUpstreamKnownDownOrDegradedOrAbsent) {
  EXPECT_EQ(first_step(StaleMode::kAuto, true, kDown), StaleStep::kServeNow);
  EXPECT_EQ(first_step(StaleMode::kAuto, true, kDegraded), StaleStep::kServeNow);
  EXPECT_EQ(first_step(StaleMode::kAuto, true, kNone), StaleStep::kServeNow);
}

TEST(StaleDecision, ImmediateServesNowAndSaysWhy) {
  EXPECT_EQ(first_step(StaleMode::kAuto, false, kHealthy), StaleStep::kServeNow);
  EXPECT_EQ(reason_served_now(false, kHealthy), StaleReason::kImmediate);
  EXPECT_EQ(reason_served_now(false, kNone), StaleReason::kImmediate);
}

TEST(StaleDecision, TheReasonNamesTheUpstreamsState) {
  EXPECT_EQ(reason_served_now(true, kDown), StaleReason::kCircuitOpen);
  EXPECT_EQ(reason_served_now(false, kDown), StaleReason::kCircuitOpen);
  EXPECT_EQ(reason_served_now(true, kDegraded), StaleReason::kDegraded);
  // verify with a healthy upstream serves now only when the limits refused the admission.
  EXPECT_EQ(reason_served_now(true, kHealthy), StaleReason::kLimited);
}

TEST(StaleDecision, RefreshAfterServing) {
  EXPECT_EQ(refresh_after_serving(kNone, false), StaleRefresh::kNone);
  EXPECT_EQ(refresh_after_serving(kHealthy, false), StaleRefresh::kNowOrLater);
  EXPECT_EQ(refresh_after_serving(kHealthy, true), StaleRefresh::kNone);  // coalesced
  EXPECT_EQ(refresh_after_serving(kDegraded, false), StaleRefresh::kDegradedTrickle);
  EXPECT_EQ(refresh_after_serving(kDegraded, true), StaleRefresh::kNone);
  // Down: held for the recovery even with a flight from before the outage still in the air.
  EXPECT_EQ(refresh_after_serving(kDown, false), StaleRefresh::kAtRecovery);
  EXPECT_EQ(refresh_after_serving(kDown, true), StaleRefresh::kAtRecovery);
}

TEST(StaleDecision, NamesForLogsAndMetrics) {
  EXPECT_STREQ(to_string(StaleMode::kForce), "force");
  EXPECT_STREQ(to_string(StaleReason::kCircuitOpen), "circuit_open");
  EXPECT_STREQ(to_string(StaleReason::kLimited), "limited");
}

}  // namespace
}  // namespace holdfast::server
