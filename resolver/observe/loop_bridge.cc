// Cross-thread calls onto the loop through one uv_async_t.
#include "observe/loop_bridge.h"

namespace holdfast::observe {

LoopBridge::LoopBridge(uv_loop_t* loop) {
  uv_async_init(loop, &async_, [](uv_async_t* handle) noexcept {
    static_cast<LoopBridge*>(handle->data)->drain();
  });
  async_.data = this;
  // Never keeps the loop alive by itself.
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
}

bool LoopBridge::run(std::function<void()> fn, std::chrono::milliseconds timeout) {
  auto job = std::make_shared<Job>();
  job->fn = std::move(fn);
  std::unique_lock lock(mutex_);
  if (closed_) return false;
  jobs_.push_back(job);
  uv_async_send(&async_);
  done_.wait_for(lock, timeout, [&] { return job->done || closed_; });
  return job->done;
}

void LoopBridge::drain() noexcept {
  std::deque<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(mutex_);
    jobs.swap(jobs_);
  }
  for (auto& job : jobs) {
    try {
      job->fn();
    } catch (...) {
    }
    std::lock_guard lock(mutex_);
    job->done = true;
  }
  done_.notify_all();
}

void LoopBridge::close() noexcept {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    jobs_.clear();
  }
  done_.notify_all();
  auto* handle = reinterpret_cast<uv_handle_t*>(&async_);
  if (handle->loop != nullptr && !uv_is_closing(handle)) uv_close(handle, nullptr);
}

}  // namespace holdfast::observe
