// Percentiles, availability, the worst second, outage latency and the recovery peak.
#include "drill_stats.h"

#include <algorithm>
#include <cmath>

namespace holdfast::dnsfault {

SecondCounts& SecondCounts::operator+=(const SecondCounts& o) noexcept {
  sent += o.sent;
  noerror_data += o.noerror_data;
  nodata += o.nodata;
  nxdomain += o.nxdomain;
  stale += o.stale;
  servfail += o.servfail;
  other_rcode += o.other_rcode;
  truncated += o.truncated;
  malformed += o.malformed;
  timeouts += o.timeouts;
  return *this;
}

LatencySummary summarize_latency(std::vector<float>& samples) {
  LatencySummary out;
  out.samples = samples.size();
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    const auto n = static_cast<double>(samples.size());
    std::size_t index = static_cast<std::size_t>(std::ceil(q * n));
    index = std::clamp<std::size_t>(index, 1, samples.size()) - 1;
    return static_cast<double>(samples[index]);
  };
  out.p50_ms = rank(0.50);
  out.p99_ms = rank(0.99);
  out.max_ms = samples.back();
  return out;
}

std::vector<std::size_t> seconds_in(std::uint64_t start_ms, std::uint64_t end_ms,
                                    std::size_t count) {
  std::vector<std::size_t> out;
  for (std::size_t k = (start_ms + 999) / 1000; k < count && k * 1000 < end_ms; ++k) {
    out.push_back(k);
  }
  return out;
}

Summary summarize(const Series& series, const std::vector<Phase>& phases) {
  Summary s;
  const std::size_t n = series.seconds.size();
  std::vector<float> all;
  for (std::size_t k = 0; k < n; ++k) {
    const SecondCounts& c = series.seconds[k];
    s.totals += c;
    std::vector<float> samples =
        k < series.latencies_ms.size() ? series.latencies_ms[k] : std::vector<float>{};
    all.insert(all.end(), samples.begin(), samples.end());
    s.per_second.push_back(summarize_latency(samples));
    if (c.sent == 0) continue;
    const double availability =
        100.0 * static_cast<double>(c.answered()) / static_cast<double>(c.sent);
    if (!s.worst_second || availability < s.worst_availability_pct) {
      s.worst_second = k;
      s.worst_availability_pct = availability;
    }
  }
  if (s.totals.sent > 0) {
    const auto sent = static_cast<double>(s.totals.sent);
    s.availability_pct = 100.0 * static_cast<double>(s.totals.answered()) / sent;
    s.stale_pct = 100.0 * static_cast<double>(s.totals.stale) / sent;
  }
  s.latency = summarize_latency(all);
  std::vector<float> outage;
  for (const Phase& phase : phases) {
    if (!phase.fault) continue;
    for (std::size_t k : seconds_in(phase.start_ms, phase.end_ms, n)) {
      if (k < series.latencies_ms.size()) {
        outage.insert(outage.end(), series.latencies_ms[k].begin(), series.latencies_ms[k].end());
      }
    }
  }
  const bool any_fault =
      std::any_of(phases.begin(), phases.end(), [](const Phase& p) { return p.fault; });
  if (!any_fault) {
    s.outage_is_whole_run = true;
    s.outage_latency = s.latency;
  } else {
    s.outage_latency = summarize_latency(outage);
  }
  return s;
}

Recovery find_recovery(const std::vector<Phase>& phases,
                       const std::vector<std::optional<std::uint64_t>>& upstream_qps) {
  Recovery r;
  const Phase* longest = nullptr;
  for (const Phase& phase : phases) {
    if (phase.fault &&
        (!longest || phase.end_ms - phase.start_ms > longest->end_ms - longest->start_ms)) {
      longest = &phase;
    }
  }
  if (!longest) return r;
  r.start_ms = longest->end_ms;
  for (std::size_t k : seconds_in(longest->end_ms, ~std::uint64_t{0} / 2, upstream_qps.size())) {
    if (upstream_qps[k] && (!r.peak_qps || *upstream_qps[k] > *r.peak_qps)) {
      r.peak_qps = upstream_qps[k];
      r.peak_second = k;
    }
  }
  return r;
}

}  // namespace holdfast::dnsfault
