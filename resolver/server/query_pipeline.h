// The query path of one loop: parse, route to a zone, answer from the memory cache (or the store
// behind it), or join or start the single upstream flight for the question (coalescing); when the
// upstream fails or is slow, answer stale (RFC 8767). Each reply is finished for its own client
// (ID, question case, EDNS, UDP size).
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/string_hash.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "dns/message.h"
#include "observe/request_metrics.h"
#include "server/client.h"
#include "server/flight_table.h"
#include "server/local_answers.h"
#include "server/local_clients.h"
#include "server/query_handler.h"
#include "server/refresh_scheduler.h"
#include "server/router.h"
#include "server/stale_decision.h"
#include "server/store_reads.h"
#include "upstream/forwarder.h"

namespace holdfast::server {

struct PipelineOptions {
  std::size_t max_udp_payload = dns::kDefaultMaxUdpPayload;
  std::size_t max_pending_refreshes = 50'000;
  std::string version = "holdfast";  // version.bind under `chaos` without a VERSION
  // Whether all of the store is in the page cache, so a read cannot wait for the disk (asked at
  // most once a second): then a memory miss reads the store in place, else off the loop.
  // Default: PersistentStore::pages_resident(); tests inject their own.
  std::function<bool(const cache::PersistentStore&)> store_in_page_cache;
};

struct PipelineCounters {
  std::uint64_t queries_udp = 0;
  std::uint64_t queries_tcp = 0;
  std::uint64_t dropped_short = 0;     // shorter than a header: nothing to answer
  std::uint64_t dropped_response = 0;  // QR=1 packets
  std::uint64_t formerr = 0;
  std::uint64_t notimp = 0;
  std::uint64_t refused = 0;
  std::uint64_t local_answers = 0;  // CHAOS and ANY answered without the cache or the upstream
  std::uint64_t servfail = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t store_promotions = 0;  // answers found in the store after a memory miss
  std::uint64_t stale_answers = 0;     // answers sent stale (EDE 3 / 19)
  std::uint64_t stale_on_timeout =
      0;  // of those, because the upstream was slower than the client timer
  std::uint64_t upstream_flights = 0;   // questions sent upstream
  std::uint64_t coalesced = 0;          // queries that joined a flight already in the air
  std::uint64_t upstream_failures = 0;  // flights that ended without a usable answer
  std::uint64_t upstream_mismatch = 0;  // answers whose question did not match ours
  std::uint64_t limited = 0;            // queries not sent upstream: limits or open circuit
  std::uint64_t refreshes = 0;          // background refreshes started (stale, prefetch)
  std::uint64_t refreshes_dropped = 0;  // spread refreshes dropped: queue full
  std::uint64_t truncated = 0;          // UDP replies sent with TC=1
  std::uint64_t internal_errors = 0;    // queries dropped because memory ran out
  std::array<std::uint64_t, kStaleReasons> stale_by_reason{};
  // The most seconds past expiry of any stale answer in the last one to two minutes.
  std::uint32_t oldest_stale_seconds = 0;
};

// Who asked, for the upstream queue's fairness between clients: a hash of the client's address
// (not its port), never 0.
std::uint64_t client_key(const ClientRef& client) noexcept;

// Loop-bound: every call on the loop given at construction.
class QueryPipeline final : public QueryHandler,
                            public upstream::CircuitListener,
                            private FlightSink {
 public:
  QueryPipeline(uv_loop_t* loop, const Clock& clock, PipelineOptions options);
  ~QueryPipeline();
  QueryPipeline(const QueryPipeline&) = delete;
  QueryPipeline& operator=(const QueryPipeline&) = delete;

  // Handles one query; the reply goes to client.sink now or when the upstream answers.
  // `packet` is only read during the call.
  void handle(dns::Bytes packet, const ClientRef& client) noexcept override;
  void handle_hinted(dns::Bytes packet, const ClientRef& client,
                     const LookupHint* hint) noexcept override;

  // A worker loop answered `packet` from the cache and found its entry due for a prefetch
  // (server/hit_path.h): refreshed here, where the flights and limits are, as a hit here would be.
  void prefetch(dns::Bytes packet, const ClientRef& client) noexcept;

  // Closes the pipeline's timers (shutdown); pending spread refreshes are dropped.
  void close() noexcept;

  // A forwarder's circuit closed: the names answered stale during the outage that no client has
  // asked since are refreshed in the background, spread with jitter over `recheck`.
  void on_circuit_closed(upstream::UpstreamGroup& group) noexcept override;

  // Flights upstream and store reads not yet answered (shutdown waits for both).
  std::size_t flights_in_air() const noexcept {
    return flights_.size() + store_reads_pending_.size();
  }
  // Blocks until the store reads queued so far have run: before the Server closes or replaces
  // the store they read (their clients are resumed when the results reach the loop).
  void drain_store_reads() noexcept;
  // A reload retires zones. The flights of a retired zone finish on it (its forwarder stays open
  // until they do); these let the Server see when, and make sure nothing here keeps a pointer to
  // a zone after it is freed.
  std::size_t flights_for(const Zone* zone) const noexcept;
  // Background refreshes pending for `retired` move to `replacement` (the zone of the same
  // identity in the new configuration), or are dropped when it is null.
  void retarget_refreshes(const Zone* retired, Zone* replacement) noexcept;
  // After the zone's forwarder is closed: any flight still on `zone` completes as cancelled
  // (its clients get stale data or SERVFAIL), so none is left pointing at it.
  void abandon_flights(Zone* zone) noexcept;
  void set_stale_mode(StaleMode mode) noexcept { stale_mode_ = mode; }
  StaleMode stale_mode() const noexcept { return stale_mode_; }
  const PipelineCounters& counters() const noexcept { return counters_; }
  // For the metrics snapshot, on the loop: the counters, the stale-age gauge brought up to date.
  PipelineCounters take_counters() noexcept;

 private:
  using Waiter = FlightWaiter;
  // How a flight's query goes upstream: now (the caller was admitted), or as a miss that may
  // wait its turn in the forwarder's queue.
  enum class Send : std::uint8_t { kAdmitted, kMayQueue };

  // The query path.
  std::optional<cache::Hit> lookup(Zone& zone, const cache::CacheKey& key) noexcept;
  // From the memory lookup on: a hit (fresh or stale), else a store read (unless `store_read`:
  // the store was asked already), else a flight upstream.
  void answer_or_forward(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                         const dns::QueryView& query, const ClientRef& client,
                         bool store_read) noexcept;
  // The store behind the memory cache: read here when all of it is in the page cache (checked
  // once a second), else off the loop (server/store_reads.h), one read per key, the waiting
  // clients resumed when it is done.
  bool store_in_memory(const cache::PersistentStore& store) noexcept;
  std::optional<cache::Hit> read_store_now(Zone& zone, const cache::CacheKey& key);
  void read_store(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                  const ClientRef& client);
  void on_store_reads(std::vector<StoreReads::Done>& done) noexcept;
  void resume_after_store(Zone& zone, const Waiter& waiter) noexcept;
  std::size_t store_reads_on(const Zone* zone) const noexcept;
  void answer_stale_or_wait(Zone& zone, const cache::CacheKey& key, const cache::Hit& hit,
                            dns::Bytes packet, const dns::QueryView& query,
                            const ClientRef& client);
  void forward_miss(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                    const dns::QueryView& query, const ClientRef& client);

  // Flights (query_flights.cc).
  struct FirstWaiter {
    dns::Bytes packet;
    const ClientRef& client;
    std::int64_t deadline_ms;  // 0 = wait for the upstream
  };
  void start_flight(Zone& zone, const cache::CacheKey& key,
                    std::vector<std::uint8_t> upstream_query, const FirstWaiter* first,
                    Send send = Send::kAdmitted);
  void join(Flight& flight, dns::Bytes packet, const ClientRef& client, std::int64_t deadline_ms);
  // Starts a refresh flight now if the forwarder admits one; false when it does not.
  bool refresh(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
               const dns::QueryView& query);
  // Remembers a stale name for a background refresh: due at a random time in [now, not_after]
  // or, with no due time, when the forwarder's circuit closes.
  void schedule_refresh(Zone& zone, const cache::CacheKey& key, dns::Bytes packet,
                        const dns::QueryView& query, std::optional<std::int64_t> not_after_ms);
  // A flight's upstream answer or failure: answers its waiters, caches what is cacheable.
  void on_flight_done(Flight* flight, upstream::UpstreamStatus status,
                      dns::Bytes response) noexcept override;
  void on_deadlines() noexcept;
  void on_refresh_timer() noexcept;
  void arm_timer(uv_timer_t& timer, std::int64_t due_ms) noexcept;
  std::vector<std::uint8_t> upstream_query_for(dns::Bytes packet, const dns::QueryView& query);

  // Replies (query_pipeline.cc).
  void answer_waiter(const Waiter& waiter, Zone& zone, const cache::Entry* entry, bool from_failure,
                     dns::Rcode failure) noexcept;
  // A copy of the stale reply the lookup that found `hit` just rendered into reply_.
  Flight::StaleReply rendered_stale_reply(const cache::Hit& hit) const;
  // Answers `waiter` with the stale reply `flight` kept (its entry left the memory cache while
  // the flight was in the air); false when it kept none.
  bool answer_promised_stale(const Waiter& waiter, Zone& zone, const Flight& flight,
                             StaleReason reason) noexcept;
  bool answer_from_cache(const Waiter& waiter, Zone& zone, const cache::CacheKey& key,
                         StaleReason reason) noexcept;
  void count_stale(Zone& zone, StaleReason reason, const cache::Hit& hit) noexcept;
  void reply_error(dns::Bytes packet, const dns::ParsedQuery& parsed, dns::Rcode rcode,
                   std::optional<std::uint16_t> ede, const ClientRef& client,
                   const Zone* zone = nullptr) noexcept;
  // Counts (and the first time logs) a client a local-only block refuses.
  void refuse_nonlocal(Zone& zone, const sockaddr_storage& peer) noexcept;
  // Patches the rendered answer in reply_ for this client and sends it.
  void finish_and_send(std::size_t len, std::size_t question_end, dns::Bytes packet,
                       const dns::QueryView& query, const ClientRef& client,
                       std::optional<std::uint16_t> ede, const Zone* zone,
                       observe::Responder responder = observe::Responder::kCache) noexcept;
  void send(const ClientRef& client, std::size_t len, const dns::QueryView* query,
            dns::Bytes packet, const Zone* zone, observe::Responder responder) noexcept;
  // The zone's `rrl` verdict on the UDP reply in reply_: its length as sent (shrunk to a slip),
  // or 0 when it is dropped.
  std::size_t rate_limit(const ClientRef& client, std::size_t len, const dns::QueryView* query,
                         const Zone& zone) noexcept;
  std::int64_t now_ns() const noexcept { return clock_.monotonic_ms() * 1'000'000; }

  uv_loop_t* loop_;
  const Clock& clock_;
  PipelineOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::uint8_t> reply_;  // one reply buffer reused for every answer on this loop
  LocalClients local_clients_;       // who a block without bind and acl answers
  bool nonlocal_logged_ = false;
  std::string hostname_;         // hostname.bind / id.server under `chaos`
  FlightTable flights_;          // one flight per question, with its waiters and their deadlines
  uv_timer_t deadline_timer_{};  // verify mode: the next waiter deadline (flights_)
  // Background refreshes of stale names (spread over `recheck`) and their timer.
  RefreshScheduler refreshes_;
  uv_timer_t refresh_timer_{};
  void arm_refresh_timer() noexcept;
  // Clients waiting for a store read, by key (with the zone each asked through).
  std::unordered_map<std::string, std::vector<std::pair<Zone*, Waiter>>, StringHash,
                     std::equal_to<>>
      store_reads_pending_;
  StoreReads store_reads_;  // after what its thread's results are delivered to
  const cache::PersistentStore* resident_store_ = nullptr;
  std::int64_t resident_checked_ms_ = 0;
  bool store_resident_ = false;
  PipelineCounters counters_;
  StaleMode stale_mode_ = StaleMode::kAuto;
  bool serves_stale(const Zone& zone) const noexcept {
    return stale_mode_ == StaleMode::kForce ||
           (zone.stale.enabled && stale_mode_ != StaleMode::kOff);
  }
  // The stale-age gauge over two one-minute windows: [0] this minute, [1] the one before.
  std::array<std::uint32_t, 2> stale_age_windows_{};
  std::int64_t stale_age_minute_ = 0;
  void roll_stale_age(std::int64_t now_ms) noexcept;
};

}  // namespace holdfast::server
