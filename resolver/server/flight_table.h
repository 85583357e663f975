// The questions in the air upstream and the clients waiting for each: one flight per cache key
// (coalescing), the waiters in the order they came, and the verify-mode deadlines by which a
// waiter is answered stale if the upstream has not answered. Bookkeeping only, on the owner
// loop: no sockets, no timers and no clock of its own (times come in as arguments), so the
// decisions are tested on their own (tests/server/flight_table_test.cc). The query pipeline
// sends the flights upstream and answers their waiters (server/query_flights.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/string_hash.h"
#include "cache/cache_key.h"
#include "cache/memory_cache.h"
#include "server/client.h"
#include "upstream/answer_handler.h"

namespace holdfast::server {

struct Zone;
class Flight;

// Told when a flight's upstream answer (or failure) arrives; the pipeline.
class FlightSink {
 public:
  virtual void on_flight_done(Flight* flight, upstream::UpstreamStatus status,
                              dns::Bytes response) noexcept = 0;

 protected:
  ~FlightSink() = default;
};

struct FlightWaiter {
  ClientRef client;
  std::vector<std::uint8_t> query;  // the client's packet, for its ID, question case and EDNS
  std::uint64_t id = 0;
  bool answered = false;  // already answered stale when its deadline passed
};

// One question in the air upstream and the clients waiting for it. It is the upstream's answer
// handler: the answer goes to the sink, which closes the flight in the table.
class Flight final : public upstream::AnswerHandler {
 public:
  Flight(FlightSink& sink, const cache::CacheKey& key, Zone* zone, std::vector<std::uint8_t> query)
      : sink_(sink), key_(key), key_text_(key.view()), zone_(zone), query_(std::move(query)) {}

  void on_upstream_answer(upstream::UpstreamStatus status, dns::Bytes response) noexcept override {
    sink_.on_flight_done(this, status, response);
  }

  const cache::CacheKey& key() const noexcept { return key_; }
  const std::string& key_text() const noexcept { return key_text_; }
  Zone* zone() const noexcept { return zone_; }
  const std::vector<std::uint8_t>& query() const noexcept { return query_; }  // what went upstream
  const std::vector<FlightWaiter>& waiters() const noexcept { return waiters_; }

  // The stale reply (rendered as the cache rendered it, TTLs set) that clients joining with a
  // deadline were promised if no answer comes first. The memory cache can evict that entry while
  // the flight is in the air (a working set larger than the cache, just read from the store), so
  // the flight keeps its own copy; the first joiner's copy serves every waiter.
  struct StaleReply {
    std::vector<std::uint8_t> bytes;
    cache::Hit hit;
  };
  const StaleReply* stale_reply() const noexcept { return stale_reply_ ? &*stale_reply_ : nullptr; }
  void keep_stale_reply(StaleReply reply) {
    if (!stale_reply_) stale_reply_ = std::move(reply);
  }

 private:
  friend class FlightTable;
  FlightSink& sink_;
  cache::CacheKey key_;
  std::string key_text_;
  Zone* zone_;
  std::vector<std::uint8_t> query_;
  std::vector<FlightWaiter> waiters_;
  std::optional<StaleReply> stale_reply_;
};

class FlightTable {
 public:
  Flight* find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  std::size_t size() const noexcept { return flights_.size(); }

  // A new flight for `key`, which has none: the caller checked with find().
  Flight& open(FlightSink& sink, const cache::CacheKey& key, Zone* zone,
               std::vector<std::uint8_t> upstream_query);
  // Adds a waiting client; with a deadline (> 0, monotonic ms) it is due for a stale answer
  // then. Returns the waiter's id (unique in this table, increasing).
  std::uint64_t join(Flight& flight, const ClientRef& client, dns::Bytes packet,
                     std::int64_t deadline_ms);
  // Takes `flight` out of the table and gives it to the caller (it is answered then), or null
  // when it is not the flight under its key (already closed). Its deadlines are skipped later.
  std::unique_ptr<Flight> close(const Flight* flight) noexcept;

  // The earliest deadline not yet taken, if any (a timer's due time; it may belong to a flight
  // that closed meanwhile, which take_due() then skips).
  std::optional<std::int64_t> next_deadline_ms() const noexcept;
  // Every waiter whose deadline is at or before `now_ms`, still waiting on a flight still in the
  // air, in deadline order: `answer(flight, waiter)` returns true when it answered it (stale),
  // which marks it answered so the flight's own answer skips it.
  void take_due(std::int64_t now_ms,
                const std::function<bool(Flight&, const FlightWaiter&)>& answer);

  // The flights asking through `zone` (a reload retires zones; server/server.cc).
  std::size_t count_on(const Zone* zone) const noexcept;
  std::vector<Flight*> on_zone(const Zone* zone) const;

 private:
  // Keyed by cache key; searched with the key's view (no allocation per lookup).
  std::unordered_map<std::string, std::unique_ptr<Flight>, StringHash, std::equal_to<>> flights_;
  std::uint64_t next_waiter_id_ = 1;
  // Deadline → (flight key, waiter id).
  std::multimap<std::int64_t, std::pair<std::string, std::uint64_t>> deadlines_;
};

}  // namespace holdfast::server
