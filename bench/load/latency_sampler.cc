// Percentiles of the sampled latencies (nearest rank).
#include "load/latency_sampler.h"

#include <algorithm>
#include <numeric>

namespace holdfast::bench {

LatencySummary LatencySampler::summarize() {
  LatencySummary s;
  s.samples = samples_ns_.size();
  if (s.samples == 0) return s;
  std::sort(samples_ns_.begin(), samples_ns_.end());
  const auto at = [this](double q) {
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(samples_ns_.size()));
    return samples_ns_[std::min(rank, samples_ns_.size() - 1)] / 1000.0;
  };
  s.p50_us = at(0.50);
  s.p90_us = at(0.90);
  s.p99_us = at(0.99);
  s.p999_us = at(0.999);
  s.max_us = samples_ns_.back() / 1000.0;
  const double sum = std::accumulate(samples_ns_.begin(), samples_ns_.end(), 0.0);
  s.mean_us = sum / static_cast<double>(s.samples) / 1000.0;
  return s;
}

}  // namespace holdfast::bench
