// Serve-stale decisions.
#include "server/stale_decision.h"

namespace holdfast::server {

const char* to_string(StaleMode mode) noexcept {
  switch (mode) {
    case StaleMode::kAuto:
      return "auto";
    case StaleMode::kForce:
      return "force";
    case StaleMode::kOff:
      return "off";
  }
  return "?";
}

const char* to_string(StaleReason reason) noexcept {
  switch (reason) {
    case StaleReason::kTimeout:
      return "timeout";
    case StaleReason::kServfail:
      return "servfail";
    case StaleReason::kRefused:
      return "refused";
    case StaleReason::kUnreachable:
      return "unreachable";
    case StaleReason::kCircuitOpen:
      return "circuit_open";
    case StaleReason::kDegraded:
      return "degraded";
    case StaleReason::kLimited:
      return "limited";
    case StaleReason::kImmediate:
      return "immediate";
    case StaleReason::kForced:
      return "forced";
    case StaleReason::kCount:
      break;
  }
  return "?";
}

StaleStep first_step(StaleMode mode, bool verify, UpstreamView upstream) noexcept {
  if (mode == StaleMode::kForce) return StaleStep::kServeForced;
  // verify (RFC 8767 §5): the upstream gets a chance to answer first, unless it is known to be
  // down or to answer SERVFAIL to everything.
  if (verify && upstream.present && !upstream.circuit_open && !upstream.degraded) {
    return StaleStep::kAskUpstreamFirst;
  }
  return StaleStep::kServeNow;
}

StaleReason reason_served_now(bool verify, UpstreamView upstream) noexcept {
  if (upstream.present && upstream.circuit_open) return StaleReason::kCircuitOpen;
  if (upstream.present && upstream.degraded) return StaleReason::kDegraded;
  if (verify && upstream.present) return StaleReason::kLimited;
  return StaleReason::kImmediate;
}

StaleRefresh refresh_after_serving(UpstreamView upstream, bool flight_in_air) noexcept {
  if (!upstream.present) return StaleRefresh::kNone;
  if (upstream.circuit_open) return StaleRefresh::kAtRecovery;
  if (flight_in_air) return StaleRefresh::kNone;
  if (upstream.degraded) return StaleRefresh::kDegradedTrickle;
  return StaleRefresh::kNowOrLater;
}

}  // namespace holdfast::server
