// A worker loop's query path: fresh hits here, everything else to the owner loop.
#include "server/hit_path.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>

#include "cache/cache_key.h"
#include "dns/message.h"
#include "server/local_answers.h"
#include "server/lookup_prefetch.h"
#include "server/reply_finish.h"
#include "server/router.h"

namespace holdfast::server {
namespace {

constexpr std::uint16_t kQtypeAny = 255;
constexpr std::size_t kReplyBufferSize = dns::kMaxMessageSize + 512;

// What the owner must see: anything but a plain cached answer.
bool needs_owner(const Zone* zone, const dns::QueryView& query) noexcept {
  if (zone == nullptr || !zone->cache || zone->rrl || !zone->acl.empty() || zone->block->log) {
    return true;
  }
  const std::uint16_t qtype = query.question.qtype;
  return query.question.qclass == kClassChaos || qtype == kQtypeAny || qtype == dns::qtype::kAxfr ||
         qtype == dns::qtype::kIxfr;
}

}  // namespace

HitPath::HitPath(const Clock& clock, std::size_t max_udp_payload, HandoffQueue& queue,
                 void (*wake)(void*), void* wake_arg)
    : clock_(clock),
      max_udp_payload_(max_udp_payload),
      queue_(queue),
      wake_(wake),
      wake_arg_(wake_arg),
      reply_(kReplyBufferSize) {}

void HitPath::add_listener(const ReplySink* sink, std::uint32_t slot) {
  slots_.emplace_back(sink, slot);
}

void HitPath::handle(dns::Bytes packet, const ClientRef& client) noexcept {
  handle_hinted(packet, client, nullptr);
}

void HitPath::handle_hinted(dns::Bytes packet, const ClientRef& client,
                            const LookupHint* hint) noexcept {
  ++counters_.queries;
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  // The owner answers errors, counts what it drops and writes the per-query debug log.
  if (parsed.error != dns::QueryError::kNone || parsed.query.edns_bad_version ||
      client.router == nullptr || spdlog::should_log(spdlog::level::debug)) {
    hand_off(HandoffMessage::Kind::kQuery, packet, client);
    return;
  }
  const dns::QueryView& query = parsed.query;
  const bool do_bit = query.opt && query.opt->do_bit;
  // Built and routed by the listener's prefetch already when it read the same question.
  const RoutedKey routed(packet, query, client.router, hint);
  const cache::CacheKey& key = routed.key();
  const Zone* zone = routed.zone();
  if (needs_owner(zone, query) ||
      (zone->local_clients_only && !local_clients_.contains(client.peer, clock_))) {
    hand_off(HandoffMessage::Kind::kQuery, packet, client);
    return;
  }
  const std::optional<cache::Hit> hit = zone->cache->lookup_fresh(key, dns::MutableBytes(reply_));
  if (!hit) {
    hand_off(HandoffMessage::Kind::kQuery, packet, client);
    return;
  }
  const FinishedReply reply =
      finish_reply(dns::MutableBytes(reply_), hit->wire_len, hit->question_end, packet, query,
                   client.transport, max_udp_payload_, std::nullopt);
  if (reply.length == 0) {
    hand_off(HandoffMessage::Kind::kQuery, packet, client);
    return;
  }
  ++counters_.answered;
  if (reply.truncated) ++counters_.truncated;
  client.sink->send_reply(client, dns::Bytes(reply_.data(), reply.length));
  const double seconds = static_cast<double>(uv_hrtime() - client.received_ns) / 1e9;
  observe::RequestMetrics* requests = requests_for(client.router->metrics_for(zone));
  if (requests != nullptr) {
    requests->count(
        observe::Proto::kUdp,
        client.peer.ss_family == AF_INET6 ? observe::Family::kIpv6 : observe::Family::kIpv4,
        query.question.qtype, do_bit, packet.size(), reply.length, reply_[3] & 0x0f,
        observe::Responder::kCache, seconds);
  }
  if (hit->prefetch_due) {
    ++counters_.prefetches;
    hand_off(HandoffMessage::Kind::kPrefetch, packet, client);
  }
}

void HitPath::hand_off(HandoffMessage::Kind kind, dns::Bytes packet,
                       const ClientRef& client) noexcept {
  const auto slot = std::find_if(slots_.begin(), slots_.end(),
                                 [&](const auto& entry) { return entry.first == client.sink; });
  if (slot == slots_.end()) return;
  try {
    HandoffMessage message;
    message.kind = kind;
    message.slot = slot->second;
    message.peer = client.peer;
    message.local = client.local;
    message.received_ns = client.received_ns;
    message.packet.assign(packet.begin(), packet.end());
    switch (queue_.push(std::move(message))) {
      case HandoffQueue::Pushed::kFirst:
        wake_(wake_arg_);
        break;
      case HandoffQueue::Pushed::kQueued:
        break;
      case HandoffQueue::Pushed::kFull:
        ++counters_.handoff_drops;
        return;
    }
    if (kind == HandoffMessage::Kind::kQuery) ++counters_.handed_off;
  } catch (...) {
    ++counters_.handoff_drops;  // out of memory: the client retries
  }
}

observe::RequestMetrics* HitPath::requests_for(const observe::RequestMetrics& target) noexcept {
  for (WorkerRequests& entry : requests_) {
    if (entry.target == &target) return &entry.counts;
  }
  // A new (address, zone) series: a few per configuration, so a vector searched in order.
  try {
    requests_.push_back(WorkerRequests{&target, {}});
  } catch (...) {
    return nullptr;
  }
  return &requests_.back().counts;
}

void HitPath::keep_requests(const std::vector<const observe::RequestMetrics*>& live) {
  std::erase_if(requests_, [&](const WorkerRequests& entry) {
    return std::find(live.begin(), live.end(), entry.target) == live.end();
  });
}

}  // namespace holdfast::server
