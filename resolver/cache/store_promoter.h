// Warm start: after a restart the memory caches are empty while the store holds what the node
// asked before. A start-up thread reads the store in two passes — every answer's last-use time,
// then the answers used most recently, as many as the memory caches hold — and hands them to the
// loop in batches; the loop inserts them where nothing fresher is cached. Hits then come from
// memory within a second or so instead of one synchronous store read per name on the loop.
// Until the promoter is done, a memory miss still reads the store (QueryPipeline::lookup). The
// thread runs at the lowest priority and the loop takes one batch per wake-up, so promotion
// never delays queries (bench/persist measures it).
#pragma once

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/entry.h"
#include "cache/persistent_store.h"

namespace holdfast::cache {

struct PromotedAnswer {
  std::string key;  // as the store holds it (CacheKey::view())
  Entry entry;
};

struct PromotionStats {
  std::uint64_t read = 0;      // answers handed to the loop
  std::uint64_t inserted = 0;  // of those, put into a memory cache (counted by the sink)
  std::int64_t elapsed_ms = 0;
  bool complete = false;  // false when stopped early
};

class StorePromoter {
 public:
  // On the loop: inserts what it can; returns how many it inserted, or a negative number when
  // every memory cache is full (the promoter then stops reading).
  using Sink = std::function<long(std::vector<PromotedAnswer>& batch)>;
  // On the loop, once, when the thread has finished (or was stopped).
  using Done = std::function<void(const PromotionStats&)>;

  static constexpr std::size_t kBatch = 512;
  static constexpr std::size_t kMaxPendingBatches = 8;  // bounds the memory in flight
  static constexpr int kThreadNice = 19;                // the thread's priority: lowest (see run())

  // `limit`: at most this many answers (the memory caches' capacity). `store` must outlive it.
  StorePromoter(uv_loop_t* loop, PersistentStore& store, std::size_t limit, Sink sink, Done done);
  ~StorePromoter();
  StorePromoter(const StorePromoter&) = delete;
  StorePromoter& operator=(const StorePromoter&) = delete;

  void start();
  // Stops the thread and waits for it; the async handle closes (run the loop afterwards).
  // Must come before the store closes. Idempotent.
  void stop() noexcept;

 private:
  void run() noexcept;                                  // the thread
  void on_wake() noexcept;                              // the loop
  bool hand_over(std::vector<PromotedAnswer>&& batch);  // false: stop reading

  uv_loop_t* loop_;
  PersistentStore& store_;
  std::size_t limit_;
  Sink sink_;
  Done done_;
  uv_async_t async_{};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable drained_;
  std::deque<std::vector<PromotedAnswer>> pending_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> caches_full_{false};
  bool finished_ = false;  // the thread is done (under mutex_)
  bool reported_ = false;  // done_ called (loop)
  PromotionStats stats_;
  std::int64_t started_ms_ = 0;
};

}  // namespace holdfast::cache
