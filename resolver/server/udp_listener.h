// A UDP DNS listener on one address. It owns its socket (listen_socket.h) and polls it on the
// loop: each wake-up reads a batch of datagrams with one recvmmsg into preallocated slots, hands
// them to the loop's query pipeline, and sends the replies produced meanwhile (cache hits) with one
// sendmmsg. Replies that come later (upstream answers) go out one by one. When the socket buffer is
// full, replies wait in a fixed backlog until the socket is writable again; past it they are
// dropped and counted. On a wildcard address (0.0.0.0, ::) every reply leaves from the address
// its query arrived on (IP_PKTINFO / IPV6_PKTINFO), as the client expects.
//
// Under a flood the socket leaves the loop's epoll set. While a socket is in an epoll set, every
// reply it sends wakes the set's wait queue when the kernel frees the reply's buffer (loopback
// and most drivers free it at once): ~0.17 µs a reply, 10 % of the bare reflector's cost per
// query (bench/README.md). So when a wake-up reads kBatchesPerWake full batches and the socket is
// still not empty, the listener stops polling it and reads it from an idle handle once per loop
// turn instead (other handles still run between turns); the first short batch, or a reply
// waiting in the backlog, puts it back in the epoll set. It never spins on an empty socket.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "server/client.h"
#include "server/listen_socket.h"
#include "server/query_handler.h"
#include "server/udp_group.h"

namespace holdfast::server {

struct UdpCounters {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t truncated = 0;      // datagrams larger than a receive slot: dropped
  std::uint64_t backlog_drops = 0;  // replies dropped because the socket and the backlog were full
  std::uint64_t batches = 0;        // recvmmsg calls that returned datagrams
  std::uint64_t busy_entries = 0;   // times the socket left epoll to be read once per loop turn
  std::uint64_t helped = 0;         // datagrams read from another loop's socket (udp_group.h)

  UdpCounters& operator+=(const UdpCounters& c) noexcept {
    received += c.received;
    sent += c.sent;
    send_errors += c.send_errors;
    truncated += c.truncated;
    backlog_drops += c.backlog_drops;
    batches += c.batches;
    busy_entries += c.busy_entries;
    helped += c.helped;
    return *this;
  }
};

class UdpListener final : public ReplySink {
 public:
  static constexpr std::size_t kBatch = 64;         // datagrams per recvmmsg / sendmmsg
  static constexpr std::size_t kSlotBytes = 4096;   // a query larger than this is dropped
  static constexpr std::size_t kReplyBytes = 4096;  // larger replies are sent without batching
  static constexpr std::size_t kBacklog = 256;      // replies waiting for a writable socket

  UdpListener(uv_loop_t* loop, QueryHandler& handler, const Router& router);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  Result<void> bind(const std::string& host, std::uint16_t port,
                    ListenMode mode = ListenMode::kExclusive);
  // A worker loop's socket: joins the SO_REUSEPORT group of `owner`'s address (the kernel then
  // spreads the address's datagrams over the group by a hash of the client's address and port).
  // Called before this listener's loop runs.
  Result<void> join(const UdpListener& owner);
  // True when bind() joined a running instance's socket (a hand-over).
  bool joined() const noexcept { return joined_; }
  // Every new datagram for this address goes to the group member at `index` (listen_socket.h).
  bool steer(std::uint32_t index) noexcept;
  void stop() noexcept;   // stops receiving
  void close() noexcept;  // releases the socket; the object must outlive the loop's last run

  void send_reply(const ClientRef& client, dns::Bytes reply) noexcept override;
  const std::string& name() const noexcept { return name_; }
  // A reload: queries received from now on are routed by `router` (which must outlive them).
  void set_router(const Router* router) noexcept { router_ = router; }
  const Router* router() const noexcept { return router_; }
  const UdpCounters& counters() const noexcept { return counters_; }
  // True while the socket is read once per loop turn, out of the epoll set (a flood).
  bool busy() const noexcept { return busy_; }
  int socket_fd() const noexcept { return fd_; }

 private:
  struct Outgoing {
    sockaddr_storage peer;
    LocalAddress local;
    std::uint16_t length;
    std::array<std::uint8_t, kReplyBytes> data;
  };
  struct Buffers;  // the preallocated receive slots, reply batch and backlog

  Result<void> bind_address(const sockaddr_storage& addr, ListenMode mode,
                            std::shared_ptr<UdpGroup> group);
  void on_poll(int status, int events) noexcept;
  void on_idle() noexcept;
  // Reads until the socket is empty or max_rounds batches; true when it came up empty (a short
  // batch), false when the last batch was full.
  bool receive_batches(int max_rounds) noexcept;
  // Reads a batch from each other member of the group that is backed up or was not read for a
  // while, and answers it. kMore: one of them filled a batch (read again at the next turn);
  // kSome: queries were waiting (look again in kLookNs, even if nothing wakes this loop).
  enum class Help : std::uint8_t { kNone, kSome, kMore };
  Help help_group() noexcept;
  // After help_group(): keeps helping at the next turn (kMore), and looks again every kLookNs
  // until kFollowNs have passed without finding anything.
  void follow_up(Help help) noexcept;
  // One recvmmsg on `fd` into the receive slots: the number of datagrams (0: none, or an error).
  std::size_t read_batch(int fd) noexcept;
  // Answers the first `count` datagrams read (received at `now_ns`) and sends their replies.
  void answer_batch(std::size_t count, std::uint64_t now_ns) noexcept;
  // Sets up the first `count` receive headers (slot, peer and control buffers, lengths).
  void prepare_receive(std::size_t count) noexcept;
  void flush_batch() noexcept;
  void drain_backlog() noexcept;
  // Sends one reply now; false when the socket would block.
  bool send_one(const sockaddr_storage& peer, const LocalAddress& local, const std::uint8_t* data,
                std::size_t length) noexcept;
  void push_backlog(const sockaddr_storage& peer, const LocalAddress& local,
                    const std::uint8_t* data, std::size_t length) noexcept;
  // Polls the socket for what is needed now; leaves busy mode when it must (stopped, backlog).
  void update_poll() noexcept;
  void enter_busy() noexcept;
  void leave_busy() noexcept;

  uv_loop_t* loop_;
  QueryHandler& handler_;
  const Router* router_;
  int fd_ = -1;
  uv_poll_t poll_{};
  uv_idle_t idle_{};                 // reads the socket once per loop turn while busy_
  uv_timer_t look_timer_{};          // another look at a member that had queries waiting
  std::uint64_t last_found_ns_ = 0;  // when help_group() last found queries (0: not lately)
  bool receiving_ = false;
  bool busy_ = false;              // out of the epoll set, read from idle_
  bool wildcard_ = false;          // bound to 0.0.0.0 or ::: replies name their source address
  bool in_batch_ = false;          // replies are collected for one sendmmsg
  bool receive_prepared_ = false;  // the receive headers are set up (prepare_receive)
  bool joined_ = false;
  std::unique_ptr<Buffers> buffers_;
  std::shared_ptr<UdpGroup> group_;     // this address's sockets in the other loops
  UdpGroup::Member* member_ = nullptr;  // this socket's (null until bound)
  std::string name_;
  UdpCounters counters_;
};

}  // namespace holdfast::server
