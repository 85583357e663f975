// The query path of one loop: parse, route to a zone, answer from the memory cache, or join or
// start the single upstream flight for the question (coalescing), then finish each reply for its
// own client (ID, question case, EDNS, UDP size).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "dns/message.h"
#include "server/client.h"
#include "server/router.h"

namespace holdfast::server {

struct PipelineOptions {
  std::size_t max_udp_payload = 1232;
};

struct PipelineCounters {
  std::uint64_t queries_udp = 0;
  std::uint64_t queries_tcp = 0;
  std::uint64_t dropped_short = 0;     // shorter than a header: nothing to answer
  std::uint64_t dropped_response = 0;  // QR=1 packets
  std::uint64_t formerr = 0;
  std::uint64_t notimp = 0;
  std::uint64_t refused = 0;
  std::uint64_t servfail = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t upstream_flights = 0;   // questions sent upstream
  std::uint64_t coalesced = 0;          // queries that joined a flight already in the air
  std::uint64_t upstream_failures = 0;  // flights that ended without a usable answer
  std::uint64_t upstream_mismatch = 0;  // answers whose question did not match ours
  std::uint64_t truncated = 0;          // UDP replies sent with TC=1
};

// Loop-bound: every call on the loop given at construction.
class QueryPipeline {
 public:
  QueryPipeline(const Clock& clock, PipelineOptions options);
  ~QueryPipeline();
  QueryPipeline(const QueryPipeline&) = delete;
  QueryPipeline& operator=(const QueryPipeline&) = delete;

  // Handles one query; the reply goes to client.sink now or when the upstream answers.
  // `packet` is only read during the call.
  void handle(dns::Bytes packet, const ClientRef& client) noexcept;

  std::size_t flights_in_air() const noexcept { return flights_.size(); }
  const PipelineCounters& counters() const noexcept { return counters_; }

 private:
  class Flight;
  struct Waiter {
    ClientRef client;
    std::vector<std::uint8_t> query;  // the client's packet, for its ID, question case and EDNS
  };

  void start_or_join_flight(const cache::CacheKey& key, Zone& zone, dns::Bytes packet,
                            const dns::QueryView& query, const ClientRef& client);
  void complete(Flight* flight, int status, dns::Bytes response) noexcept;
  void answer_waiter(const Waiter& waiter, const Zone& zone, const cache::Entry* entry,
                     dns::Rcode failure, std::optional<std::uint16_t> ede) noexcept;
  void reply_error(dns::Bytes packet, const dns::ParsedQuery& parsed, dns::Rcode rcode,
                   std::optional<std::uint16_t> ede, const ClientRef& client,
                   const Zone* zone = nullptr) noexcept;
  // Patches the rendered answer in reply_ for this client and sends it.
  void finish_and_send(std::size_t len, std::size_t question_end, dns::Bytes packet,
                       const dns::QueryView& query, const ClientRef& client,
                       std::optional<std::uint16_t> ede, const Zone* zone) noexcept;
  void send(const ClientRef& client, std::size_t len, const dns::QueryView* query,
            dns::Bytes packet, const Zone* zone) noexcept;

  const Clock& clock_;
  PipelineOptions options_;
  std::vector<std::uint8_t> reply_;  // one reply buffer reused for every answer on this loop
  std::unordered_map<std::string, std::unique_ptr<Flight>> flights_;
  PipelineCounters counters_;
};

}  // namespace holdfast::server
