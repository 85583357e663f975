// Runs a function on a libuv loop from another thread and waits for it, with a timeout: how the
// HTTP threads (metrics, health) read the loop's plain counters without sharing them, and how
// /health learns that the loop still turns.
#pragma once

#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace holdfast::observe {

class LoopBridge {
 public:
  // On the loop's thread. The object must outlive the loop run that follows close().
  explicit LoopBridge(uv_loop_t* loop);
  LoopBridge(const LoopBridge&) = delete;
  LoopBridge& operator=(const LoopBridge&) = delete;

  // Any thread but the loop's: runs `fn` on the loop and waits up to `timeout` for it. False
  // when the loop did not get to it in time (a stalled loop) or the bridge is closed; `fn` may
  // then still run later, or never, so it must own whatever it touches.
  bool run(std::function<void()> fn, std::chrono::milliseconds timeout);

  // On the loop: closes the async handle; pending and later run() calls return false.
  void close() noexcept;

 private:
  struct Job {
    std::function<void()> fn;
    bool done = false;
  };
  void drain() noexcept;

  uv_async_t async_{};
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Job>> jobs_;
  bool closed_ = false;
};

}  // namespace holdfast::observe
