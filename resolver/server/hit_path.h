// The query path of a worker loop (server/worker_pool.h): a fresh answer from the memory cache,
// finished for its client and sent from the worker's own socket — and nothing else. Every other
// query (a miss, a stale or SERVFAIL entry, an error to answer, a block with `acl`, `rrl` or
// `log`, CHAOS, ANY, a client a local-only block may refuse) goes to the owner loop whole, so
// the node-wide guarantees (one flight per question, `qps` and `max_inflight`, probes, the
// circuit, rate limits) live in one place and need no lock.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "observe/request_metrics.h"
#include "server/client.h"
#include "server/handoff.h"
#include "server/local_clients.h"
#include "server/query_handler.h"

namespace holdfast::server {

struct HitPathCounters {
  std::uint64_t queries = 0;        // datagrams handed to this path
  std::uint64_t answered = 0;       // fresh cache hits answered here
  std::uint64_t handed_off = 0;     // queries given to the owner loop
  std::uint64_t handoff_drops = 0;  // queries dropped: the owner's queue was full
  std::uint64_t prefetches = 0;     // hits whose refresh was asked of the owner
  std::uint64_t truncated = 0;      // answers sent with TC=1
};

// Request counters a worker keeps for one (address, zone) series of the owner's routers, added
// to it at scrape time. `target` is only compared, never followed, off the owner loop.
struct WorkerRequests {
  const observe::RequestMetrics* target = nullptr;
  observe::RequestMetrics counts;
};

// Loop-bound (the worker's loop). `wake` is called after a push that found the queue empty.
class HitPath final : public QueryHandler {
 public:
  HitPath(const Clock& clock, std::size_t max_udp_payload, HandoffQueue& queue, void (*wake)(void*),
          void* wake_arg);

  // Replies of queries from `sink` are sent through it; its hand-offs name `slot`.
  void add_listener(const ReplySink* sink, std::uint32_t slot);
  void handle(dns::Bytes packet, const ClientRef& client) noexcept override;
  void handle_hinted(dns::Bytes packet, const ClientRef& client,
                     const LookupHint* hint) noexcept override;

  const HitPathCounters& counters() const noexcept { return counters_; }
  const std::vector<WorkerRequests>& requests() const noexcept { return requests_; }
  // A reload: series no router of the new configuration has any more are forgotten (a zone kept
  // by the reload keeps its series object, so its counts go on).
  void keep_requests(const std::vector<const observe::RequestMetrics*>& live);

 private:
  void hand_off(HandoffMessage::Kind kind, dns::Bytes packet, const ClientRef& client) noexcept;
  observe::RequestMetrics* requests_for(const observe::RequestMetrics& target) noexcept;

  const Clock& clock_;
  std::size_t max_udp_payload_;
  HandoffQueue& queue_;
  void (*wake_)(void*);
  void* wake_arg_;
  std::vector<std::pair<const ReplySink*, std::uint32_t>> slots_;
  std::vector<std::uint8_t> reply_;
  LocalClients local_clients_;
  HitPathCounters counters_;
  std::vector<WorkerRequests> requests_;
};

}  // namespace holdfast::server
