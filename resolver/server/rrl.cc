// Response rate limiting: the account table (balances, slips, LRU eviction) and the reading of a
// reply into the account it is charged to.
#include "server/rrl.h"

#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "dns/header.h"
#include "dns/message.h"
#include "dns/name.h"

namespace holdfast::server {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::uint16_t kTypeNs = 2;

std::int64_t interval_for(double per_second) noexcept {
  if (per_second <= 0) return 0;
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(kSecondNs) / per_second));
}

void mask_to(std::uint8_t* bytes, std::size_t size, int bits) noexcept {
  for (std::size_t i = 0; i < size; ++i) {
    const int keep = std::clamp(bits - static_cast<int>(i) * 8, 0, 8);
    bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v;
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

// The question's name, lower-cased, into `name` (>= 255 bytes); 0 when there is none.
std::size_t question_name(dns::Bytes reply, const dns::Header& header, std::uint8_t* name,
                          std::size_t& question_end) noexcept {
  if (header.qdcount != 1) return 0;
  const std::optional<dns::Question> question = dns::read_question(reply, dns::kHeaderSize);
  if (!question) return 0;
  question_end = question->end;
  return dns::copy_name_lower(reply, question->name, name);
}

struct Classified {
  RrlResponseToken token;
  std::size_t qname_len = 0;  // 0: no question
};

std::optional<Classified> classify(dns::Bytes reply, std::uint8_t* qname) noexcept {
  const std::optional<dns::Header> header = dns::read_header(reply);
  if (!header) return std::nullopt;
  Classified out;
  std::size_t question_end = 0;
  out.qname_len = question_name(reply, *header, qname, question_end);
  const dns::Bytes name(qname, out.qname_len);
  const unsigned rcode = header->rcode();
  RrlResponseToken& token = out.token;
  if (rcode != 0 && rcode != 3) {
    token.category = RrlCategory::kError;  // BIND: every error alike, whatever the question
    return out;
  }
  if (out.qname_len == 0) return std::nullopt;
  const std::uint16_t qtype = dns::read_u16(reply.data() + question_end - 4);
  if (header->ancount > 0) {
    token = {RrlCategory::kResponse, qtype, rrl_name_hash(name)};
    return out;
  }
  // No answers: NXDOMAIN and referrals count per zone, the owner of the first authority record
  // (the SOA, or the delegation's NS), so random names under one zone share one account.
  std::optional<dns::Record> authority;
  if (header->nscount > 0) {
    authority = dns::read_record(reply, question_end, dns::Section::kAuthority);
  }
  std::uint8_t owner[256];
  std::size_t owner_len = 0;
  if (authority) owner_len = dns::copy_name_lower(reply, authority->owner, owner);
  const std::uint64_t owner_hash = owner_len > 0 ? rrl_name_hash(dns::Bytes(owner, owner_len)) : 0;
  if (rcode == 3) {
    token = {RrlCategory::kNxdomain, 0, owner_hash};
  } else if (authority && authority->type == kTypeNs) {
    token = {RrlCategory::kReferral, qtype, owner_hash};
  } else {
    token = {RrlCategory::kNodata, 0, rrl_name_hash(name)};
  }
  return out;
}

}  // namespace

RrlSettings RrlSettings::from(const config::RrlConfig& config) noexcept {
  RrlSettings s;
  s.window_ns = std::llround(config.window_seconds * static_cast<double>(kSecondNs));
  auto set = [&](RrlCategory category, double per_second) {
    s.interval_ns[static_cast<std::size_t>(category)] = interval_for(per_second);
  };
  set(RrlCategory::kResponse, config.responses_per_second);
  set(RrlCategory::kNodata, config.nodata_per_second);
  set(RrlCategory::kNxdomain, config.nxdomains_per_second);
  set(RrlCategory::kReferral, config.referrals_per_second);
  set(RrlCategory::kError, config.errors_per_second);
  set(RrlCategory::kRequest, config.requests_per_second);
  s.ipv4_prefix_bits = config.ipv4_prefix_bits;
  s.ipv6_prefix_bits = config.ipv6_prefix_bits;
  s.slip_ratio = static_cast<std::uint32_t>(config.slip_ratio);
  s.max_table_size = std::max<std::size_t>(config.max_table_size, 1);
  s.report_only = config.report_only;
  return s;
}

ClientPrefix client_prefix(const sockaddr_storage& peer, int ipv4_bits, int ipv6_bits) noexcept {
  ClientPrefix out;
  if (peer.ss_family == AF_INET) {
    std::memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
    out.family = AF_INET;
  } else if (peer.ss_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      std::memcpy(out.bytes.data(), a6.s6_addr + 12, 4);
      out.family = AF_INET;
    } else {
      std::memcpy(out.bytes.data(), a6.s6_addr, 16);
      out.family = AF_INET6;
    }
  }
  if (out.family == AF_INET) mask_to(out.bytes.data(), 4, ipv4_bits);
  if (out.family == AF_INET6) mask_to(out.bytes.data(), 16, ipv6_bits);
  return out;
}

std::uint64_t rrl_name_hash(dns::Bytes lower_wire) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::uint8_t byte : lower_wire) {
    h ^= byte;
    h *= 0x100000001b3ULL;
  }
  return h == 0 ? 1 : h;  // 0 means "no name"
}

RrlTable::RrlTable(const RrlSettings& settings, std::uint64_t seed)
    : settings_(settings), seed_(seed) {
  slots_.reserve(settings_.max_table_size);
  buckets_.assign(std::bit_ceil(std::max<std::size_t>(settings_.max_table_size, 16)), kNil);
}

std::uint32_t RrlTable::bucket_of(const RrlKey& key) const noexcept {
  std::uint64_t words[2];
  std::memcpy(words, key.prefix.bytes.data(), sizeof words);
  std::uint64_t h = mix(seed_, words[0]);
  h = mix(h, words[1]);
  h = mix(h, (std::uint64_t{key.prefix.family} << 24) |
                 (std::uint64_t{static_cast<std::uint8_t>(key.category)} << 16) | key.qtype);
  h = mix(h, key.name_hash);
  return static_cast<std::uint32_t>(h & (buckets_.size() - 1));
}

void RrlTable::unlink_lru(std::uint32_t index) noexcept {
  Slot& slot = slots_[index];
  (slot.lru_prev == kNil ? lru_head_ : slots_[slot.lru_prev].lru_next) = slot.lru_next;
  (slot.lru_next == kNil ? lru_tail_ : slots_[slot.lru_next].lru_prev) = slot.lru_prev;
  slot.lru_prev = slot.lru_next = kNil;
}

void RrlTable::push_front(std::uint32_t index) noexcept {
  Slot& slot = slots_[index];
  slot.lru_prev = kNil;
  slot.lru_next = lru_head_;
  if (lru_head_ != kNil) slots_[lru_head_].lru_prev = index;
  lru_head_ = index;
  if (lru_tail_ == kNil) lru_tail_ = index;
}

void RrlTable::unlink_bucket(std::uint32_t index) noexcept {
  std::uint32_t* link = &buckets_[slots_[index].bucket];
  while (*link != index) link = &slots_[*link].bucket_next;
  *link = slots_[index].bucket_next;
}

std::uint32_t RrlTable::find_or_add(const RrlKey& key, std::int64_t now_ns) noexcept {
  const std::uint32_t bucket = bucket_of(key);
  for (std::uint32_t i = buckets_[bucket]; i != kNil; i = slots_[i].bucket_next) {
    if (slots_[i].key == key) {
      if (lru_head_ != i) {
        unlink_lru(i);
        push_front(i);
      }
      return i;
    }
  }
  std::uint32_t index;
  if (slots_.size() < settings_.max_table_size) {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();  // within the reserved capacity: no allocation
  } else {
    index = lru_tail_;  // full: the least recently used account goes
    unlink_lru(index);
    unlink_bucket(index);
    ++counters_.evictions;
  }
  Slot& slot = slots_[index];
  slot.key = key;
  slot.allow_time_ns = now_ns - kSecondNs;  // a new account starts with a full second of credit
  slot.slip_countdown = settings_.slip_ratio;
  slot.bucket = bucket;
  slot.bucket_next = buckets_[bucket];
  buckets_[bucket] = index;
  push_front(index);
  return index;
}

RrlVerdict RrlTable::debit(const RrlKey& key, std::int64_t now_ns) noexcept {
  const std::int64_t interval = settings_.interval_ns[static_cast<std::size_t>(key.category)];
  if (interval == 0) return RrlVerdict::kSend;
  Slot& slot = slots_[find_or_add(key, now_ns)];
  const std::int64_t credit = std::min(now_ns - slot.allow_time_ns, kSecondNs);
  const std::int64_t balance = std::max(credit - interval, -settings_.window_ns);
  slot.allow_time_ns = now_ns - balance;
  if (balance >= 0) return RrlVerdict::kSend;
  const bool request = key.category == RrlCategory::kRequest;
  if (settings_.report_only) {
    ++(request ? counters_.requests_reported : counters_.responses_reported);
    return RrlVerdict::kReportOnly;
  }
  // A request that is over has no response to slip; nor does a ratio of 0.
  if (request || settings_.slip_ratio == 0) {
    ++(request ? counters_.requests_dropped : counters_.responses_dropped);
    return RrlVerdict::kDrop;
  }
  if (slot.slip_countdown <= 1) {
    slot.slip_countdown = settings_.slip_ratio;
    ++counters_.responses_slipped;
    return RrlVerdict::kSlip;
  }
  --slot.slip_countdown;
  ++counters_.responses_dropped;
  return RrlVerdict::kDrop;
}

std::optional<RrlResponseToken> classify_response(dns::Bytes reply) noexcept {
  std::uint8_t qname[256];
  const std::optional<Classified> classified = classify(reply, qname);
  if (!classified) return std::nullopt;
  return classified->token;
}

ResponseRateLimiter::ResponseRateLimiter(const config::RrlConfig& config,
                                         const std::vector<std::string>& block_zones)
    : table_(RrlSettings::from(config), std::random_device{}()) {
  for (const std::string& zone : config.zones.empty() ? block_zones : config.zones) {
    std::string wire;
    dns::text_to_wire(zone, wire);
    zones_wire_.push_back(std::move(wire));
  }
}

bool ResponseRateLimiter::covers(dns::Bytes lower_name) const noexcept {
  return std::any_of(zones_wire_.begin(), zones_wire_.end(), [&](const std::string& zone) {
    return dns::is_subdomain(
        lower_name, dns::Bytes(reinterpret_cast<const std::uint8_t*>(zone.data()), zone.size()));
  });
}

RrlVerdict ResponseRateLimiter::check_request(dns::Bytes lower_name, const sockaddr_storage& peer,
                                              std::int64_t now_ns) noexcept {
  const RrlSettings& s = table_.settings();
  if (s.interval_ns[static_cast<std::size_t>(RrlCategory::kRequest)] == 0 || !covers(lower_name)) {
    return RrlVerdict::kSend;
  }
  RrlKey key;
  key.prefix = client_prefix(peer, s.ipv4_prefix_bits, s.ipv6_prefix_bits);
  key.category = RrlCategory::kRequest;
  return table_.debit(key, now_ns);
}

RrlVerdict ResponseRateLimiter::check_response(dns::Bytes reply, const sockaddr_storage& peer,
                                               std::int64_t now_ns) noexcept {
  std::uint8_t qname[256];
  const std::optional<Classified> classified = classify(reply, qname);
  if (!classified || classified->qname_len == 0 ||
      !covers(dns::Bytes(qname, classified->qname_len))) {
    return RrlVerdict::kSend;
  }
  const RrlSettings& s = table_.settings();
  RrlKey key;
  key.prefix = client_prefix(peer, s.ipv4_prefix_bits, s.ipv6_prefix_bits);
  key.category = classified->token.category;
  key.qtype = classified->token.qtype;
  key.name_hash = classified->token.name_hash;
  return table_.debit(key, now_ns);
}

}  // namespace holdfast::server
