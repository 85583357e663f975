// The start-up thread that promotes the store's most recently used answers into memory.
#include "cache/store_promoter.h"

#include <algorithm>
#include <chrono>

namespace holdfast::cache {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StorePromoter::StorePromoter(uv_loop_t* loop, PersistentStore& store, std::size_t limit, Sink sink,
                             Done done)
    : loop_(loop), store_(store), limit_(limit), sink_(std::move(sink)), done_(std::move(done)) {}

StorePromoter::~StorePromoter() {
  stop();
}

void StorePromoter::start() {
  uv_async_init(loop_, &async_, [](uv_async_t* handle) noexcept {
    static_cast<StorePromoter*>(handle->data)->on_wake();
  });
  async_.data = this;
  started_ms_ = now_ms();
  thread_ = std::thread([this] { run(); });
}

void StorePromoter::stop() noexcept {
  stopping_ = true;
  drained_.notify_all();
  if (thread_.joinable()) thread_.join();
  auto* handle = reinterpret_cast<uv_handle_t*>(&async_);
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

void StorePromoter::run() noexcept {
  try {
    // Pass 1: the last-use time of every answer, to find the cut-off that keeps the `limit_`
    // most recently used ones (8 bytes an answer, for a moment).
    std::vector<std::int64_t> last_used;
    store_.scan_times([&](std::string_view, const EntryTimes& times) {
      last_used.push_back(times.last_used_seconds);
      return !stopping_.load(std::memory_order_relaxed);
    });
    std::int64_t cutoff = 0;
    if (last_used.size() > limit_ && limit_ > 0) {
      auto nth = last_used.end() - static_cast<std::ptrdiff_t>(limit_);
      std::nth_element(last_used.begin(), nth, last_used.end());
      cutoff = *nth;
    }
    last_used = {};
    // Pass 2: those answers, in batches, to the loop.
    std::vector<PromotedAnswer> batch;
    std::size_t taken = 0;
    store_.scan_entries([&](std::string_view key, DecodedEntry& decoded) {
      if (stopping_.load(std::memory_order_relaxed) || taken >= limit_) return false;
      if (decoded.last_used_seconds < cutoff) return true;
      batch.push_back(PromotedAnswer{std::string(key), std::move(decoded.entry)});
      ++taken;
      if (batch.size() < kBatch) return true;
      return hand_over(std::exchange(batch, {}));
    });
    if (!batch.empty()) hand_over(std::move(batch));
  } catch (...) {
    // Out of memory: what was handed over stays; the rest is read on demand.
  }
  // Under the lock: the loop cannot see finished_ (and close the handle) before this send.
  std::lock_guard lock(mutex_);
  finished_ = true;
  uv_async_send(&async_);
}

bool StorePromoter::hand_over(std::vector<PromotedAnswer>&& batch) {
  std::unique_lock lock(mutex_);
  drained_.wait(lock,
                [&] { return pending_.size() < kMaxPendingBatches || stopping_ || caches_full_; });
  if (stopping_ || caches_full_) return false;
  pending_.push_back(std::move(batch));
  lock.unlock();
  uv_async_send(&async_);
  return true;
}

void StorePromoter::on_wake() noexcept {
  for (;;) {
    std::vector<PromotedAnswer> batch;
    bool finished = false;
    {
      std::lock_guard lock(mutex_);
      if (!pending_.empty()) {
        batch = std::move(pending_.front());
        pending_.pop_front();
      }
      finished = finished_ && pending_.empty();
    }
    drained_.notify_all();
    if (!batch.empty() && !stopping_) {
      stats_.read += batch.size();
      const long inserted = sink_(batch);
      if (inserted < 0) {
        caches_full_ = true;
        drained_.notify_all();
      } else {
        stats_.inserted += static_cast<std::uint64_t>(inserted);
      }
      continue;
    }
    if (finished && !reported_) {
      reported_ = true;
      stats_.elapsed_ms = now_ms() - started_ms_;
      stats_.complete = !stopping_;
      if (done_) done_(stats_);
      uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    }
    return;
  }
}

}  // namespace holdfast::cache
