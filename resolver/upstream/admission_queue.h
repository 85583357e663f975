// The misses of one forwarder group that wait for their turn upstream, bounded by count and by how
// long each may wait, and fair between clients: each client (a source address) has a FIFO of its
// own and turns go round the clients, so one client's flood of new names cannot make another's
// misses wait behind it. When the queue is full, a client holding fewer entries than the biggest
// one takes the place of that client's newest entry; a burst from a single client (a node whose
// pods restart at once) still gets every place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
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
    std::uint64_t client = 0;   // who asked (0: the daemon itself, e.g. a refresh)
    std::uint64_t seq = 0;      // arrival order, set by push()
    std::int64_t asked_ms = 0;  // when the forwarder was handed it (its wait's start)
  };

  explicit AdmissionQueue(std::size_t capacity) : capacity_(capacity) {}

  // False (nothing kept) when the queue is full and `entry`'s client already holds as many
  // entries as any other. With `displaced`, a full queue instead evicts the newest entry of the
  // client holding the most, when that is more than `entry`'s client holds, and hands it back
  // there (the caller rejects it).
  bool push(const Entry& entry, std::optional<Entry>* displaced = nullptr);
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t clients() const noexcept { return by_client_.size(); }
  // The entry pop() returns next: the oldest of the client whose turn it is.
  const Entry& front() const noexcept { return by_client_.at(turns_.front()).front(); }
  Entry pop() noexcept;
  // Moves every entry whose wait has run out by `now_ms` into `out`, oldest first.
  void take_expired(std::int64_t now_ms, std::vector<Entry>& out);
  // The earliest deadline among the entries (for the caller's timer), or -1 when empty.
  std::int64_t next_deadline_ms() const noexcept { return size_ == 0 ? -1 : min_deadline_ms_; }

 private:
  void forget_if_empty(std::uint64_t client);

  std::size_t capacity_;
  std::size_t size_ = 0;
  std::uint64_t next_seq_ = 0;
  std::unordered_map<std::uint64_t, std::deque<Entry>> by_client_;
  std::deque<std::uint64_t> turns_;  // clients with entries, in the order of their next turn
  std::int64_t min_deadline_ms_ = 0;
};

}  // namespace holdfast::upstream
