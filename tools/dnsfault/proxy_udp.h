// The UDP side of the proxy: one listening socket, a small pool of connected upstream sockets
// with ID rewriting, and a bounded in-flight table swept for timeouts. Loop thread only.
//
// A forwarded query takes a slot (client address, client ID, the post-processing its rule asks
// for) and goes upstream under a fresh random ID on one of kUpstreamSockets sockets; the answer
// finds its slot by (socket, ID). Slots are freed on the answer or after the upstream timeout,
// so the proxy never holds more than kMaxInflight queries nor opens a socket per query.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <uv.h>

#include "base/result.h"
#include "delay_queue.h"
#include "proxy_context.h"

namespace holdfast::dnsfault {

class UdpProxy {
 public:
  static constexpr std::size_t kUpstreamSockets = 4;
  static constexpr std::size_t kMaxInflight = 8192;
  static constexpr std::int64_t kSweepIntervalMs = 100;

  explicit UdpProxy(ProxyContext& context);
  UdpProxy(const UdpProxy&) = delete;
  UdpProxy& operator=(const UdpProxy&) = delete;

  Result<void> start(const sockaddr* listen);
  // Closes every handle; the object must live until the loop has run the close callbacks.
  void close() noexcept;

 private:
  struct Slot {
    enum class State : std::uint8_t { kFree, kDelayed, kWaiting };
    State state = State::kFree;
    std::uint32_t generation = 0;
    sockaddr_storage client{};
    std::uint16_t client_id = 0;
    std::uint16_t upstream_id = 0;
    std::uint8_t socket_index = 0;
    std::int64_t deadline_ms = 0;
    ActionKind post = ActionKind::kPass;  // kTtl or kGarble rewrite the answer
    std::uint32_t ttl_seconds = 0;
    GarbleMode garble = GarbleMode::kWrongId;
    std::vector<std::uint8_t> query;  // capacity kept between uses
  };

  struct UpstreamSocket {
    uv_udp_t handle;
    UdpProxy* owner = nullptr;
    std::uint8_t index = 0;
    std::vector<std::int32_t> slot_by_id;  // 65536 entries, -1 when the ID is free
  };

  static void on_client_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_upstream_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_client_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                             const sockaddr* addr, unsigned flags) noexcept;
  static void on_upstream_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                               const sockaddr* addr, unsigned flags) noexcept;
  static void on_delay_due(void* self, std::uint64_t token) noexcept;
  static void on_sweep(uv_timer_t* timer) noexcept;

  void handle_query(const sockaddr* client, dns::MutableBytes packet) noexcept;
  void hold(const sockaddr* client, dns::Bytes packet, const Decision& decision) noexcept;
  void forward(std::uint32_t slot_index) noexcept;
  void handle_answer(UpstreamSocket& socket, dns::MutableBytes packet) noexcept;
  void free_slot(std::uint32_t slot_index) noexcept;
  void sweep() noexcept;
  void send_to_client(const sockaddr* client, dns::Bytes packet) noexcept;

  ProxyContext& context_;
  uv_udp_t listener_;
  sockaddr_storage local_{};  // the listener's address, for ICMP errors
  std::array<UpstreamSocket, kUpstreamSockets> upstream_;
  std::size_t next_socket_ = 0;
  uv_timer_t sweep_timer_;
  DelayQueue delays_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::minstd_rand id_rng_;  // upstream IDs: apart from the seeded fault stream
  std::array<std::uint8_t, 65536> client_buffer_;
  std::array<std::uint8_t, 65536> upstream_buffer_;
  bool started_ = false;
};

}  // namespace holdfast::dnsfault
