// Response rate limiting (the `rrl` directive, BIND's RRL as the CoreDNS rrl plugin does it):
// accounts per client prefix and response category in a fixed-size table, the least recently used
// evicted. RrlTable is the pure decision (the caller passes the time); ResponseRateLimiter reads
// replies into accounts. Nothing allocates after construction. Loop-bound: one per block's zone.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "dns/wire.h"

namespace holdfast::server {

// BIND's response kinds (what one account counts), plus the per-prefix request account.
enum class RrlCategory : std::uint8_t {
  kResponse,  // answers: per name and type
  kNodata,    // NOERROR without answers: per name
  kNxdomain,  // per zone (the SOA owner in the authority section), whatever the name asked
  kReferral,  // NOERROR with NS in authority: per delegation and type
  kError,     // any other rcode: one account per client prefix
  kRequest,   // requests-per-second: per client prefix, before any answer
  kCount
};
inline constexpr std::size_t kRrlCategories = static_cast<std::size_t>(RrlCategory::kCount);

enum class RrlVerdict : std::uint8_t {
  kSend,        // within the allowance (or not limited)
  kDrop,        // over it: nothing goes out
  kSlip,        // over it, but this one goes out empty with TC=1 so a real client retries on TCP
  kReportOnly,  // over it under report-only: counted, sent anyway
};

// The config in the units the hot path uses.
struct RrlSettings {
  std::int64_t window_ns = 15'000'000'000;
  std::array<std::int64_t, kRrlCategories> interval_ns{};  // ns of credit one costs; 0 = no limit
  int ipv4_prefix_bits = 24;
  int ipv6_prefix_bits = 56;
  std::uint32_t slip_ratio = 0;
  std::size_t max_table_size = 100'000;
  bool report_only = false;

  static RrlSettings from(const config::RrlConfig& config) noexcept;
};

// A client address cut to its prefix (IPv4-mapped IPv6 counts as IPv4).
struct ClientPrefix {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t family = 0;  // AF_INET or AF_INET6; 0 for anything else
  bool operator==(const ClientPrefix&) const = default;
};
ClientPrefix client_prefix(const sockaddr_storage& peer, int ipv4_bits, int ipv6_bits) noexcept;

// What one account is for: BIND's identity of "the same response".
struct RrlKey {
  ClientPrefix prefix;
  RrlCategory category = RrlCategory::kResponse;
  std::uint16_t qtype = 0;      // 0 where BIND ignores the type
  std::uint64_t name_hash = 0;  // of the lower-case wire name; 0 where BIND ignores the name
  bool operator==(const RrlKey&) const = default;
};

// Hash of a lower-case wire name (FNV-1a). A collision only merges two accounts of one prefix.
std::uint64_t rrl_name_hash(dns::Bytes lower_wire) noexcept;

struct RrlCounters {
  std::uint64_t responses_dropped = 0;
  std::uint64_t responses_slipped = 0;
  std::uint64_t responses_reported = 0;  // over the limit under report-only
  std::uint64_t requests_dropped = 0;
  std::uint64_t requests_reported = 0;
  std::uint64_t evictions = 0;  // accounts pushed out by a full table
};

// The accounts. Each has a balance in nanoseconds of credit: it earns one second a second, holds
// at most one second (a burst of ALLOWANCE responses), pays interval_ns per response, and owes at
// most `window` (so a flood is forgotten `window` seconds after it stops). A response that leaves
// the balance negative is limited; every slip_ratio-th limited response slips.
class RrlTable {
 public:
  // Reserves room for max_table_size accounts (it only grows into it). `seed` keys the bucket
  // hash so that clients cannot aim at one bucket.
  RrlTable(const RrlSettings& settings, std::uint64_t seed);
  RrlTable(const RrlTable&) = delete;
  RrlTable& operator=(const RrlTable&) = delete;

  // Charges one response (or request) of key.category at `now_ns` (any monotonic origin).
  RrlVerdict debit(const RrlKey& key, std::int64_t now_ns) noexcept;

  std::size_t size() const noexcept { return slots_.size(); }
  const RrlCounters& counters() const noexcept { return counters_; }
  const RrlSettings& settings() const noexcept { return settings_; }

 private:
  static constexpr std::uint32_t kNil = 0xffffffffu;
  struct Slot {
    RrlKey key;
    std::int64_t allow_time_ns = 0;  // now - allow_time = the balance (before the cap)
    std::uint32_t bucket = 0;
    std::uint32_t bucket_next = kNil;
    std::uint32_t lru_prev = kNil;  // towards the most recently used
    std::uint32_t lru_next = kNil;
    std::uint32_t slip_countdown = 0;
  };
  std::uint32_t bucket_of(const RrlKey& key) const noexcept;
  std::uint32_t find_or_add(const RrlKey& key, std::int64_t now_ns) noexcept;
  void unlink_lru(std::uint32_t index) noexcept;
  void push_front(std::uint32_t index) noexcept;
  void unlink_bucket(std::uint32_t index) noexcept;

  RrlSettings settings_;
  std::uint64_t seed_;
  std::vector<Slot> slots_;             // capacity max_table_size, reserved once
  std::vector<std::uint32_t> buckets_;  // power of two >= max_table_size
  std::uint32_t lru_head_ = kNil;       // most recently used
  std::uint32_t lru_tail_ = kNil;       // next to be evicted
  RrlCounters counters_;
};

// The account a reply is charged to (without the client), read from the finished reply: its
// header, question and first authority record. nullopt when the reply cannot be read.
struct RrlResponseToken {
  RrlCategory category = RrlCategory::kResponse;
  std::uint16_t qtype = 0;
  std::uint64_t name_hash = 0;
};
std::optional<RrlResponseToken> classify_response(dns::Bytes reply) noexcept;

// One block's `rrl`: its zones, settings and table. Loop-bound.
class ResponseRateLimiter {
 public:
  ResponseRateLimiter(const config::RrlConfig& config, const std::vector<std::string>& block_zones);

  // True when `lower_name` (lower-case wire) is under the directive's zones.
  bool covers(dns::Bytes lower_name) const noexcept;
  // requests-per-second for a query about `lower_name` from `peer`: kDrop, kReportOnly or kSend.
  RrlVerdict check_request(dns::Bytes lower_name, const sockaddr_storage& peer,
                           std::int64_t now_ns) noexcept;
  // The verdict on a finished UDP reply to `peer` (TCP replies are never limited: the caller
  // does not ask). Names outside the zones are never limited.
  RrlVerdict check_response(dns::Bytes reply, const sockaddr_storage& peer,
                            std::int64_t now_ns) noexcept;

  const RrlCounters& counters() const noexcept { return table_.counters(); }
  std::size_t accounts() const noexcept { return table_.size(); }

 private:
  std::vector<std::string> zones_wire_;  // lower-case wire form
  RrlTable table_;
};

}  // namespace holdfast::server
