// The misses of one forwarder group that wait for their turn upstream: a FIFO bounded by count
// and by how long each may wait.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "dns/wire.h"
#include "upstream/answer_handler.h"

namespace holdfast::upstream {

// Loop-bound. Holds views: each entry's query must live until its handler is called.
class AdmissionQueue {
 public:
  struct Entry {
    dns::Bytes query;
    AnswerHandler* handler;
    std::int64_t deadline_ms;
  };

  explicit AdmissionQueue(std::size_t capacity) : capacity_(capacity) {}

  // False (nothing kept) when the queue is full.
  bool push(const Entry& entry);
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  const Entry& front() const noexcept { return entries_.front(); }
  Entry pop() noexcept;
  // Moves every entry whose wait has run out by `now_ms` into `out`, oldest first.
  void take_expired(std::int64_t now_ms, std::vector<Entry>& out);
  // The earliest deadline among the entries (for the caller's timer), or -1 when empty.
  std::int64_t next_deadline_ms() const noexcept {
    return entries_.empty() ? -1 : min_deadline_ms_;
  }

 private:
  std::size_t capacity_;
  std::deque<Entry> entries_;
  std::int64_t min_deadline_ms_ = 0;
};

}  // namespace holdfast::upstream
