// The delay heap and its single timer.
#include "delay_queue.h"

#include "base/uv_util.h"

namespace holdfast::dnsfault {

DelayQueue::DelayQueue(uv_loop_t* loop, Handler handler, void* context)
    : handler_(handler), context_(context) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

bool DelayQueue::push(std::uint64_t delay_ms, std::uint64_t token) noexcept {
  if (heap_.size() >= kMaxPending || uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    return false;
  }
  const std::uint64_t due = uv_now(timer_.loop) + delay_ms;
  const bool earliest = heap_.empty() || due < heap_.top().due_ms;
  heap_.push(Item{due, sequence_++, token});
  if (earliest) arm();
  return true;
}

void DelayQueue::close() noexcept {
  while (!heap_.empty()) heap_.pop();
  close_member(reinterpret_cast<uv_handle_t*>(&timer_));
}

void DelayQueue::on_timer(uv_timer_t* timer) noexcept {
  static_cast<DelayQueue*>(timer->data)->fire();
}

void DelayQueue::fire() noexcept {
  const std::uint64_t now = uv_now(timer_.loop);
  while (!heap_.empty() && heap_.top().due_ms <= now) {
    const std::uint64_t token = heap_.top().token;
    heap_.pop();
    handler_(context_, token);
  }
  if (!heap_.empty()) arm();
}

void DelayQueue::arm() noexcept {
  const std::uint64_t now = uv_now(timer_.loop);
  const std::uint64_t due = heap_.top().due_ms;
  uv_timer_start(&timer_, &DelayQueue::on_timer, due > now ? due - now : 0, 0);
}

}  // namespace holdfast::dnsfault
