// Sampled reply latencies in a preallocated array (no allocation while the load runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace holdfast::bench {

struct LatencySummary {
  std::size_t samples = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

class LatencySampler {
 public:
  explicit LatencySampler(std::size_t capacity) { samples_ns_.reserve(capacity); }

  // Drops the sample once the array is full (counted in dropped()).
  void add(std::uint64_t latency_ns) noexcept {
    if (samples_ns_.size() < samples_ns_.capacity()) {
      samples_ns_.push_back(latency_ns > UINT32_MAX ? UINT32_MAX
                                                    : static_cast<std::uint32_t>(latency_ns));
    } else {
      ++dropped_;
    }
  }
  std::uint64_t dropped() const noexcept { return dropped_; }

  // Sorts the samples: call once, after the load.
  LatencySummary summarize();

 private:
  std::vector<std::uint32_t> samples_ns_;
  std::uint64_t dropped_ = 0;
};

}  // namespace holdfast::bench
