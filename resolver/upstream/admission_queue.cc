// A bounded FIFO of misses waiting for an upstream slot.
#include "upstream/admission_queue.h"

#include <algorithm>

namespace holdfast::upstream {

bool AdmissionQueue::push(const Entry& entry) {
  if (entries_.size() >= capacity_) return false;
  min_deadline_ms_ =
      entries_.empty() ? entry.deadline_ms : std::min(min_deadline_ms_, entry.deadline_ms);
  entries_.push_back(entry);
  return true;
}

AdmissionQueue::Entry AdmissionQueue::pop() noexcept {
  Entry entry = entries_.front();
  entries_.pop_front();
  return entry;  // min_deadline_ms_ may now be early: take_expired() recomputes it
}

void AdmissionQueue::take_expired(std::int64_t now_ms, std::vector<Entry>& out) {
  if (entries_.empty() || min_deadline_ms_ > now_ms) return;
  std::int64_t min_left = -1;
  auto keep = std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& entry) {
    if (entry.deadline_ms <= now_ms) {
      out.push_back(entry);
      return true;
    }
    min_left = min_left < 0 ? entry.deadline_ms : std::min(min_left, entry.deadline_ms);
    return false;
  });
  entries_.erase(keep, entries_.end());
  min_deadline_ms_ = min_left;
}

}  // namespace holdfast::upstream
