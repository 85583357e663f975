// CoreDNS's buckets and type names, and the counting of one answered query.
#include "observe/request_metrics.h"

namespace holdfast::observe {
namespace {

// FORMAT: the slots' order is the order of kTypeNames; "other" last.
constexpr std::array<std::uint16_t, kTypeSlots - 1> kTypes = {
    1, 28, 5, 48, 43, 15, 50, 47, 2, 12, 46, 6, 33, 16, 65, 64, 251, 252, 255};
constexpr std::array<const char*, kTypeSlots> kTypeNames = {
    "A",     "AAAA", "CNAME", "DNSKEY", "DS",    "MX",   "NSEC3", "NSEC", "NS",  "PTR",
    "RRSIG", "SOA",  "SRV",   "TXT",    "HTTPS", "SVCB", "IXFR",  "AXFR", "ANY", "other"};

}  // namespace

const std::array<double, kTimeBuckets> kTimeBounds = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008,
                                                      0.016,   0.032,  0.064, 0.128, 0.256, 0.512,
                                                      1.024,   2.048,  4.096, 8.192};
const std::array<double, kSizeBuckets> kSizeBounds = {0,    100,  200,  300,   400,   511,   1023,
                                                      2047, 4095, 8291, 16000, 32000, 48000, 64000};

std::size_t type_slot(std::uint16_t qtype) noexcept {
  for (std::size_t i = 0; i < kTypes.size(); ++i) {
    if (kTypes[i] == qtype) return i;
  }
  return kTypeSlots - 1;
}

const char* type_slot_name(std::size_t slot) noexcept {
  return slot < kTypeNames.size() ? kTypeNames[slot] : "other";
}

const char* responder_name(Responder responder) noexcept {
  switch (responder) {
    case Responder::kCache:
      return "cache";
    case Responder::kForward:
      return "forward";
    case Responder::kNone:
      break;
  }
  return "";
}

void RequestMetrics::count(Proto proto, Family family, std::uint16_t qtype, bool do_bit,
                           std::size_t query_len, std::size_t reply_len, std::uint16_t rcode,
                           Responder responder, double seconds) noexcept {
  const auto p = static_cast<std::size_t>(proto);
  ++requests[p][static_cast<std::size_t>(family)][type_slot(qtype)];
  if (do_bit) ++do_requests;
  ++responses[static_cast<std::size_t>(responder)][rcode < kRcodeSlots ? rcode : kRcodeSlots - 1];
  duration.observe(kTimeBounds, seconds);
  request_size[p].observe(kSizeBounds, static_cast<double>(query_len));
  response_size[p].observe(kSizeBounds, static_cast<double>(reply_len));
}

void RequestMetrics::add(const RequestMetrics& other) noexcept {
  for (std::size_t p = 0; p < requests.size(); ++p) {
    for (std::size_t f = 0; f < requests[p].size(); ++f) {
      for (std::size_t t = 0; t < kTypeSlots; ++t) requests[p][f][t] += other.requests[p][f][t];
    }
  }
  do_requests += other.do_requests;
  for (std::size_t r = 0; r < kResponders; ++r) {
    for (std::size_t c = 0; c < kRcodeSlots; ++c) responses[r][c] += other.responses[r][c];
  }
  duration.add(other.duration);
  for (std::size_t p = 0; p < 2; ++p) {
    request_size[p].add(other.request_size[p]);
    response_size[p].add(other.response_size[p]);
  }
}

}  // namespace holdfast::observe
