// The drill's client load: UDP queries at a fixed rate over the names, round robin, each with a
// timeout, against one address; every answer or timeout is recorded in the second the query was
// sent. Bounded: rate * duration queries in all, at most rate * timeout in flight, over a few
// connected sockets with 65536 IDs each. Loop thread only.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <uv.h>

#include "base/result.h"
#include "drill_stats.h"
#include "names.h"

namespace holdfast::dnsfault {

struct LoadOptions {
  sockaddr_storage target{};
  double rate_qps = 0;
  std::uint64_t duration_ms = 0;
  std::uint32_t timeout_ms = 2000;
};

class LoadGenerator {
 public:
  static constexpr std::uint64_t kTickMs = 2;
  static constexpr std::size_t kIdsPerSocket = 65536;

  using DoneCallback = void (*)(void* context) noexcept;

  // `queries` must outlive the generator.
  LoadGenerator(uv_loop_t* loop, const std::vector<WireQuery>& queries, LoadOptions options,
                Series series);
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Starts sending; `t0_ns` (uv_hrtime) is time 0 of the run. `on_done` runs once, when every
  // query has been sent and has been answered or has timed out.
  Result<void> start(std::uint64_t t0_ns, DoneCallback on_done, void* context);
  // Sends nothing more (Ctrl-C); what is in flight still finishes.
  void stop_sending() noexcept { stopping_ = true; }
  bool done() const noexcept { return done_; }
  void close() noexcept;
  const Series& series() const noexcept { return series_; }

 private:
  struct InFlight {
    bool active = false;
    std::uint64_t sent_ns = 0;
    std::uint32_t second = 0;
    std::uint32_t query = 0;
  };
  struct Socket {
    uv_udp_t handle;
    LoadGenerator* owner = nullptr;
    std::vector<InFlight> ids;
    std::uint16_t next_id = 0;
  };
  struct Pending {
    std::uint64_t sent_ns;
    std::uint32_t socket;
    std::uint16_t id;
  };

  static void on_tick(uv_timer_t* timer) noexcept;
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags) noexcept;
  void tick() noexcept;
  void send_one(std::uint64_t now_ns) noexcept;
  void expire(std::uint64_t now_ns) noexcept;
  void handle_response(Socket& socket, dns::Bytes packet) noexcept;
  void record(const InFlight& query, std::uint64_t now_ns) noexcept;

  uv_loop_t* loop_;
  const std::vector<WireQuery>& queries_;
  LoadOptions options_;
  Series series_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  uv_timer_t timer_;
  std::deque<Pending> pending_;  // in send order: timeouts expire from the front
  std::uint64_t t0_ns_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t in_flight_ = 0;
  std::vector<std::uint8_t> send_buffer_;
  std::array<std::uint8_t, 65536> recv_buffer_;
  DoneCallback on_done_ = nullptr;
  void* done_context_ = nullptr;
  bool stopping_ = false;
  bool done_ = false;
  bool started_ = false;
};

}  // namespace holdfast::dnsfault
