// The per-loop query path: parse → route → cache → coalesced upstream flight → reply.
#include "server/query_pipeline.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "base/uv_util.h"
#include "cache/entry.h"
#include "dns/edns.h"
#include "dns/header.h"
#include "dns/reply.h"
#include "upstream/query_writer.h"

namespace holdfast::server {
namespace {

constexpr std::size_t kReplyBufferSize = dns::kMaxMessageSize + 512;
constexpr std::uint16_t kRcodeBadVers = 16;  // RFC 6891 §9: extended rcode 1, header rcode 0

// The header flags a client sees: the upstream's answer flags with the client's RD and CD, AA
// cleared (a cache is not authoritative) and AD only for clients that asked for it (RFC 6840 §5.8).
std::uint16_t client_flags(std::uint16_t answer_flags, const dns::Header& query,
                           bool client_do) noexcept {
  std::uint16_t flags = answer_flags & ~(dns::flag::kRd | dns::flag::kCd | dns::flag::kAa);
  flags |= query.flags & (dns::flag::kRd | dns::flag::kCd);
  flags |= dns::flag::kQr | dns::flag::kRa;
  if (!client_do && !(query.flags & dns::flag::kAd)) flags &= ~dns::flag::kAd;
  return flags;
}

}  // namespace

// One question in the air upstream and the clients waiting for it.
class QueryPipeline::Flight final : public upstream::AnswerHandler {
 public:
  Flight(QueryPipeline* owner, std::string key, Zone* zone)
      : owner_(owner), key_(std::move(key)), zone_(zone) {}

  void on_upstream_answer(upstream::UpstreamStatus status, dns::Bytes response) noexcept override {
    owner_->complete(this, static_cast<int>(status), response);
  }

  QueryPipeline* owner_;
  std::string key_;
  Zone* zone_;
  std::vector<std::uint8_t> query_;  // what went upstream
  std::vector<Waiter> waiters_;
};

QueryPipeline::QueryPipeline(const Clock& clock, PipelineOptions options)
    : clock_(clock), options_(options), reply_(kReplyBufferSize) {}

QueryPipeline::~QueryPipeline() = default;

void QueryPipeline::handle(dns::Bytes packet, const ClientRef& client) noexcept {
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
    reply_error(packet, parsed, static_cast<dns::Rcode>(kRcodeBadVers & 0x0f), std::nullopt,
                client);
    return;
  }
  const bool do_bit = query.opt && query.opt->do_bit;
  const cache::CacheKey key(packet, query.question, {do_bit, query.header.cd()});
  Zone* zone = client.router ? client.router->route(key.name()) : nullptr;
  const std::uint16_t qtype = query.question.qtype;
  if (zone == nullptr || qtype == dns::qtype::kAxfr || qtype == dns::qtype::kIxfr) {
    ++counters_.refused;
    reply_error(packet, parsed, dns::Rcode::kRefused, std::nullopt, client, zone);
    return;
  }
  if (zone->cache) {
    if (auto hit = zone->cache->lookup(key, reply_)) {
      ++counters_.cache_hits;
      finish_and_send(hit->wire_len, hit->question_end, packet, query, client, std::nullopt, zone);
      return;
    }
    ++counters_.cache_misses;
  }
  if (!zone->forwarder || !zone->forwarder->covers(key.name())) {
    // CoreDNS answers SERVFAIL when no plugin handles the query.
    ++counters_.servfail;
    reply_error(packet, parsed, dns::Rcode::kServFail, std::nullopt, client, zone);
    return;
  }
  start_or_join_flight(key, *zone, packet, query, client);
}

void QueryPipeline::start_or_join_flight(const cache::CacheKey& key, Zone& zone,
                                         dns::Bytes packet, const dns::QueryView& query,
                                         const ClientRef& client) {
  Waiter waiter{client, std::vector<std::uint8_t>(packet.begin(), packet.end())};
  auto found = flights_.find(std::string(key.view()));
  if (found != flights_.end()) {
    ++counters_.coalesced;
    found->second->waiters_.push_back(std::move(waiter));
    return;
  }
  auto flight = std::make_unique<Flight>(this, std::string(key.view()), &zone);
  flight->waiters_.push_back(std::move(waiter));
  flight->query_.resize(dns::kHeaderSize + dns::kMaxNameWireLen + 4 + 32);
  upstream::UpstreamQueryOptions upstream_options;
  upstream_options.do_bit = query.opt && query.opt->do_bit;
  upstream_options.cd_bit = query.header.cd();
  const std::size_t len =
      upstream::write_upstream_query(packet, query.question, upstream_options, flight->query_);
  flight->query_.resize(len);
  Flight* raw = flight.get();
  flights_.emplace(raw->key_, std::move(flight));
  ++counters_.upstream_flights;
  // May complete synchronously (limits, closed channel): `raw` is gone after this line then.
  zone.forwarder->resolve(raw->query_, raw);
}

void QueryPipeline::complete(Flight* flight, int status_value, dns::Bytes response) noexcept {
  auto found = flights_.find(flight->key_);
  if (found == flights_.end()) return;
  std::unique_ptr<Flight> owned = std::move(found->second);
  flights_.erase(found);
  Zone& zone = *owned->zone_;
  const auto status = static_cast<upstream::UpstreamStatus>(status_value);

  std::optional<cache::Entry> entry;
  if (status == upstream::UpstreamStatus::kAnswer) {
    if (upstream::response_matches(owned->query_, response)) {
      entry = cache::make_entry(response, zone.ttl_policy, clock_.wall_seconds());
    } else {
      ++counters_.upstream_mismatch;
    }
  }
  if (!entry) {
    ++counters_.upstream_failures;
    if (zone.block->errors && status != upstream::UpstreamStatus::kCancelled) {
      spdlog::error("[{}] upstream query failed: {}", zone.name, upstream::to_string(status));
    }
    const bool over_limit = status == upstream::UpstreamStatus::kOverLimit;
    for (const Waiter& waiter : owned->waiters_) {
      answer_waiter(waiter, zone, nullptr, over_limit ? dns::Rcode::kRefused : dns::Rcode::kServFail,
                    over_limit ? std::nullopt : std::optional<std::uint16_t>(dns::ede::kNoReachableAuthority));
    }
    return;
  }
  for (const Waiter& waiter : owned->waiters_) {
    answer_waiter(waiter, zone, &*entry, dns::Rcode::kServFail, std::nullopt);
  }
  if (zone.cache) {
    const cache::CacheKey key_view = [&] {
      // Rebuild the key from the upstream query (same bytes the flight was keyed by).
      const dns::ParsedQuery q = dns::parse_query(owned->query_);
      const dns::QueryView& v = q.query;
      return cache::CacheKey(owned->query_, v.question,
                             {v.opt && v.opt->do_bit, v.header.cd()});
    }();
    zone.cache->insert(key_view, std::move(*entry));
  }
}

void QueryPipeline::answer_waiter(const Waiter& waiter, const Zone& zone, const cache::Entry* entry,
                                  dns::Rcode failure, std::optional<std::uint16_t> ede) noexcept {
  const dns::Bytes packet(waiter.query);
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  if (entry == nullptr) {
    if (failure == dns::Rcode::kServFail) ++counters_.servfail;
    if (failure == dns::Rcode::kRefused) ++counters_.refused;
    reply_error(packet, parsed, failure, ede, waiter.client, &zone);
    return;
  }
  cache::RenderOptions render;
  const std::size_t len = cache::render_entry(*entry, entry->ttl_seconds, render, reply_);
  finish_and_send(len, entry->question_end, packet, parsed.query, waiter.client, std::nullopt,
                  &zone);
}

void QueryPipeline::reply_error(dns::Bytes packet, const dns::ParsedQuery& parsed,
                                dns::Rcode rcode, std::optional<std::uint16_t> ede,
                                const ClientRef& client, const Zone* zone) noexcept {
  std::size_t len = dns::write_error_reply(packet, parsed, rcode, ede, reply_);
  if (len == 0) {
    client.sink->query_done(client);
    return;
  }
  if (parsed.error == dns::QueryError::kNone && parsed.query.edns_bad_version &&
      parsed.query.opt) {
    // BADVERS: the upper 8 bits of the 12-bit rcode live in the OPT TTL's first byte.
    dns::OptToWrite opt;
    const std::size_t opt_start = len - dns::opt_record_size(opt);
    reply_[opt_start + 5] = static_cast<std::uint8_t>(kRcodeBadVers >> 4);
  }
  send(client, len, parsed.error == dns::QueryError::kNone ? &parsed.query : nullptr, packet, zone);
}

void QueryPipeline::finish_and_send(std::size_t len, std::size_t question_end, dns::Bytes packet,
                                    const dns::QueryView& query, const ClientRef& client,
                                    std::optional<std::uint16_t> ede, const Zone* zone) noexcept {
  if (len == 0) {
    client.sink->query_done(client);
    return;
  }
  dns::MutableBytes out(reply_);
  dns::set_id(out, query.header.id);
  // Restore the client's spelling of the name (RFC 4343; 0x20 clients check it). The stored
  // question is uncompressed at offset 12 and equal to the client's ignoring case.
  const std::size_t name_len = question_end - 4 - dns::kHeaderSize;
  if (query.question.name.wire_len == query.question.name.full_len &&
      query.question.name.full_len == name_len) {
    std::memcpy(out.data() + dns::kHeaderSize, packet.data() + query.question.name.offset,
                name_len);
  }
  const bool client_do = query.opt && query.opt->do_bit;
  dns::write_u16(out.data() + 2, client_flags(dns::read_u16(out.data() + 2), query.header, client_do));
  std::optional<dns::OptToWrite> opt;
  if (query.opt) {
    opt.emplace();
    opt->udp_size = static_cast<std::uint16_t>(options_.max_udp_payload);
    opt->do_bit = client_do;
    opt->ede_code = ede;
    const std::size_t end = dns::write_opt_record(out, len, *opt);
    if (end != 0) {
      len = end;
      dns::write_u16(out.data() + 10, static_cast<std::uint16_t>(dns::read_u16(out.data() + 10) + 1));
    }
  }
  if (client.transport == Transport::kUdp && len > dns::udp_limit(query, options_.max_udp_payload)) {
    ++counters_.truncated;
    len = dns::truncate_reply(out, question_end, opt);
  }
  send(client, len, &query, packet, zone);
}

void QueryPipeline::send(const ClientRef& client, std::size_t len, const dns::QueryView* query,
                         dns::Bytes packet, const Zone* zone) noexcept {
  client.sink->send_reply(client, dns::Bytes(reply_.data(), len));
  client.sink->query_done(client);
  const bool log_query = zone != nullptr && zone->block->log;
  if (query == nullptr || !(log_query || spdlog::should_log(spdlog::level::debug))) return;
  // The `log` directive: one line per query, in the spirit of CoreDNS's common log format.
  // It allocates, which is why it is opt-in.
  try {
    auto header = dns::read_header(dns::Bytes(reply_.data(), len));
    spdlog::log(log_query ? spdlog::level::info : spdlog::level::debug,
                "{} - {} \"{} IN {} {} {}\" rcode={} size={}",
                format_address(reinterpret_cast<const sockaddr*>(&client.peer)), query->header.id,
                query->question.qtype, dns::name_to_text(packet, query->question.name),
                client.transport == Transport::kUdp ? "udp" : "tcp", packet.size(),
                header ? header->rcode() : 0, len);
  } catch (...) {
  }
}

}  // namespace holdfast::server
