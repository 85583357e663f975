// Upstream flights of the query pipeline: one per question (coalescing), their completion with
// fresh or stale answers, the verify-mode client timers, and refreshes spread over a recovery.
#include <spdlog/spdlog.h>

#include <netinet/in.h>

#include <algorithm>

#include "dns/header.h"
#include "dns/name.h"
#include "dns/rr_text.h"
#include "dns/wire.h"
#include "server/query_pipeline.h"
#include "upstream/forwarder.h"
#include "upstream/query_writer.h"

namespace holdfast::server {
namespace {

// Answers that end a flight as data: anything else means the upstream failed (RFC 8767 §4).
bool is_usable_rcode(std::uint8_t rcode) {
  const auto r = static_cast<dns::Rcode>(rcode);
  return r == dns::Rcode::kNoError || r == dns::Rcode::kNxDomain;
}

}  // namespace

QueryPipeline::~QueryPipeline() = default;

std::uint64_t client_key(const ClientRef& client) noexcept {
  // FNV-1a over the address family and bytes (not the port): one client is one host.
  const std::uint8_t* bytes = nullptr;
  std::size_t len = 0;
  if (client.peer.ss_family == AF_INET) {
    bytes = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in&>(client.peer).sin_addr);
    len = 4;
  } else if (client.peer.ss_family == AF_INET6) {
    bytes = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in6&>(client.peer).sin6_addr);
    len = 16;
  }
  std::uint64_t hash = 0xcbf29ce484222325ULL ^ client.peer.ss_family;
  for (std::size_t i = 0; i < len; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  return hash | 1;  // never 0, which is the daemon itself
}

std::vector<std::uint8_t> QueryPipeline::upstream_query_for(dns::Bytes packet,
                                                            const dns::QueryView& query) {
  std::vector<std::uint8_t> out(dns::kHeaderSize + dns::kMaxNameWireLen + 4 + 32);
  upstream::UpstreamQueryOptions options;
  options.do_bit = query.opt && query.opt->do_bit;
  options.cd_bit = query.header.cd();
  out.resize(upstream::write_upstream_query(packet, query.question, options, out));
  return out;
}

void QueryPipeline::start_flight(Zone& zone, const cache::CacheKey& key,
                                 std::vector<std::uint8_t> upstream_query, const FirstWaiter* first,
                                 Send send) {
  Flight* raw = &flights_.open(*this, key, &zone, std::move(upstream_query));
  ++counters_.upstream_flights;
  // The first client joins before the query goes out: resolve() and submit() may complete
  // synchronously (max_concurrent, a full queue, a closed channel), and then it must be answered.
  if (first != nullptr) join(*raw, first->packet, first->client, first->deadline_ms);
  // `raw` may be gone after either call; its query lives as long as the flight.
  if (send == Send::kMayQueue) {
    zone.upstream->submit(raw->query(), raw, first != nullptr ? client_key(first->client) : 0);
  } else {
    zone.upstream->resolve(raw->query(), raw);
  }
}

void QueryPipeline::join(Flight& flight, dns::Bytes packet, const ClientRef& client,
                         std::int64_t deadline_ms) {
  flights_.join(flight, client, packet, deadline_ms);
  if (deadline_ms > 0 && flights_.next_deadline_ms() == deadline_ms) {
    arm_timer(deadline_timer_, deadline_ms);
  }
}

bool QueryPipeline::refresh(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                            const dns::QueryView& query) {
  if (zone.upstream == nullptr || flights_.contains(key.view())) return true;
  if (!zone.upstream->admit()) return false;
  ++counters_.refreshes;
  start_flight(zone, key, upstream_query_for(packet, query), nullptr);
  return true;
}

void QueryPipeline::schedule_refresh(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                                     const dns::QueryView& query,
                                     std::optional<std::int64_t> not_after_ms) {
  if (refreshes_.contains(key.view())) return;
  RefreshScheduler::Pending pending{&zone, zone.upstream, zone.stale.recheck_ms,
                                    upstream_query_for(packet, query)};
  const auto added = refreshes_.add(std::string(key.view()), std::move(pending),
                                    clock_.monotonic_ms(), not_after_ms);
  if (added == RefreshScheduler::Added::kFull) ++counters_.refreshes_dropped;
  if (added == RefreshScheduler::Added::kScheduled && not_after_ms) arm_refresh_timer();
}

void QueryPipeline::arm_refresh_timer() noexcept {
  if (const auto due = refreshes_.next_due_ms()) {
    arm_timer(refresh_timer_, *due);
  } else if (refresh_timer_.loop != nullptr) {
    uv_unref(reinterpret_cast<uv_handle_t*>(&refresh_timer_));
  }
}

void QueryPipeline::on_circuit_closed(upstream::UpstreamGroup& group) noexcept {
  try {
    if (refreshes_.on_recovery(&group, clock_.monotonic_ms()) > 0) arm_refresh_timer();
  } catch (...) {
    ++counters_.internal_errors;
  }
}

std::size_t QueryPipeline::flights_for(const Zone* zone) const noexcept {
  return flights_.count_on(zone) + store_reads_on(zone);
}

void QueryPipeline::retarget_refreshes(const Zone* retired, Zone* replacement) noexcept {
  refreshes_.retarget(retired, replacement,
                      replacement != nullptr ? replacement->upstream : nullptr);
}

void QueryPipeline::abandon_flights(Zone* zone) noexcept {
  std::vector<Flight*> left;
  try {
    left = flights_.on_zone(zone);
  } catch (...) {
    ++counters_.internal_errors;
  }
  for (Flight* flight : left) {
    on_flight_done(flight, upstream::UpstreamStatus::kCancelled, dns::Bytes());
  }
  // Clients of this zone still waiting for a store read: answered now from memory (stale
  // included) or SERVFAIL, never sent upstream through the closed forwarder; their read's result
  // finds nothing to resume, so nothing here keeps the zone's address.
  std::vector<Waiter> waiting;
  for (auto pending = store_reads_pending_.begin(); pending != store_reads_pending_.end();) {
    auto& list = pending->second;
    for (auto it = list.begin(); it != list.end();) {
      if (it->first != zone) {
        ++it;
        continue;
      }
      try {
        waiting.push_back(std::move(it->second));
      } catch (...) {
        it->second.client.sink->query_done(it->second.client);  // out of memory: dropped
      }
      it = list.erase(it);
    }
    pending = list.empty() ? store_reads_pending_.erase(pending) : std::next(pending);
  }
  for (const Waiter& waiter : waiting) {
    const dns::Bytes packet(waiter.query);
    const dns::ParsedQuery parsed = dns::parse_query(packet);
    if (parsed.error != dns::QueryError::kNone) {
      waiter.client.sink->query_done(waiter.client);
      continue;
    }
    const cache::CacheKey key(packet, parsed.query);
    if (answer_from_cache(waiter, *zone, key, StaleReason::kUnreachable)) continue;
    ++counters_.servfail;
    reply_error(packet, parsed, dns::Rcode::kServFail, std::nullopt, waiter.client, zone);
  }
}

Flight::StaleReply QueryPipeline::rendered_stale_reply(const cache::Hit& hit) const {
  return Flight::StaleReply{
      std::vector<std::uint8_t>(reply_.begin(),
                                reply_.begin() + static_cast<std::ptrdiff_t>(hit.wire_len)),
      hit};
}

bool QueryPipeline::answer_promised_stale(const Waiter& waiter, Zone& zone, const Flight& flight,
                                          StaleReason reason) noexcept {
  const Flight::StaleReply* kept = flight.stale_reply();
  if (kept == nullptr || kept->bytes.size() > reply_.size()) return false;
  std::copy(kept->bytes.begin(), kept->bytes.end(), reply_.begin());
  const dns::Bytes packet(waiter.query);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  count_stale(zone, reason, kept->hit);
  const std::uint16_t ede = static_cast<dns::Rcode>(kept->hit.rcode) == dns::Rcode::kNxDomain
                                ? dns::ede::kStaleNxdomainAnswer
                                : dns::ede::kStaleAnswer;
  finish_and_send(kept->bytes.size(), kept->hit.question_end, packet, parsed.query, waiter.client,
                  ede, &zone);
  return true;
}

void QueryPipeline::arm_timer(uv_timer_t& timer, std::int64_t due_ms) noexcept {
  if (timer.loop == nullptr || uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer))) return;
  const std::int64_t wait = std::max<std::int64_t>(0, due_ms - clock_.monotonic_ms());
  auto callback =
      &timer == &deadline_timer_
          ? +[](uv_timer_t* t) noexcept { static_cast<QueryPipeline*>(t->data)->on_deadlines(); }
          : +[](uv_timer_t* t) noexcept {
              static_cast<QueryPipeline*>(t->data)->on_refresh_timer();
            };
  uv_ref(reinterpret_cast<uv_handle_t*>(&timer));
  uv_timer_start(&timer, callback, static_cast<std::uint64_t>(wait), 0);
}

void QueryPipeline::on_deadlines() noexcept {
  try {
    flights_.take_due(clock_.monotonic_ms(), [&](Flight& flight, const Waiter& waiter) {
      // The client timer ran out: answer stale now, keep the flight going for the cache.
      if (!answer_from_cache(waiter, *flight.zone(), flight.key(), StaleReason::kTimeout) &&
          !answer_promised_stale(waiter, *flight.zone(), flight, StaleReason::kTimeout)) {
        return false;
      }
      ++counters_.stale_on_timeout;
      return true;
    });
  } catch (...) {
    ++counters_.internal_errors;
  }
  if (const auto next = flights_.next_deadline_ms()) {
    arm_timer(deadline_timer_, *next);
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(&deadline_timer_));
  }
}

void QueryPipeline::on_refresh_timer() noexcept {
  using Outcome = RefreshScheduler::Outcome;
  try {
    refreshes_.take_due(clock_.monotonic_ms(),
                        [&](const std::string& key_text, RefreshScheduler::Pending& pending) {
                          Zone& zone = *pending.zone;
                          if (flights_.contains(key_text) || zone.upstream == nullptr)
                            return Outcome::kDone;
                          // Down again: wait for the next recovery. Over qps: try again shortly,
                          // still in order.
                          if (zone.upstream->circuit_open()) return Outcome::kAwaitRecovery;
                          if (!zone.upstream->admit()) return Outcome::kRetrySoon;
                          const dns::ParsedQuery parsed = dns::parse_query(pending.upstream_query);
                          if (parsed.error != dns::QueryError::kNone) return Outcome::kDone;
                          const cache::CacheKey key(pending.upstream_query, parsed.query);
                          ++counters_.refreshes;
                          start_flight(zone, key, std::move(pending.upstream_query), nullptr);
                          return Outcome::kDone;
                        });
  } catch (...) {
    ++counters_.internal_errors;
  }
  arm_refresh_timer();
}

void QueryPipeline::on_flight_done(Flight* flight, upstream::UpstreamStatus status,
                                   dns::Bytes response) noexcept {
  const std::unique_ptr<Flight> owned = flights_.close(flight);
  if (!owned) return;
  Zone& zone = *owned->zone();

  std::optional<cache::Entry> entry;
  if (status == upstream::UpstreamStatus::kAnswer) {
    if (upstream::response_matches(owned->query(), response)) {
      entry = cache::make_entry(response, zone.ttl_policy, clock_.wall_seconds());
    } else {
      ++counters_.upstream_mismatch;
    }
  }
  if (entry && is_usable_rcode(entry->rcode)) {
    refreshes_.forget(owned->key_text());  // fresh now: no background refresh needed
    for (const Waiter& waiter : owned->waiters()) {
      if (!waiter.answered) answer_waiter(waiter, zone, &*entry, false, dns::Rcode::kServFail);
    }
    if (zone.cache && entry->kind != cache::EntryKind::kUncacheable) {
      try {
        if (zone.store != nullptr) zone.store->put(owned->key_text(), *entry);
        zone.cache->insert(owned->key(), *entry);
      } catch (const std::exception&) {
        ++counters_.internal_errors;  // out of memory: the answer went out, it is not kept
      }
    }
    return;
  }

  // The upstream failed: timeout, refused, an error rcode or an answer that does not match.
  ++counters_.upstream_failures;
  const bool local = status == upstream::UpstreamStatus::kCancelled ||
                     status == upstream::UpstreamStatus::kRejected ||
                     status == upstream::UpstreamStatus::kOverLimit;
  if (zone.block->errors && !local) {
    // `errors`, rate-limited: at most one line a second per block, with what it held back.
    const std::int64_t now = clock_.monotonic_ms();
    if (now - zone.errors_logged_ms >= 1000) {
      const dns::ParsedQuery asked = dns::parse_query(owned->query());
      const std::string question =
          asked.error == dns::QueryError::kNone
              ? dns::name_to_text(owned->query(), asked.query.question.name) + " " +
                    dns::type_to_text(asked.query.question.qtype)
              : std::string("?");
      spdlog::error("[{}] upstream query for {} failed: {}{}", zone.name, question,
                    entry ? "error rcode" : upstream::to_string(status),
                    zone.errors_suppressed > 0
                        ? fmt::format("; {} more since the last line", zone.errors_suppressed)
                        : std::string());
      zone.errors_logged_ms = now;
      zone.errors_suppressed = 0;
    } else {
      ++zone.errors_suppressed;
    }
  }
  const bool over_limit = status == upstream::UpstreamStatus::kOverLimit;
  StaleReason reason = StaleReason::kUnreachable;
  if (entry) {
    reason = static_cast<dns::Rcode>(entry->rcode) == dns::Rcode::kRefused ? StaleReason::kRefused
                                                                           : StaleReason::kServfail;
  } else if (status == upstream::UpstreamStatus::kTimeout) {
    reason = StaleReason::kTimeout;
  } else if (local) {
    reason = StaleReason::kLimited;
  }
  for (const Waiter& waiter : owned->waiters()) {
    if (waiter.answered) continue;
    // Stale data beats any error (RFC 8767 §4); a fresh SERVFAIL never replaces it.
    if (serves_stale(zone) && (answer_from_cache(waiter, zone, owned->key(), reason) ||
                               answer_promised_stale(waiter, zone, *owned, reason))) {
      continue;
    }
    if (entry) {
      answer_waiter(waiter, zone, &*entry, true, dns::Rcode::kServFail);  // pass the rcode on
    } else {
      answer_waiter(waiter, zone, nullptr, true,
                    over_limit ? dns::Rcode::kRefused : dns::Rcode::kServFail);
    }
  }
  if (entry && zone.cache && entry->kind == cache::EntryKind::kServfail) {
    try {
      zone.cache->insert(owned->key(), *entry);  // refused if stale data exists
    } catch (const std::exception&) {
      ++counters_.internal_errors;
    }
  }
}

}  // namespace holdfast::server
