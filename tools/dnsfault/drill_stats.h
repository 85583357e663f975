// What the drill measures, per second and in summary. Pure functions over recorded data, so the
// figures in the reports can be unit-tested without a network.
//
// Every query is counted in the second it was *sent* and ends in exactly one bucket:
//   answered = noerror_data + nodata + nxdomain + stale     (a client got a usable answer)
//   failed   = servfail + other_rcode + truncated + malformed
//   sent     = answered + failed + timeouts
// Latencies are time to the answer; a timeout counts as the timeout itself (what the client
// waited before giving up).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schedule.h"

namespace holdfast::dnsfault {

struct SecondCounts {
  std::uint64_t sent = 0;
  std::uint64_t noerror_data = 0;  // NOERROR with records of the asked type (or CNAME)
  std::uint64_t nodata = 0;        // NOERROR, none
  std::uint64_t nxdomain = 0;
  std::uint64_t stale = 0;  // any answer carrying EDE 3 or 19 (RFC 8914, RFC 8767)
  std::uint64_t servfail = 0;
  std::uint64_t other_rcode = 0;  // REFUSED, FORMERR, NOTIMP, ...
  std::uint64_t truncated = 0;    // TC=1: a stub would retry over TCP; the drill counts a failure
  std::uint64_t malformed = 0;    // right ID and question, but does not parse
  std::uint64_t timeouts = 0;

  std::uint64_t answered() const noexcept { return noerror_data + nodata + nxdomain + stale; }
  std::uint64_t failed() const noexcept { return servfail + other_rcode + truncated + malformed; }
  SecondCounts& operator+=(const SecondCounts& other) noexcept;
};

struct LatencySummary {
  std::size_t samples = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles; `samples` is sorted in place.
LatencySummary summarize_latency(std::vector<float>& samples);

// One load stream's record: per-second counts and latency samples.
struct Series {
  std::string role;     // "target" or "baseline"
  std::string address;  // ADDR:PORT
  std::vector<SecondCounts> seconds;
  std::vector<std::vector<float>> latencies_ms;  // per second, parallel to `seconds`
  std::uint64_t ignored_responses = 0;           // unknown ID or wrong question: left waiting
};

struct Summary {
  SecondCounts totals;
  double availability_pct = 0;              // answered / sent
  double stale_pct = 0;                     // stale / sent
  std::optional<std::size_t> worst_second;  // lowest availability, earliest on ties
  double worst_availability_pct = 0;
  LatencySummary latency;         // whole run
  LatencySummary outage_latency;  // queries sent during fault phases (whole run when none)
  bool outage_is_whole_run = false;
  std::vector<LatencySummary> per_second;
};

// The seconds in [start_ms, end_ms): those whose start falls inside.
std::vector<std::size_t> seconds_in(std::uint64_t start_ms, std::uint64_t end_ms,
                                    std::size_t count);

Summary summarize(const Series& series, const std::vector<Phase>& phases);

// Recovery: from the end of the longest fault phase to the end of the run (none without one).
struct Recovery {
  std::optional<std::uint64_t> start_ms;
  std::optional<std::uint64_t> peak_qps;
  std::optional<std::size_t> peak_second;
};

// `upstream_qps[k]` is the upstream query rate in second k (nullopt where unknown).
Recovery find_recovery(const std::vector<Phase>& phases,
                       const std::vector<std::optional<std::uint64_t>>& upstream_qps);

}  // namespace holdfast::dnsfault
