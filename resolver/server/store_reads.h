// Store reads off the loop. A memory miss used to read LMDB on the loop itself; a read that had
// to fault pages in from disk (a cold page cache after a node reboot) held up every other
// client of that loop. Now the owner loop hands the key to one reader thread and answers the
// next query; the thread's results come back to the loop in batches (uv_async), where the
// pipeline resumes the waiting clients (server/query_pipeline.cc).
#pragma once

#include <uv.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cache/entry.h"

namespace holdfast::server {

class StoreReads {
 public:
  struct Done {
    std::string key;
    std::optional<cache::Entry> entry;  // nullopt: not in the store (or unreadable)
  };
  // Runs on the reader thread: the stored entry for `key`.
  using Read = std::function<std::optional<cache::Entry>(std::string_view key)>;
  // Runs on the loop with the reads done since the last call, in the order they were asked.
  using Deliver = std::function<void(std::vector<Done>& done)>;

  StoreReads(uv_loop_t* loop, Deliver deliver);
  ~StoreReads();
  StoreReads(const StoreReads&) = delete;
  StoreReads& operator=(const StoreReads&) = delete;

  // Loop thread. Queues a read; `read` (which must stay valid until it has run: see drain())
  // runs on the reader thread, started at the first read. May throw (out of memory, no thread):
  // nothing is queued then. After close(), does nothing.
  void submit(std::string key, Read read);
  // Loop thread. Blocks until every read queued so far has run (their results may still wait
  // for the loop): before the store they read is closed or replaced.
  void drain() noexcept;
  // Loop thread. Stops and joins the thread; queued reads and undelivered results are dropped.
  // Idempotent.
  void close() noexcept;

 private:
  struct Request {
    std::string key;
    Read read;
  };
  void start_thread();
  void run() noexcept;
  void on_async() noexcept;

  uv_loop_t* loop_;
  Deliver deliver_;
  uv_async_t async_{};   // the thread's results are in done_
  uv_check_t signal_{};  // wakes the thread once per loop turn with reads queued
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;     // the thread: requests or stop
  std::condition_variable drained_;  // drain(): the thread went idle
  std::deque<Request> requests_;
  std::vector<Done> done_;
  std::size_t outstanding_ = 0;  // loop thread: submitted, not yet delivered
  bool busy_ = false;            // the thread is running a read
  bool stop_ = false;
  bool closed_ = false;
};

}  // namespace holdfast::server
