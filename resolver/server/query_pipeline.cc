// The per-loop query path: parse → route → cache (memory, then store) → stale policy or a
// coalesced upstream flight; and the finishing of every reply for its client.
#include "server/query_pipeline.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/uv_util.h"
#include "cache/entry.h"
#include "dns/edns.h"
#include "dns/header.h"
#include "dns/reply.h"
#include "dns/rr_text.h"
#include "server/lookup_prefetch.h"
#include "server/reply_finish.h"
#include "upstream/forwarder.h"

namespace holdfast::server {
namespace {

constexpr std::uint16_t kQtypeAny = 255;
constexpr std::uint16_t kEdeFiltered = 17;  // RFC 8914
constexpr std::uint16_t kEdeProhibited = 18;

constexpr std::size_t kReplyBufferSize = dns::kMaxMessageSize + 512;

}  // namespace

QueryPipeline::QueryPipeline(uv_loop_t* loop, const Clock& clock, PipelineOptions options)
    : loop_(loop),
      clock_(clock),
      options_(std::move(options)),
      rng_(std::random_device{}()),
      reply_(kReplyBufferSize),
      refreshes_(options_.max_pending_refreshes, rng_()),
      store_reads_(loop, [this](std::vector<StoreReads::Done>& done) { on_store_reads(done); }) {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) hostname_ = host;
  uv_timer_init(loop_, &deadline_timer_);
  deadline_timer_.data = this;
  uv_timer_init(loop_, &refresh_timer_);
  refresh_timer_.data = this;
  // The timers never keep the loop alive by themselves.
  uv_unref(reinterpret_cast<uv_handle_t*>(&deadline_timer_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&refresh_timer_));
}

void QueryPipeline::close() noexcept {
  close_member(reinterpret_cast<uv_handle_t*>(&deadline_timer_));
  close_member(reinterpret_cast<uv_handle_t*>(&refresh_timer_));
  refreshes_.clear();
  store_reads_.close();
  for (auto& [key, waiters] : store_reads_pending_) {
    for (auto& [zone, waiter] : waiters) waiter.client.sink->query_done(waiter.client);
  }
  store_reads_pending_.clear();
}

void QueryPipeline::drain_store_reads() noexcept {
  store_reads_.drain();
}

std::size_t QueryPipeline::store_reads_on(const Zone* zone) const noexcept {
  std::size_t count = 0;
  for (const auto& [key, waiters] : store_reads_pending_) {
    for (const auto& [on, waiter] : waiters) count += on == zone ? 1 : 0;
  }
  return count;
}

void QueryPipeline::count_stale(Zone& zone, StaleReason reason, const cache::Hit& hit) noexcept {
  ++counters_.stale_answers;
  ++zone.served_stale;
  ++counters_.stale_by_reason[static_cast<std::size_t>(reason)];
  roll_stale_age(clock_.monotonic_ms());
  stale_age_windows_[0] = std::max(stale_age_windows_[0], hit.stale_seconds);
}

void QueryPipeline::roll_stale_age(std::int64_t now_ms) noexcept {
  const std::int64_t minute = now_ms / 60'000;
  if (minute == stale_age_minute_) return;
  stale_age_windows_[1] = minute == stale_age_minute_ + 1 ? stale_age_windows_[0] : 0;
  stale_age_windows_[0] = 0;
  stale_age_minute_ = minute;
}

PipelineCounters QueryPipeline::take_counters() noexcept {
  roll_stale_age(clock_.monotonic_ms());
  PipelineCounters out = counters_;
  out.oldest_stale_seconds = std::max(stale_age_windows_[0], stale_age_windows_[1]);
  return out;
}

void QueryPipeline::handle(dns::Bytes packet, const ClientRef& client) noexcept {
  handle_hinted(packet, client, nullptr);
}

void QueryPipeline::handle_hinted(dns::Bytes packet, const ClientRef& client,
                                  const LookupHint* hint) noexcept {
  ++(client.transport == Transport::kUdp ? counters_.queries_udp : counters_.queries_tcp);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  switch (parsed.error) {
    case dns::QueryError::kNoHeader:
      ++counters_.dropped_short;
      client.sink->query_done(client);
      return;
    case dns::QueryError::kIsResponse:
      ++counters_.dropped_response;
      client.sink->query_done(client);
      return;
    case dns::QueryError::kNotImplemented:
      ++counters_.notimp;
      reply_error(packet, parsed, dns::Rcode::kNotImp, std::nullopt, client);
      return;
    case dns::QueryError::kMalformed:
      ++counters_.formerr;
      reply_error(packet, parsed, dns::Rcode::kFormErr, std::nullopt, client);
      return;
    case dns::QueryError::kNone:
      break;
  }
  const dns::QueryView& query = parsed.query;
  if (query.edns_bad_version) {
    // RFC 6891 §6.1.3: an unknown EDNS version gets BADVERS (written by dns/), nothing else.
    const std::size_t len =
        dns::write_extended_error_reply(packet, parsed, dns::kRcodeBadVers, std::nullopt, reply_);
    if (len == 0) {
      client.sink->query_done(client);
      return;
    }
    send(client, len, &query, packet, nullptr, observe::Responder::kNone);
    return;
  }
  // Built and routed by the listener's prefetch already when it read the same question.
  const RoutedKey routed(packet, query, client.router, hint);
  const cache::CacheKey& key = routed.key();
  Zone* zone = routed.zone();
  const std::uint16_t qtype = query.question.qtype;
  if (zone != nullptr && zone->local_clients_only &&
      !local_clients_.contains(client.peer, clock_)) {
    refuse_nonlocal(*zone, client.peer);
    reply_error(packet, parsed, dns::Rcode::kRefused, kEdeProhibited, client, zone);
    return;
  }
  if (zone != nullptr && !zone->acl.empty()) {
    switch (zone->acl.decide(key.name(), qtype, client.peer)) {
      case config::AclAction::kAllow:
        ++zone->acl_allowed;
        break;
      case config::AclAction::kBlock:
        ++zone->acl_blocked;
        reply_error(packet, parsed, dns::Rcode::kRefused, kEdeProhibited, client, zone);
        return;
      case config::AclAction::kFilter:
        ++zone->acl_filtered;
        reply_error(packet, parsed, dns::Rcode::kNoError, kEdeFiltered, client, zone);
        return;
      case config::AclAction::kDrop:
        ++zone->acl_dropped;
        client.sink->query_done(client);
        return;
    }
  }
  if (zone != nullptr && zone->rrl &&
      zone->rrl->check_request(key.name(), client.peer, now_ns()) == RrlVerdict::kDrop) {
    client.sink->query_done(client);  // requests-per-second: no answer at all, as CoreDNS
    return;
  }
  if (query.question.qclass == kClassChaos || (zone != nullptr && qtype == kQtypeAny)) {
    const LocalAnswer local = answer_locally(packet, parsed, zone ? zone->block : nullptr,
                                             options_.version, hostname_, reply_);
    if (local.kind == LocalKind::kRefuse) {
      ++counters_.refused;
      reply_error(packet, parsed, dns::Rcode::kRefused, std::nullopt, client, zone);
      return;
    }
    if (local.kind == LocalKind::kAnswer) {
      ++counters_.local_answers;
      send(client, local.length, &query, packet, zone, observe::Responder::kNone);
      return;
    }
  }
  if (zone == nullptr || qtype == dns::qtype::kAxfr || qtype == dns::qtype::kIxfr) {
    ++counters_.refused;
    reply_error(packet, parsed, dns::Rcode::kRefused, std::nullopt, client, zone);
    return;
  }
  answer_or_forward(*zone, key, packet, query, client, false);
}

void QueryPipeline::answer_or_forward(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                                      const dns::QueryView& query, const ClientRef& client,
                                      bool store_read) noexcept {
  // Past this point waiting clients and refreshes allocate. Out of memory must not take the
  // daemon down: the query is dropped (counted) and the client retries.
  try {
    if (zone.cache) {
      std::optional<cache::Hit> hit = lookup(zone, key);
      if (!hit && zone.store != nullptr && !store_read) {
        if (!store_in_memory(*zone.store)) {
          read_store(zone, key, packet, client);  // the disk may be read: off the loop
          return;
        }
        hit = read_store_now(zone, key);
      }
      if (hit) {
        if (hit->stale) {
          answer_stale_or_wait(zone, key, *hit, packet, query, client);
          return;
        }
        ++counters_.cache_hits;
        finish_and_send(hit->wire_len, hit->question_end, packet, query, client, std::nullopt,
                        &zone);
        if (hit->prefetch_due && stale_mode_ != StaleMode::kForce) {
          ++zone.prefetches;
          refresh(zone, key, packet, query);
        }
        return;
      }
      ++counters_.cache_misses;
    }
    forward_miss(zone, key, packet, query, client);
  } catch (const std::exception&) {
    ++counters_.internal_errors;
  }
}

bool QueryPipeline::store_in_memory(const cache::PersistentStore& store) noexcept {
  // Asked at most once a second (mincore over the map: tens of µs at a million answers).
  const std::int64_t now = clock_.monotonic_ms();
  if (&store != resident_store_ || now - resident_checked_ms_ >= 1000) {
    resident_store_ = &store;
    resident_checked_ms_ = now;
    store_resident_ =
        options_.store_in_page_cache ? options_.store_in_page_cache(store) : store.pages_resident();
  }
  return store_resident_;
}

std::optional<cache::Hit> QueryPipeline::read_store_now(Zone& zone, const cache::CacheKey& key) {
  // Every page of the store is in memory: the read cannot wait for the disk, and costs less
  // here than a trip to the reader thread (bench/persist). Promoted and answered in one step.
  std::optional<cache::Entry> stored = zone.store->get(key.view());
  if (!stored) return std::nullopt;
  auto hit = zone.cache->insert_and_lookup(
      key, *stored, reply_,
      serves_stale(zone) ? cache::StaleUse::kAllowStale : cache::StaleUse::kFreshOnly,
      zone.stale.stale_ttl_seconds);
  if (hit) ++counters_.store_promotions;
  return hit;
}

void QueryPipeline::read_store(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                               const ClientRef& client) {
  // One read per key, whoever else asks meanwhile (as one flight per question upstream).
  auto [pending, first] = store_reads_pending_.try_emplace(std::string(key.view()));
  pending->second.emplace_back(
      &zone, Waiter{client, std::vector<std::uint8_t>(packet.begin(), packet.end()), 0, false});
  if (!first) return;
  try {
    cache::PersistentStore* store = zone.store;
    store_reads_.submit(pending->first,
                        [store](std::string_view stored_key) { return store->get(stored_key); });
  } catch (...) {
    store_reads_pending_.erase(pending);  // not queued: the client retries
    throw;
  }
}

void QueryPipeline::on_store_reads(std::vector<StoreReads::Done>& done) noexcept {
  for (StoreReads::Done& read : done) {
    const auto pending = store_reads_pending_.find(read.key);
    if (pending == store_reads_pending_.end()) continue;  // abandoned meanwhile
    std::vector<std::pair<Zone*, Waiter>> waiters = std::move(pending->second);
    store_reads_pending_.erase(pending);
    std::vector<Zone*> filled;
    for (auto& [zone, waiter] : waiters) {
      if (read.entry && zone->cache &&
          std::find(filled.begin(), filled.end(), zone) == filled.end()) {
        // What was answered while the read was on its way is newer than the store.
        try {
          filled.push_back(zone);
          const auto key = cache::CacheKey::from_stored(read.key);
          if (key && zone->cache->insert_if_absent(*key, *read.entry)) ++counters_.store_promotions;
        } catch (...) {
          ++counters_.internal_errors;
        }
      }
      resume_after_store(*zone, waiter);
    }
  }
}

void QueryPipeline::resume_after_store(Zone& zone, const Waiter& waiter) noexcept {
  const dns::Bytes packet(waiter.query);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  if (parsed.error != dns::QueryError::kNone) {  // parsed once already: cannot happen
    waiter.client.sink->query_done(waiter.client);
    return;
  }
  const dns::QueryView& query = parsed.query;
  const cache::CacheKey key(packet, query);
  answer_or_forward(zone, key, packet, query, waiter.client, true);
}

void QueryPipeline::prefetch(dns::Bytes packet, const ClientRef& client) noexcept {
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  if (parsed.error != dns::QueryError::kNone || client.router == nullptr ||
      stale_mode_ == StaleMode::kForce) {
    return;
  }
  const dns::QueryView& query = parsed.query;
  const cache::CacheKey key(packet, query);
  Zone* zone = client.router->route(key.name());
  if (zone == nullptr || !zone->cache) return;
  try {
    ++zone->prefetches;
    refresh(*zone, key, packet, query);
  } catch (const std::exception&) {
    ++counters_.internal_errors;
  }
}

std::optional<cache::Hit> QueryPipeline::lookup(Zone& zone, const cache::CacheKey& key) noexcept {
  // Memory only: the store is read off the loop (read_store()) before a miss goes upstream.
  const cache::StaleUse stale =
      serves_stale(zone) ? cache::StaleUse::kAllowStale : cache::StaleUse::kFreshOnly;
  return zone.cache->lookup(key, reply_, stale, zone.stale.stale_ttl_seconds);
}

void QueryPipeline::answer_stale_or_wait(Zone& zone, const cache::CacheKey& key,
                                         const cache::Hit& hit, dns::Bytes packet,
                                         const dns::QueryView& query, const ClientRef& client) {
  upstream::UpstreamGroup* forwarder =
      zone.upstream != nullptr && zone.upstream->covers(key.name()) ? zone.upstream : nullptr;
  const auto view = [&] {
    return UpstreamView{forwarder != nullptr, forwarder != nullptr && forwarder->circuit_open(),
                        forwarder != nullptr && forwarder->degraded()};
  };
  const std::uint16_t ede = static_cast<dns::Rcode>(hit.rcode) == dns::Rcode::kNxDomain
                                ? dns::ede::kStaleNxdomainAnswer
                                : dns::ede::kStaleAnswer;
  switch (first_step(stale_mode_, zone.stale.verify, view())) {
    case StaleStep::kServeForced:
      // The operator took the load off the upstream: what is cached is the answer, as it is.
      count_stale(zone, StaleReason::kForced, hit);
      finish_and_send(hit.wire_len, hit.question_end, packet, query, client, ede, &zone);
      return;
    case StaleStep::kAskUpstreamFirst: {
      // As long as the upstream's own recent latency says an answer is coming, at most
      // client_timeout.
      const std::int64_t deadline =
          clock_.monotonic_ms() + forwarder->stale_wait_ms(zone.stale.client_timeout_ms);
      if (Flight* flight = flights_.find(key.view()); flight != nullptr) {
        ++counters_.coalesced;
        if (flight->stale_reply() == nullptr) flight->keep_stale_reply(rendered_stale_reply(hit));
        join(*flight, packet, client, deadline);
        return;
      }
      if (forwarder->admit()) {
        // Copied before the flight starts: a forwarder that fails at once answers from reply_.
        Flight::StaleReply promised = rendered_stale_reply(hit);
        const FirstWaiter first{packet, client, deadline};
        start_flight(zone, key, upstream_query_for(packet, query), &first);
        if (Flight* flight = flights_.find(key.view()); flight != nullptr) {
          flight->keep_stale_reply(std::move(promised));
        }
        return;
      }
      ++counters_.limited;
      break;
    }
    case StaleStep::kServeNow:
      break;
  }
  count_stale(zone, reason_served_now(zone.stale.verify, view()), hit);
  finish_and_send(hit.wire_len, hit.question_end, packet, query, client, ede, &zone);
  switch (refresh_after_serving(view(), flights_.contains(key.view()))) {
    case StaleRefresh::kNone:
      break;
    case StaleRefresh::kAtRecovery:
      // Refreshed when the upstream is back (the probes find out when).
      schedule_refresh(zone, key, packet, query, std::nullopt);
      break;
    case StaleRefresh::kDegradedTrickle:
      if (forwarder->claim_degraded_refresh()) {
        ++counters_.refreshes;
        start_flight(zone, key, upstream_query_for(packet, query), nullptr);
      }
      break;
    case StaleRefresh::kNowOrLater:
      // Over the limits: refreshed in the background, in the quiet that follows.
      if (!refresh(zone, key, packet, query)) {
        schedule_refresh(zone, key, packet, query, clock_.monotonic_ms() + zone.stale.recheck_ms);
      }
      break;
  }
}

void QueryPipeline::forward_miss(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                                 const dns::QueryView& query, const ClientRef& client) {
  const dns::ParsedQuery parsed{dns::QueryError::kNone, query};
  if (zone.upstream == nullptr || !zone.upstream->covers(key.name())) {
    // CoreDNS answers SERVFAIL when no plugin handles the query.
    ++counters_.servfail;
    reply_error(packet, parsed, dns::Rcode::kServFail, std::nullopt, client, &zone);
    return;
  }
  if (Flight* flight = flights_.find(key.view()); flight != nullptr) {
    ++counters_.coalesced;
    join(*flight, packet, client, 0);
    return;
  }
  // Nothing to serve: the forwarder sends it now, lets it wait its turn (limits, or a probe slot
  // while the upstream is down), or rejects it (SERVFAIL + EDE 22 through on_flight_done()).
  const FirstWaiter first{packet, client, 0};
  start_flight(zone, key, upstream_query_for(packet, query), &first, Send::kMayQueue);
}

void QueryPipeline::answer_waiter(const Waiter& waiter, Zone& zone, const cache::Entry* entry,
                                  bool from_failure, dns::Rcode failure) noexcept {
  const dns::Bytes packet(waiter.query);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  if (entry == nullptr) {
    if (failure == dns::Rcode::kServFail) ++counters_.servfail;
    if (failure == dns::Rcode::kRefused) ++counters_.refused;
    const std::optional<std::uint16_t> ede =
        failure == dns::Rcode::kServFail && from_failure
            ? std::optional<std::uint16_t>(dns::ede::kNoReachableAuthority)
            : std::nullopt;
    reply_error(packet, parsed, failure, ede, waiter.client, &zone);
    return;
  }
  cache::RenderOptions render;
  if (zone.block->cache.keepttl) render.mode = cache::TtlMode::kKeep;
  const std::size_t len = cache::render_entry(*entry, entry->ttl_seconds, render, reply_);
  finish_and_send(len, entry->question_end, packet, parsed.query, waiter.client, std::nullopt,
                  &zone, observe::Responder::kForward);
}

bool QueryPipeline::answer_from_cache(const Waiter& waiter, Zone& zone, const cache::CacheKey& key,
                                      StaleReason reason) noexcept {
  if (!zone.cache) return false;
  auto hit = lookup(zone, key);
  if (!hit || hit->kind == cache::EntryKind::kServfail) return false;
  const dns::Bytes packet(waiter.query);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  std::optional<std::uint16_t> ede;
  if (hit->stale) {
    count_stale(zone, reason, *hit);
    ede = static_cast<dns::Rcode>(hit->rcode) == dns::Rcode::kNxDomain
              ? dns::ede::kStaleNxdomainAnswer
              : dns::ede::kStaleAnswer;
  }
  finish_and_send(hit->wire_len, hit->question_end, packet, parsed.query, waiter.client, ede,
                  &zone);
  return true;
}

void QueryPipeline::refuse_nonlocal(Zone& zone, const sockaddr_storage& peer) noexcept {
  ++zone.acl_blocked;
  if (nonlocal_logged_) return;
  nonlocal_logged_ = true;
  try {
    spdlog::warn(
        "[{}] refused a query from {}: a block without `bind` or `acl` answers only loopback and "
        "the node's own subnets (add `acl {{ allow net ... }}` or `bind` to serve others; logged "
        "once, counted in coredns_acl_blocked_requests_total)",
        zone.name, format_address(reinterpret_cast<const sockaddr*>(&peer)));
  } catch (...) {
  }
}

void QueryPipeline::reply_error(dns::Bytes packet, const dns::ParsedQuery& parsed, dns::Rcode rcode,
                                std::optional<std::uint16_t> ede, const ClientRef& client,
                                const Zone* zone) noexcept {
  std::size_t len = dns::write_error_reply(packet, parsed, rcode, ede, reply_);
  if (len == 0) {
    client.sink->query_done(client);
    return;
  }
  send(client, len, parsed.error == dns::QueryError::kNone ? &parsed.query : nullptr, packet, zone,
       observe::Responder::kNone);
}

void QueryPipeline::finish_and_send(std::size_t len, std::size_t question_end, dns::Bytes packet,
                                    const dns::QueryView& query, const ClientRef& client,
                                    std::optional<std::uint16_t> ede, const Zone* zone,
                                    observe::Responder responder) noexcept {
  if (len == 0) {
    client.sink->query_done(client);
    return;
  }
  const FinishedReply finished =
      finish_reply(dns::MutableBytes(reply_), len, question_end, packet, query, client.transport,
                   options_.max_udp_payload, ede);
  if (finished.truncated) ++counters_.truncated;
  len = finished.length;
  send(client, len, &query, packet, zone, responder);
}

std::size_t QueryPipeline::rate_limit(const ClientRef& client, std::size_t len,
                                      const dns::QueryView* query, const Zone& zone) noexcept {
  const dns::Bytes reply(reply_.data(), len);
  switch (zone.rrl->check_response(reply, client.peer, now_ns())) {
    case RrlVerdict::kSend:
    case RrlVerdict::kReportOnly:
      return len;
    case RrlVerdict::kDrop:
      return 0;
    case RrlVerdict::kSlip:
      break;
  }
  // Slip: header and question only, TC=1 (and the OPT when the client sent one), so that a
  // client that really asked retries over TCP, which is never limited.
  const std::optional<std::size_t> question_end = dns::skip_questions(reply, 1);
  if (!question_end) return 0;
  std::optional<dns::OptToWrite> opt;
  if (query != nullptr && query->opt) {
    opt.emplace();
    opt->udp_size = static_cast<std::uint16_t>(options_.max_udp_payload);
    opt->do_bit = query->opt->do_bit;
  }
  return dns::truncate_reply(dns::MutableBytes(reply_), *question_end, opt);
}

void QueryPipeline::send(const ClientRef& client, std::size_t len, const dns::QueryView* query,
                         dns::Bytes packet, const Zone* zone,
                         observe::Responder responder) noexcept {
  // Response rate limiting applies to UDP only: a TCP client cannot spoof its address.
  if (client.transport == Transport::kUdp && zone != nullptr && zone->rrl) {
    len = rate_limit(client, len, query, *zone);
    if (len == 0) {
      client.sink->query_done(client);
      return;
    }
  }
  client.sink->send_reply(client, dns::Bytes(reply_.data(), len));
  client.sink->query_done(client);
  if (client.router != nullptr && len >= dns::kHeaderSize) {
    const double seconds = static_cast<double>(uv_hrtime() - client.received_ns) / 1e9;
    client.router->metrics_for(zone).count(
        client.transport == Transport::kUdp ? observe::Proto::kUdp : observe::Proto::kTcp,
        client.peer.ss_family == AF_INET6 ? observe::Family::kIpv6 : observe::Family::kIpv4,
        query != nullptr ? query->question.qtype : 0,
        query != nullptr && query->opt && query->opt->do_bit, packet.size(), len, reply_[3] & 0x0f,
        responder, seconds);
  }
  const bool log_query = zone != nullptr && zone->block->log;
  if (query == nullptr || !(log_query || spdlog::should_log(spdlog::level::debug))) return;
  // The `log` directive: one line per query in CoreDNS's common log format,
  //   {remote}:{port} - {id} "{type} {class} {name} {proto} {size} {do} {bufsize}" {rcode}
  //   {rflags} {rsize} {duration}
  // It allocates, which is why it is opt-in.
  try {
    const auto header = dns::read_header(dns::Bytes(reply_.data(), len));
    std::string flags;
    if (header) {
      const std::pair<std::uint16_t, const char*> names[] = {
          {dns::flag::kQr, "qr"}, {dns::flag::kAa, "aa"}, {dns::flag::kTc, "tc"},
          {dns::flag::kRd, "rd"}, {dns::flag::kRa, "ra"}, {dns::flag::kAd, "ad"},
          {dns::flag::kCd, "cd"}};
      for (const auto& [bit, name] : names) {
        if (header->flags & bit) {
          if (!flags.empty()) flags += ',';
          flags += name;
        }
      }
    }
    static const char* const kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                          "NXDOMAIN", "NOTIMP",  "REFUSED"};
    const unsigned rcode = header ? header->rcode() : 0;
    const double seconds = static_cast<double>(uv_hrtime() - client.received_ns) / 1e9;
    spdlog::log(log_query ? spdlog::level::info : spdlog::level::debug,
                "{} - {} \"{} {} {} {} {} {} {}\" {} {} {} {:.6f}s",
                format_address(reinterpret_cast<const sockaddr*>(&client.peer)), query->header.id,
                dns::type_to_text(query->question.qtype), query->question.qclass == 1 ? "IN" : "CH",
                dns::name_to_text(packet, query->question.name),
                client.transport == Transport::kUdp ? "udp" : "tcp", packet.size(),
                query->opt && query->opt->do_bit ? "true" : "false",
                query->opt ? query->opt->udp_size : 512,
                rcode < std::size(kRcodes) ? kRcodes[rcode] : std::to_string(rcode).c_str(), flags,
                len, seconds);
  } catch (...) {
  }
}

}  // namespace holdfast::server
