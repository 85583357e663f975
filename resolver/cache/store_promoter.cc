// The start-up thread that promotes the store's most recently used answers into memory.
#include "cache/store_promoter.h"

#include <sys/resource.h>
#include <unistd.h>

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
  // Promotion only saves later store reads; queries come first. The daemon often has one core
  // (bench/persist pins it to one): at normal priority this thread takes half of it from the
  // loop for as long as it runs (about 6 s for 1 M answers here). At the lowest priority it runs
  // in the loop's idle time; a name asked before its turn is read from the store by the loop.
  // Linux applies a thread id's nice value to that thread only. Failure is harmless: ignored.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kThreadNice);
  try {
    // Pass 1, only when the store holds more than the memory caches: the last-use time of every
    // answer, to find the cut-off that keeps the `limit_` most recently used ones (8 bytes an
    // answer, for a moment). When everything fits, it would read the whole store for nothing.
    std::int64_t cutoff = 0;
    if (limit_ > 0 && store_.entry_count() > limit_) {
      std::vector<std::int64_t> last_used;
      store_.scan_times([&](std::string_view, const EntryTimes& times) {
        last_used.push_back(times.last_used_seconds);
        return !stopping_.load(std::memory_order_relaxed);
      });
      if (last_used.size() > limit_) {
        auto nth = last_used.end() - static_cast<std::ptrdiff_t>(limit_);
        std::nth_element(last_used.begin(), nth, last_used.end());
        cutoff = *nth;
      }
    }
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
  // One batch per wake-up, then back to the loop: draining every pending batch here kept the loop
  // from its sockets for as long as the thread kept up (seconds with 1 M answers: queries timed
  // out). If more is pending, the async handle is signalled again and runs after the next poll.
  std::vector<PromotedAnswer> batch;
  bool more = false;
  bool finished = false;
  {
    std::lock_guard lock(mutex_);
    if (!pending_.empty()) {
      batch = std::move(pending_.front());
      pending_.pop_front();
    }
    more = !pending_.empty();
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
    // Batches may have been handed over meanwhile; finished_ may be set by now too.
    std::lock_guard lock(mutex_);
    more = !pending_.empty() || finished_;
  }
  if (more && !reported_) {
    uv_async_send(&async_);
    return;
  }
  if (finished && !reported_) {
    reported_ = true;
    stats_.elapsed_ms = now_ms() - started_ms_;
    stats_.complete = !stopping_;
    if (done_) done_(stats_);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  }
}

}  // namespace holdfast::cache
