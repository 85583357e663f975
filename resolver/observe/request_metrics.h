// The counters behind CoreDNS's request metrics (coredns_dns_*), kept per (listener, zone) as
// plain integers on the loop that counts them and read at scrape time. Counting a query is a few
// array increments: no atomics, no library call, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace holdfast::observe {

// A histogram with fixed upper bounds (seconds or bytes); counts[i] is the number of
// observations in bucket i alone (not cumulative), counts[kBounds] those above every bound.
template <std::size_t kBounds>
struct Histogram {
  std::array<std::uint64_t, kBounds + 1> counts{};
  double sum = 0;

  void observe(std::span<const double, kBounds> bounds, double value) noexcept {
    std::size_t i = 0;
    while (i < kBounds && value > bounds[i]) ++i;
    ++counts[i];
    sum += value;
  }
  void add(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
  }
};

// CoreDNS's plugin.TimeBuckets: 0.25 ms doubling to 8.192 s (16 buckets).
inline constexpr std::size_t kTimeBuckets = 16;
extern const std::array<double, kTimeBuckets> kTimeBounds;
// CoreDNS's request/response size buckets (bytes).
inline constexpr std::size_t kSizeBuckets = 14;
extern const std::array<double, kSizeBuckets> kSizeBounds;

using TimeHistogram = Histogram<kTimeBuckets>;
using SizeHistogram = Histogram<kSizeBuckets>;

// The query types CoreDNS counts by name; every other type is "other" (the last slot).
inline constexpr std::size_t kTypeSlots = 20;
std::size_t type_slot(std::uint16_t qtype) noexcept;
const char* type_slot_name(std::size_t slot) noexcept;

// Who wrote a response (the `plugin` label of coredns_dns_responses_total).
enum class Responder : std::uint8_t { kNone, kCache, kForward };
inline constexpr std::size_t kResponders = 3;
const char* responder_name(Responder responder) noexcept;
inline constexpr std::size_t kRcodeSlots = 24;  // 0..23: every rcode a 12-bit... rcode we send

enum class Proto : std::uint8_t { kUdp, kTcp };
enum class Family : std::uint8_t { kIpv4, kIpv6 };

struct RequestMetrics {
  // coredns_dns_requests_total{proto,family,type}
  std::array<std::array<std::array<std::uint64_t, kTypeSlots>, 2>, 2> requests{};
  std::uint64_t do_requests = 0;  // coredns_dns_do_requests_total
  // coredns_dns_responses_total{rcode,plugin}
  std::array<std::array<std::uint64_t, kRcodeSlots>, kResponders> responses{};
  TimeHistogram duration;                      // coredns_dns_request_duration_seconds
  std::array<SizeHistogram, 2> request_size;   // {proto}
  std::array<SizeHistogram, 2> response_size;  // {proto}

  // One answered query: its type, transport, sizes, rcode and how long it took.
  void count(Proto proto, Family family, std::uint16_t qtype, bool do_bit, std::size_t query_len,
             std::size_t reply_len, std::uint16_t rcode, Responder responder,
             double seconds) noexcept;
  // Adds another loop's counts of the same series (worker loops, at scrape time).
  void add(const RequestMetrics& other) noexcept;
};

}  // namespace holdfast::observe
