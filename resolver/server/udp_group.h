// The sockets of one UDP address's SO_REUSEPORT group in this process: the owner loop's and one
// per worker loop (server/worker_pool.h). The kernel hashes each client to one of them, once and
// for all; when the loop behind a socket does not get a CPU (its core is taken by the node's
// pods, or by a load generator), its clients wait while the other loops may sleep. So a loop that
// has read its own socket empty reads a batch from another member's socket too, when that member
// is backed up (its last read filled a whole batch) or when nobody has read it for kLookNs; it
// answers those queries as its own (the replies leave from the same address and port). Helping
// costs at most one empty read per member per kLookNs when the other loops keep up.
//
// Members are added on the owner's thread before any worker runs, and never removed: a closing
// listener retires its member (no loop reads its descriptor afterwards) before it closes it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace holdfast::server {

class UdpGroup {
 public:
  // Nobody read a member's socket for this long: another loop takes a look.
  static constexpr std::uint64_t kLookNs = 5'000'000;
  // After a look found queries waiting, the loop looks again every kLookNs for this long, woken
  // by a timer if nothing else wakes it (a starved member's clients keep asking).
  static constexpr std::uint64_t kFollowNs = 100'000'000;

  // One socket of the group. Its own cache line: its loop writes it on every read.
  struct alignas(64) Member {
    Member(int descriptor, std::uint64_t now_ns) : fd(descriptor), last_read_ns(now_ns) {}
    const int fd;
    std::atomic<bool> backed_up{false};  // the last read filled a batch (or another loop's read
                                         // found something since one did)
    std::atomic<std::uint64_t> last_read_ns;  // uv_hrtime() of the last read by any loop

    // Writes only a change: the other loops read this line at each of their wake-ups.
    void set_backed_up(bool value) noexcept {
      if (backed_up.load(std::memory_order_relaxed) != value) {
        backed_up.store(value, std::memory_order_relaxed);
      }
    }

    // A loop other than its own may read `fd` between enter() (true) and leave().
    bool enter() noexcept {
      if (users_.fetch_add(1, std::memory_order_acquire) & kRetired) {
        users_.fetch_sub(1, std::memory_order_release);
        return false;
      }
      return true;
    }
    void leave() noexcept { users_.fetch_sub(1, std::memory_order_release); }
    // Its own loop, before it closes `fd`: no other loop enters from now on, and every one that
    // had entered has left when this returns (a read is a few microseconds).
    void retire() noexcept {
      users_.fetch_or(kRetired, std::memory_order_acq_rel);
      while ((users_.load(std::memory_order_acquire) & ~kRetired) != 0) std::this_thread::yield();
    }
    bool retired() const noexcept { return users_.load(std::memory_order_acquire) & kRetired; }

   private:
    static constexpr std::uint32_t kRetired = 1u << 31;
    std::atomic<std::uint32_t> users_{0};
  };

  // The owner's thread, before another loop reads the group. `now_ns`: uv_hrtime().
  Member* add(int fd, std::uint64_t now_ns) {
    return members_.emplace_back(std::make_unique<Member>(fd, now_ns)).get();
  }
  std::size_t size() const noexcept { return members_.size(); }
  Member& operator[](std::size_t index) const noexcept { return *members_[index]; }

 private:
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace holdfast::server
