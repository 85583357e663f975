// What a worker loop gives the owner loop: every UDP query that is not a fresh cache hit (a miss,
// a stale entry, an error to answer, anything that needs limits, flights or logs), and the
// prefetch due on a hit. The owner answers it as if its own socket had received it: the reply
// leaves from the same address and port, since both sockets share it (SO_REUSEPORT).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "server/client.h"

namespace holdfast::server {

struct HandoffMessage {
  enum class Kind : std::uint8_t {
    kQuery,     // answer it
    kPrefetch,  // a worker answered it from the cache; refresh it if it is still due
  };
  Kind kind = Kind::kQuery;
  std::uint32_t slot = 0;  // which listening address (WorkerPool's slots)
  sockaddr_storage peer{};
  LocalAddress local{};
  std::uint64_t received_ns = 0;
  std::vector<std::uint8_t> packet;
};

// Many producers (worker loops), one consumer (the owner loop); bounded: past `capacity` waiting
// messages a push fails and the query is dropped (counted by the worker; the client retries).
class HandoffQueue {
 public:
  explicit HandoffQueue(std::size_t capacity) : capacity_(capacity) {}

  // True when the queue was empty before (the owner must be woken).
  enum class Pushed : std::uint8_t { kFirst, kQueued, kFull };
  Pushed push(HandoffMessage&& message) {
    std::lock_guard lock(mutex_);
    if (waiting_.size() >= capacity_) return Pushed::kFull;
    waiting_.push_back(std::move(message));
    return waiting_.size() == 1 ? Pushed::kFirst : Pushed::kQueued;
  }
  // Everything waiting, in arrival order per worker; `out` is cleared first.
  void take(std::vector<HandoffMessage>& out) {
    out.clear();
    std::lock_guard lock(mutex_);
    out.swap(waiting_);
  }

 private:
  std::mutex mutex_;
  std::vector<HandoffMessage> waiting_;
  std::size_t capacity_;
};

}  // namespace holdfast::server
