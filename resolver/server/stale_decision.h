// Serve-stale (RFC 8767) decisions for a question whose cached answer has expired: whether the
// upstream is asked first or the stale answer goes out now, why it went out stale, and how the
// name is refreshed afterwards. Pure: the upstream's state comes in as values, so every case is a
// table row in tests/server/stale_decision_test.cc; the pipeline acts on the result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace holdfast::server {

// The operator's stale lever (holdfastctl stale-mode): kAuto follows each block's serve_stale;
// kForce answers everything cached from cache, stale or not, without asking upstream (misses still
// go up, under the limits); kOff never serves stale.
enum class StaleMode : std::uint8_t { kAuto, kForce, kOff };
const char* to_string(StaleMode mode) noexcept;

// Why an answer went out stale (holdfast_stale_answers_total{reason}).
enum class StaleReason : std::uint8_t {
  kTimeout,      // verify: the upstream was slower than the client's wait
  kServfail,     // the upstream answered SERVFAIL (or FORMERR/NOTIMP)
  kRefused,      // the upstream answered REFUSED
  kUnreachable,  // connection refused or a network error
  kCircuitOpen,  // every upstream was down
  kDegraded,     // the upstream answers SERVFAIL to everything
  kLimited,      // upstream_limits said no
  kImmediate,    // serve_stale immediate: stale first, refresh after
  kForced,       // the operator's stale-mode force
  kCount
};
inline constexpr std::size_t kStaleReasons = static_cast<std::size_t>(StaleReason::kCount);
const char* to_string(StaleReason reason) noexcept;

// What the pipeline knows of the block's upstreams for this name.
struct UpstreamView {
  bool present = false;  // a forward covers the name
  bool circuit_open = false;
  bool degraded = false;
};

enum class StaleStep : std::uint8_t {
  kServeForced,       // stale-mode force: the cached answer as it is, nothing asked
  kAskUpstreamFirst,  // verify: the upstream gets until the client's wait runs out (if admitted)
  kServeNow,          // the stale answer goes out now (immediate, or no upstream to ask)
};
StaleStep first_step(StaleMode mode, bool verify, UpstreamView upstream) noexcept;

// The reason counted when the stale answer goes out now (kServeNow, or kAskUpstreamFirst whose
// admission the limits refused).
StaleReason reason_served_now(bool verify, UpstreamView upstream) noexcept;

enum class StaleRefresh : std::uint8_t {
  kNone,             // no upstream, or a flight for the name is already in the air
  kAtRecovery,       // every upstream is down: held until one answers again
  kDegradedTrickle,  // SERVFAIL to everything: one refresh per probe interval finds the end
  kNowOrLater,       // now if the limits admit it, else spread over `recheck`
};
// After a stale answer went out now. An open circuit holds the refresh even when a flight from
// before the outage is still in the air: that flight will fail, and nothing else would refresh.
StaleRefresh refresh_after_serving(UpstreamView upstream, bool flight_in_air) noexcept;

}  // namespace holdfast::server
