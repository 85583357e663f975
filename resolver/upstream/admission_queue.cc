// A bounded queue of misses, fair between clients.
#include "upstream/admission_queue.h"

#include <algorithm>

namespace holdfast::upstream {

bool AdmissionQueue::push(const Entry& entry, std::optional<Entry>* displaced) {
  if (capacity_ == 0) return false;
  if (size_ >= capacity_) {
    if (displaced == nullptr) return false;
    const auto own = by_client_.find(entry.client);
    const std::size_t own_count = own == by_client_.end() ? 0 : own->second.size();
    auto biggest = by_client_.end();
    for (auto it = by_client_.begin(); it != by_client_.end(); ++it) {
      if (biggest == by_client_.end() || it->second.size() > biggest->second.size()) biggest = it;
    }
    if (biggest == by_client_.end() || biggest->second.size() <= own_count + 1) return false;
    *displaced = biggest->second.back();
    biggest->second.pop_back();
    --size_;
    forget_if_empty(biggest->first);
  }
  std::deque<Entry>& fifo = by_client_[entry.client];
  if (fifo.empty()) turns_.push_back(entry.client);
  Entry kept = entry;
  kept.seq = next_seq_++;
  fifo.push_back(kept);
  min_deadline_ms_ = size_ == 0 ? entry.deadline_ms : std::min(min_deadline_ms_, entry.deadline_ms);
  ++size_;
  return true;
}

AdmissionQueue::Entry AdmissionQueue::pop() noexcept {
  const std::uint64_t client = turns_.front();
  turns_.pop_front();
  std::deque<Entry>& fifo = by_client_.at(client);
  Entry entry = fifo.front();
  fifo.pop_front();
  --size_;
  if (fifo.empty()) {
    by_client_.erase(client);
  } else {
    turns_.push_back(client);  // its next entry waits for the others' turns
  }
  return entry;  // min_deadline_ms_ may now be early: take_expired() recomputes it
}

void AdmissionQueue::forget_if_empty(std::uint64_t client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end() || !it->second.empty()) return;
  by_client_.erase(it);
  turns_.erase(std::remove(turns_.begin(), turns_.end(), client), turns_.end());
}

void AdmissionQueue::take_expired(std::int64_t now_ms, std::vector<Entry>& out) {
  if (size_ == 0 || min_deadline_ms_ > now_ms) return;
  const std::size_t first = out.size();
  std::int64_t min_left = -1;
  std::vector<std::uint64_t> emptied;
  for (auto& [client, fifo] : by_client_) {
    auto keep = std::remove_if(fifo.begin(), fifo.end(), [&](const Entry& entry) {
      if (entry.deadline_ms <= now_ms) {
        out.push_back(entry);
        return true;
      }
      min_left = min_left < 0 ? entry.deadline_ms : std::min(min_left, entry.deadline_ms);
      return false;
    });
    fifo.erase(keep, fifo.end());
    if (fifo.empty()) emptied.push_back(client);
  }
  size_ -= out.size() - first;
  for (std::uint64_t client : emptied) forget_if_empty(client);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  min_deadline_ms_ = min_left;
}

}  // namespace holdfast::upstream
