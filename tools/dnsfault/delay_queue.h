// Work held back by `delay`: a min-heap of (due time, token) behind one uv_timer_t, so a
// thousand delayed queries cost one timer. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <queue>
#include <vector>

#include <uv.h>

namespace holdfast::dnsfault {

class DelayQueue {
 public:
  // Called on the loop for each token whose time has come, in due order.
  using Handler = void (*)(void* context, std::uint64_t token) noexcept;

  static constexpr std::size_t kMaxPending = 100'000;

  DelayQueue(uv_loop_t* loop, Handler handler, void* context);
  DelayQueue(const DelayQueue&) = delete;
  DelayQueue& operator=(const DelayQueue&) = delete;

  // False (nothing queued) when kMaxPending tokens are already waiting.
  bool push(std::uint64_t delay_ms, std::uint64_t token) noexcept;
  std::size_t size() const noexcept { return heap_.size(); }
  // Drops everything and closes the timer; the object must live until the loop has run the close.
  void close() noexcept;

 private:
  struct Item {
    std::uint64_t due_ms;
    std::uint64_t sequence;  // FIFO among equal due times
    std::uint64_t token;
    bool operator>(const Item& other) const noexcept {
      return due_ms != other.due_ms ? due_ms > other.due_ms : sequence > other.sequence;
    }
  };

  static void on_timer(uv_timer_t* timer) noexcept;
  void fire() noexcept;
  void arm() noexcept;

  uv_timer_t timer_;
  Handler handler_;
  void* context_;
  std::uint64_t sequence_ = 0;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap_;
};

}  // namespace holdfast::dnsfault
