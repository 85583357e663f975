// Longest-suffix zone routing.
#include "server/router.h"

#include <algorithm>

#include "dns/name.h"

namespace holdfast::server {

Router::Router(std::string server) : server_(std::move(server)) {
  metrics_.push_back(ZoneMetrics{nullptr, std::make_shared<observe::RequestMetrics>()});
}

void Router::add(Zone* zone) {
  metrics_.push_back(ZoneMetrics{zone, std::make_shared<observe::RequestMetrics>()});
  for (const std::string& name : zone->block->zones) {
    std::string wire;
    dns::text_to_wire(name, wire);
    entries_.push_back(Entry{wire, zone});
  }
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.zone_wire.size() > b.zone_wire.size();
  });
}

Zone* Router::route(dns::Bytes lower_name) const noexcept {
  for (const Entry& entry : entries_) {
    const dns::Bytes zone(reinterpret_cast<const std::uint8_t*>(entry.zone_wire.data()),
                          entry.zone_wire.size());
    if (dns::is_lower_subdomain(lower_name, zone)) return entry.zone;
  }
  return nullptr;
}

void Router::carry_metrics_from(const Router& previous) {
  for (ZoneMetrics& slot : metrics_) {
    for (const ZoneMetrics& old : previous.metrics_) {
      const bool same = slot.zone == nullptr
                            ? old.zone == nullptr
                            : old.zone != nullptr && old.zone->name == slot.zone->name;
      if (same) {
        slot.metrics = old.metrics;
        break;
      }
    }
  }
}

observe::RequestMetrics& Router::metrics_for(const Zone* zone) const noexcept {
  for (const ZoneMetrics& slot : metrics_) {
    if (slot.zone == zone) return *slot.metrics;
  }
  return *metrics_.front().metrics;
}

}  // namespace holdfast::server
