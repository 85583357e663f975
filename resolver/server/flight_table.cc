// The flight table (server/flight_table.h).
#include "server/flight_table.h"

#include <algorithm>

namespace holdfast::server {

Flight* FlightTable::find(std::string_view key) const noexcept {
  const auto found = flights_.find(key);
  return found == flights_.end() ? nullptr : found->second.get();
}

Flight& FlightTable::open(FlightSink& sink, const cache::CacheKey& key, Zone* zone,
                          std::vector<std::uint8_t> upstream_query) {
  auto flight = std::make_unique<Flight>(sink, key, zone, std::move(upstream_query));
  Flight& raw = *flight;
  flights_.emplace(raw.key_text(), std::move(flight));
  return raw;
}

std::uint64_t FlightTable::join(Flight& flight, const ClientRef& client, dns::Bytes packet,
                                std::int64_t deadline_ms) {
  FlightWaiter waiter{client, std::vector<std::uint8_t>(packet.begin(), packet.end()),
                      next_waiter_id_++, false};
  const std::uint64_t id = waiter.id;
  if (deadline_ms > 0) deadlines_.emplace(deadline_ms, std::make_pair(flight.key_text(), id));
  flight.waiters_.push_back(std::move(waiter));
  return id;
}

std::unique_ptr<Flight> FlightTable::close(const Flight* flight) noexcept {
  const auto found = flights_.find(flight->key_text());
  if (found == flights_.end() || found->second.get() != flight) return nullptr;
  std::unique_ptr<Flight> owned = std::move(found->second);
  flights_.erase(found);
  return owned;
}

std::optional<std::int64_t> FlightTable::next_deadline_ms() const noexcept {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void FlightTable::take_due(std::int64_t now_ms,
                           const std::function<bool(Flight&, const FlightWaiter&)>& answer) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    const auto [key_text, waiter_id] = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    Flight* flight = find(key_text);
    if (flight == nullptr) continue;  // answered meanwhile
    auto waiter = std::find_if(flight->waiters_.begin(), flight->waiters_.end(),
                               [id = waiter_id](const FlightWaiter& w) { return w.id == id; });
    if (waiter == flight->waiters_.end() || waiter->answered) continue;
    if (answer(*flight, *waiter)) waiter->answered = true;
  }
}

std::size_t FlightTable::count_on(const Zone* zone) const noexcept {
  std::size_t count = 0;
  for (const auto& [key, flight] : flights_) {
    if (flight->zone() == zone) ++count;
  }
  return count;
}

std::vector<Flight*> FlightTable::on_zone(const Zone* zone) const {
  std::vector<Flight*> out;
  for (const auto& [key, flight] : flights_) {
    if (flight->zone() == zone) out.push_back(flight.get());
  }
  return out;
}

}  // namespace holdfast::server
