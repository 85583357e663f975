// Worker loops (`workers N`): N - 1 threads, each with its own libuv loop and, for every UDP
// address the owner loop listens on, its own socket in that address's SO_REUSEPORT group, so the
// kernel spreads the address's datagrams over the owner and the workers by a hash of the
// client's address and port. A worker answers fresh cache hits itself (server/hit_path.h) from
// the shared, sharded memory cache and hands every other query to the owner loop, which answers
// it from the same address as if it had received it.
//
// Why hits only: the upstream guarantees — one flight per question, `qps`, `max_inflight`, the
// probe budget, the circuit, response rate limits — must hold for the node as a whole. With one
// owner loop doing all of that, they hold by construction and need no lock; hits, nearly all of a
// node cache's queries, scale over the cores. TCP stays on the owner loop.
//
// The kernel's hash never changes its mind: a loop whose core is taken (by the node's pods, or a
// load generator) leaves its clients waiting. So a loop that has read its own socket empty reads
// the sockets of the others that are behind (udp_group.h), and the workers run as SCHED_BATCH: a
// datagram that wakes one does not preempt the thread running on its core.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "server/handoff.h"
#include "server/hit_path.h"
#include "server/udp_listener.h"

namespace holdfast::server {

class Router;

// What a worker published of its counters (every 100 ms, and when it stops).
struct WorkerStats {
  std::uint32_t index = 0;  // 1..N-1 (the owner loop is 0)
  HitPathCounters path;
  UdpCounters udp;  // summed over its sockets
  std::vector<WorkerRequests> requests;
};

class WorkerPool {
 public:
  // On the owner loop: each message a worker handed over.
  using OnHandoff = std::function<void(HandoffMessage&)>;
  static constexpr std::size_t kQueueCapacity = 16'384;

  WorkerPool(uv_loop_t* owner_loop, const Clock& clock, std::size_t max_udp_payload,
             OnHandoff on_handoff);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts `count` worker threads; each joins every listener of `owners` (slot i = owners[i],
  // routing by owners[i]->router()). On an error no worker is left running.
  Result<void> start(std::uint32_t count, const std::vector<const UdpListener*>& owners);
  // A reload: slot i routes by routers[i] from the next datagram on, or (null) its address is
  // gone and the workers close their sockets for it. Returns the generation this is.
  std::uint64_t set_routers(const std::vector<const Router*>& routers);
  // True once every worker has taken generation `generation` (or a later one): nothing on a
  // worker points into the zones of an older configuration any more.
  bool caught_up(std::uint64_t generation) const noexcept;
  // Stops every worker: each answers what waits in its sockets, closes them, and its thread
  // ends. Idempotent; on the owner loop.
  void stop() noexcept;
  std::size_t size() const noexcept { return workers_.size(); }
  std::vector<WorkerStats> stats() const;

 private:
  class Worker;
  void on_wake() noexcept;

  uv_loop_t* owner_loop_;
  const Clock& clock_;
  std::size_t max_udp_payload_;
  OnHandoff on_handoff_;
  HandoffQueue queue_{kQueueCapacity};
  uv_async_t wake_{};
  std::vector<HandoffMessage> taken_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
};

}  // namespace holdfast::server
