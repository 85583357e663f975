// The load loop: pre-encoded queries over N connected UDP sockets, sendmmsg/recvmmsg batches,
// replies matched by (socket, DNS ID). One thread; every buffer is allocated before the run.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "load/latency_sampler.h"
#include "load/query_set.h"

namespace holdfast::bench {

struct LoadOptions {
  sockaddr_in server{};
  int sockets = 8;
  int window = 200;     // closed loop: queries outstanding at most (all sockets together)
  double rate_qps = 0;  // > 0: open loop at this rate; the window is then not used
  double duration_s = 5;
  int timeout_ms = 1000;  // no reply by then: lost
  int batch = 32;         // queries per sendmmsg
  int sample_every = 8;   // latency of every Nth query sent
  // Closed loop: poll without sleeping while the window is full. The load's core then shows
  // 100 %, but the server never pays for waking it (an IPI per reply burst, costly in a VM).
  bool busy_poll = false;
  std::uint64_t max_queries =
      0;  // > 0: stop after sending this many (e.g. one pass to warm a cache)
};

struct LoadCounters {
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;      // replies to queries still outstanding
  std::uint64_t lost = 0;          // no reply within timeout_ms (or by the end of the drain)
  std::uint64_t late = 0;          // replies after the query was counted lost
  std::uint64_t unexpected = 0;    // unknown ID, or a reply not echoing the question
  std::uint64_t truncated = 0;     // TC set
  std::uint64_t send_errors = 0;   // sendmmsg failures other than a full socket buffer
  std::uint64_t send_blocked = 0;  // sendmmsg calls that found the socket buffer full
  std::uint64_t behind = 0;        // open loop: queries due but not sent by the end
  std::array<std::uint64_t, 16> rcodes{};
};

struct LoadResult {
  LoadCounters counters;
  double elapsed_s = 0;  // the measured window: first send to the end of the duration
  double drain_s = 0;    // waiting for the last replies afterwards
  LatencySummary latency;
  std::uint64_t samples_dropped = 0;
};

class UdpLoad {
 public:
  // Opens and connects the sockets. Errors name the failing call.
  static tl::expected<std::unique_ptr<UdpLoad>, std::string> open(const LoadOptions& options,
                                                                  const QuerySet& queries);
  ~UdpLoad();
  UdpLoad(const UdpLoad&) = delete;
  UdpLoad& operator=(const UdpLoad&) = delete;

  // Runs for options.duration_s, then waits up to timeout_ms for outstanding replies.
  LoadResult run();

 private:
  enum class SlotState : std::uint8_t { kFree, kOutstanding, kLost };
  struct Slot {
    std::uint64_t sent_ns = 0;
    std::uint32_t query = 0;
    SlotState state = SlotState::kFree;
    bool sampled = false;
  };
  struct Socket {
    int fd = -1;
    std::uint16_t next_id = 0;
    std::uint16_t oldest_id = 0;  // IDs are used in order, so this is the oldest in flight
    std::uint32_t in_flight = 0;  // outstanding + counted lost not yet passed by oldest_id
    std::vector<Slot> slots;      // indexed by DNS ID
  };

  UdpLoad(const LoadOptions& options, const QuerySet& queries);
  std::uint64_t send_budget(std::uint64_t now_ns, std::uint64_t start_ns) const noexcept;
  void send_some(std::uint64_t budget) noexcept;
  std::size_t send_batch(Socket& socket, std::size_t count) noexcept;
  bool wait_and_receive(std::uint64_t wait_ns) noexcept;
  void receive(Socket& socket) noexcept;
  void on_reply(Socket& socket, const std::uint8_t* reply, std::size_t len,
                std::uint64_t now_ns) noexcept;
  void expire(std::uint64_t now_ns) noexcept;
  std::uint64_t outstanding() const noexcept { return outstanding_; }

  LoadOptions options_;
  const QuerySet& queries_;
  std::vector<Socket> sockets_;
  int epoll_fd_ = -1;
  std::size_t next_socket_ = 0;
  std::uint64_t next_query_ = 0;  // sequence number of the next query sent
  std::uint64_t outstanding_ = 0;
  std::uint64_t timeout_ns_ = 0;
  LoadCounters counters_;
  LatencySampler latencies_;

  // sendmmsg/recvmmsg scratch, reused for every batch.
  struct SendScratch;
  struct RecvScratch;
  std::unique_ptr<SendScratch> send_;
  std::unique_ptr<RecvScratch> recv_;
};

// Monotonic clock in ns (vDSO; about 20 ns a call).
std::uint64_t now_ns() noexcept;

}  // namespace holdfast::bench
