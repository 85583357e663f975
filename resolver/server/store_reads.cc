// Store reads off the loop (server/store_reads.h).
#include "server/store_reads.h"

#include <pthread.h>
#include <csignal>

#include <algorithm>
#include <utility>

namespace holdfast::server {

StoreReads::StoreReads(uv_loop_t* loop, Deliver deliver)
    : loop_(loop), deliver_(std::move(deliver)) {
  uv_async_init(loop_, &async_, [](uv_async_t* handle) noexcept {
    static_cast<StoreReads*>(handle->data)->on_async();
  });
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));  // never keeps the loop alive by itself
  uv_check_init(loop_, &signal_);
  signal_.data = this;
}

void StoreReads::start_thread() {
  // At the first read, not before: no thread where there is no store, and none yet when the
  // store forks its check at start-up. Signals are the main thread's to take (resolver/main.cc):
  // the thread starts with them all blocked.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

StoreReads::~StoreReads() {
  close();
}

void StoreReads::submit(std::string key, Read read) {
  if (closed_) return;
  if (!thread_.joinable()) start_thread();
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(Request{std::move(key), std::move(read)});
  }
  // The thread is woken once per turn of the loop, after the turn's I/O, not once per read: on
  // a shared core a wake-up per read had the two threads take turns at every query
  // (bench/persist: cold answers 4.90 -> 6.65 µs of CPU each).
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&signal_))) {
    uv_check_start(&signal_, [](uv_check_t* handle) noexcept {
      uv_check_stop(handle);
      static_cast<StoreReads*>(handle->data)->wake_.notify_one();
    });
  }
  // While a read is out the loop stays alive for its result (uv_run returns at once otherwise
  // when nothing else holds the loop, as in a shutdown's last turns).
  if (outstanding_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
}

void StoreReads::drain() noexcept {
  wake_.notify_one();  // reads queued in this turn of the loop have not been signalled yet
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [this] { return (requests_.empty() && !busy_) || stop_; });
}

void StoreReads::close() noexcept {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    requests_.clear();
  }
  wake_.notify_one();
  drained_.notify_all();
  if (thread_.joinable()) thread_.join();
  done_.clear();
  for (auto* handle :
       {reinterpret_cast<uv_handle_t*>(&async_), reinterpret_cast<uv_handle_t*>(&signal_)}) {
    if (!uv_is_closing(handle)) uv_close(handle, nullptr);
  }
}

void StoreReads::run() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !requests_.empty(); });
    if (stop_) return;
    Request request = std::move(requests_.front());
    requests_.pop_front();
    busy_ = true;
    lock.unlock();
    std::optional<cache::Entry> entry;
    try {
      entry = request.read(request.key);
    } catch (...) {
      entry.reset();  // out of memory: a miss, the query goes upstream
    }
    lock.lock();
    busy_ = false;
    try {
      done_.push_back(Done{std::move(request.key), std::move(entry)});
    } catch (...) {
      // Out of memory: the waiting clients get no answer from here; they retry.
    }
    uv_async_send(&async_);  // libuv coalesces: one wake-up for what is done by then
    if (requests_.empty()) drained_.notify_all();
  }
}

void StoreReads::on_async() noexcept {
  std::vector<Done> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  if (done.empty()) return;
  outstanding_ -= std::min(outstanding_, done.size());
  if (outstanding_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
  deliver_(done);
}

}  // namespace holdfast::server
