// Worker threads: a loop each, sockets joined to the owner's addresses, hits answered there.
#include "server/worker_pool.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "base/uv_util.h"
#include "server/router.h"

namespace holdfast::server {
namespace {

constexpr std::uint64_t kPublishMs = 100;

}  // namespace

// One worker: its loop, thread, sockets and hit path. Everything but the mutex-guarded mailbox
// and the published stats is touched by the worker's thread only once it runs.
class WorkerPool::Worker {
 public:
  Worker(std::uint32_t index, WorkerPool& pool)
      : index_(index),
        path_(pool.clock_, pool.max_udp_payload_, pool.queue_, &Worker::wake_owner, &pool) {
    uv_loop_init(&loop_);
  }
  ~Worker() {
    if (thread_.joinable()) thread_.join();
    listeners_.clear();
    uv_loop_close(&loop_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Owner thread, before run(): a socket joined to each owner listener.
  Result<void> join(const std::vector<const UdpListener*>& owners) {
    for (std::uint32_t slot = 0; slot < owners.size(); ++slot) {
      auto listener = std::make_unique<UdpListener>(&loop_, path_, *owners[slot]->router());
      if (auto ok = listener->join(*owners[slot]); !ok) return ok;
      path_.add_listener(listener.get(), slot);
      listeners_.push_back(std::move(listener));
    }
    uv_async_init(&loop_, &mailbox_, [](uv_async_t* handle) noexcept {
      static_cast<Worker*>(handle->data)->on_mailbox();
    });
    mailbox_.data = this;
    uv_timer_init(&loop_, &publish_timer_);
    publish_timer_.data = this;
    uv_timer_start(
        &publish_timer_, [](uv_timer_t* t) noexcept { static_cast<Worker*>(t->data)->publish(); },
        kPublishMs, kPublishMs);
    return {};
  }

  void run() {
    thread_ = std::thread([this] {
      // Signals are the owner's (main thread's) to handle: none is delivered here.
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      const std::string name = "holdfast-w" + std::to_string(index_);
      pthread_setname_np(pthread_self(), name.c_str());  // top -H, ps -L
      yield_at_wake_up();
      uv_run(&loop_, UV_RUN_DEFAULT);
    });
  }

  // Owner thread: the worker takes these routers at its next wake-up.
  void post_routers(const std::vector<const Router*>& routers, std::uint64_t generation) {
    {
      std::lock_guard lock(mutex_);
      pending_routers_ = routers;
      pending_generation_ = generation;
    }
    uv_async_send(&mailbox_);
  }
  void post_stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    uv_async_send(&mailbox_);
  }
  void join_thread() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t seen_generation() const noexcept {
    return seen_generation_.load(std::memory_order_acquire);
  }
  WorkerStats stats() const {
    std::lock_guard lock(mutex_);
    return published_;
  }
  // A worker that never ran (start failed half way): its handles are closed on its loop.
  void discard() noexcept {
    for (auto& listener : listeners_) listener->close();
    close_member(reinterpret_cast<uv_handle_t*>(&mailbox_));
    close_member(reinterpret_cast<uv_handle_t*>(&publish_timer_));
    uv_run(&loop_, UV_RUN_DEFAULT);
  }

 private:
  static void wake_owner(void* pool) { uv_async_send(&static_cast<WorkerPool*>(pool)->wake_); }

  // SCHED_BATCH: the same share of CPU time as any thread, but a datagram that wakes this loop
  // does not preempt what runs on its core; the loop runs at the next scheduling point. On a
  // node whose cores are busy with its pods, a worker no longer interrupts them for every few
  // queries: it reads them in larger batches, and the owner loop (SCHED_OTHER) reads the
  // worker's socket meanwhile when it falls behind (udp_group.h). An idle core runs it at once.
  void yield_at_wake_up() noexcept {
    sched_param param{};
    if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      // Not fatal: the loop runs as an ordinary thread (a seccomp profile may forbid it).
      spdlog::warn("worker {}: runs as an ordinary thread: SCHED_BATCH: {}", index_,
                   std::strerror(errno));
    }
  }

  void on_mailbox() noexcept {
    std::vector<const Router*> routers;
    std::uint64_t generation = 0;
    bool stop = false;
    {
      std::lock_guard lock(mutex_);
      stop = stop_;
      if (pending_generation_ > seen_generation()) {
        routers.swap(pending_routers_);
        generation = pending_generation_;
      }
    }
    if (generation != 0) apply(routers, generation);
    if (stop) shut_down();
  }

  void apply(const std::vector<const Router*>& routers, std::uint64_t generation) noexcept {
    std::vector<const observe::RequestMetrics*> live;
    for (std::size_t slot = 0; slot < listeners_.size(); ++slot) {
      UdpListener& listener = *listeners_[slot];
      const Router* router = slot < routers.size() ? routers[slot] : nullptr;
      if (router == nullptr) {
        listener.stop();  // answers what waits, then the socket leaves the address's group
        listener.close();
        continue;
      }
      listener.set_router(router);
      try {
        for (const Router::ZoneMetrics& series : router->metrics()) {
          live.push_back(series.metrics.get());
        }
      } catch (...) {
      }
    }
    try {
      path_.keep_requests(live);
    } catch (...) {
    }
    seen_generation_.store(generation, std::memory_order_release);
  }

  void shut_down() noexcept {
    for (auto& listener : listeners_) {
      listener->stop();
      listener->close();
    }
    publish();
    close_member(reinterpret_cast<uv_handle_t*>(&mailbox_));
    close_member(reinterpret_cast<uv_handle_t*>(&publish_timer_));
  }

  void publish() noexcept {
    try {
      WorkerStats stats;
      stats.index = index_;
      stats.path = path_.counters();
      for (const auto& listener : listeners_) stats.udp += listener->counters();
      stats.requests = path_.requests();
      std::lock_guard lock(mutex_);
      published_ = std::move(stats);
    } catch (...) {
    }
  }

  std::uint32_t index_;
  uv_loop_t loop_{};
  HitPath path_;
  std::vector<std::unique_ptr<UdpListener>> listeners_;
  uv_async_t mailbox_{};
  uv_timer_t publish_timer_{};
  std::thread thread_;
  mutable std::mutex mutex_;  // the mailbox and published_
  std::vector<const Router*> pending_routers_;
  std::uint64_t pending_generation_ = 0;
  bool stop_ = false;
  std::atomic<std::uint64_t> seen_generation_{0};
  WorkerStats published_;
};

WorkerPool::WorkerPool(uv_loop_t* owner_loop, const Clock& clock, std::size_t max_udp_payload,
                       OnHandoff on_handoff)
    : owner_loop_(owner_loop),
      clock_(clock),
      max_udp_payload_(max_udp_payload),
      on_handoff_(std::move(on_handoff)) {}

WorkerPool::~WorkerPool() {
  for (auto& worker : workers_) {
    worker->post_stop();
    worker->join_thread();
  }
}

Result<void> WorkerPool::start(std::uint32_t count, const std::vector<const UdpListener*>& owners) {
  uv_async_init(owner_loop_, &wake_, [](uv_async_t* handle) noexcept {
    static_cast<WorkerPool*>(handle->data)->on_wake();
  });
  wake_.data = this;
  std::vector<std::unique_ptr<Worker>> ready;
  for (std::uint32_t index = 1; index < count; ++index) {
    auto worker = std::make_unique<Worker>(index, *this);
    if (auto ok = worker->join(owners); !ok) {
      worker->discard();
      for (auto& other : ready) other->discard();
      close_member(reinterpret_cast<uv_handle_t*>(&wake_));
      return fail("worker " + std::to_string(index) + ": " + ok.error().message);
    }
    ready.push_back(std::move(worker));
  }
  workers_ = std::move(ready);
  for (auto& worker : workers_) worker->run();
  return {};
}

std::uint64_t WorkerPool::set_routers(const std::vector<const Router*>& routers) {
  ++generation_;
  for (auto& worker : workers_) worker->post_routers(routers, generation_);
  return generation_;
}

bool WorkerPool::caught_up(std::uint64_t generation) const noexcept {
  return std::all_of(workers_.begin(), workers_.end(),
                     [&](const auto& worker) { return worker->seen_generation() >= generation; });
}

void WorkerPool::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  for (auto& worker : workers_) worker->post_stop();
  for (auto& worker : workers_) worker->join_thread();
  on_wake();  // what the workers handed over while they drained their sockets
  close_member(reinterpret_cast<uv_handle_t*>(&wake_));
}

std::vector<WorkerStats> WorkerPool::stats() const {
  std::vector<WorkerStats> out;
  out.reserve(workers_.size());
  for (const auto& worker : workers_) out.push_back(worker->stats());
  return out;
}

void WorkerPool::on_wake() noexcept {
  try {
    queue_.take(taken_);
  } catch (...) {
    return;
  }
  for (HandoffMessage& message : taken_) on_handoff_(message);
  taken_.clear();
}

}  // namespace holdfast::server
