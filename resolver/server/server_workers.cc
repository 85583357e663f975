// The worker loops of a Server (`workers` > 1, server/worker_pool.h): started beside the owner
// loop's UDP listeners, rerouted on a reload, and the queries they hand over.
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "server/server.h"

namespace holdfast::server {

Result<void> Server::start_workers() {
  const std::uint32_t count = config_->workers;
  if (count <= 1) return {};
  if (options_.listen_mode == ListenMode::kTakeOver) {
    // A hand-over steers the address's traffic to one socket of the group by its index, which
    // this instance cannot know for its workers' sockets behind the older instance's.
    spdlog::warn("workers {}: a hand-over start runs one loop; the next plain start runs {}", count,
                 count);
    return {};
  }
  std::vector<const UdpListener*> owners;
  for (const auto& [key, listeners] : listeners_) {
    worker_slots_.push_back(key);
    owners.push_back(listeners.udp.get());
  }
  workers_ = std::make_unique<WorkerPool>(
      loop_, clock_, options_.max_udp_payload,
      [this](HandoffMessage& message) noexcept { on_handoff(message); });
  if (auto ok = workers_->start(count, owners); !ok) {
    workers_.reset();
    worker_slots_.clear();
    return fail("workers " + std::to_string(count) + ": " + ok.error().message);
  }
  spdlog::info(
      "workers: {} loops answer UDP on {} address{} (this one and {} answering cache hits)", count,
      owners.size(), owners.size() == 1 ? "" : "es", count - 1);
  return {};
}

void Server::on_handoff(HandoffMessage& message) noexcept {
  if (message.slot >= worker_slots_.size()) return;
  const auto found = listeners_.find(worker_slots_[message.slot]);
  if (found == listeners_.end()) return;  // a reload removed the address: as its socket would
  UdpListener& udp = *found->second.udp;
  ClientRef client;
  client.transport = Transport::kUdp;
  client.sink = &udp;
  client.router = udp.router();
  client.peer = message.peer;
  client.local = message.local;
  client.received_ns = message.received_ns;
  const dns::Bytes packet(message.packet);
  if (message.kind == HandoffMessage::Kind::kPrefetch) {
    pipeline_.prefetch(packet, client);
  } else {
    pipeline_.handle(packet, client);
  }
}

std::uint64_t Server::reroute_workers() {
  if (!workers_) return 0;
  std::vector<const Router*> routers;
  for (const ListenerKey& key : worker_slots_) {
    const auto found = listeners_.find(key);
    routers.push_back(found != listeners_.end() ? found->second.udp->router() : nullptr);
  }
  if (config_->workers != workers_->size() + 1) {
    spdlog::warn("reload: workers {} takes effect at the next restart ({} loops now)",
                 config_->workers, workers_->size() + 1);
  }
  return workers_->set_routers(routers);
}

}  // namespace holdfast::server
