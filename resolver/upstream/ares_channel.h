// One c-ares channel talking to one upstream server, driven by a libuv loop (socket-state
// callback -> one uv_poll_t per fd, one uv_timer_t re-armed from ares_timeout()).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "dns/wire.h"
#include "upstream/answer_handler.h"

// c-ares's channel, declared as ares.h (1.18) declares it, so that this header (which the
// forwarder's header and through it server/ includes) does not pull in ares.h. Sockets are ints
// (int on POSIX; checked in the .cc).
struct ares_channeldata;

namespace holdfast::upstream {

struct ChannelOptions {
  std::string host;  // numeric IPv4 or IPv6
  std::uint16_t port = 53;
  bool force_tcp = false;
  std::chrono::milliseconds timeout{2000};
  int tries = 1;
};

// Must be used on the loop it was created with. Call close() before the loop's final run; the
// object must outlive that run (its timer is a member).
class AresChannel {
 public:
  static Result<std::unique_ptr<AresChannel>> create(uv_loop_t* loop,
                                                     const ChannelOptions& options);
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  // Sends a complete DNS query (c-ares assigns the ID and matches the answer's ID and question).
  // `handler` is called exactly once; with kCancelled if the channel closes first.
  void send(dns::Bytes query, AnswerHandler* handler) noexcept;

  // Fails every pending request with kCancelled and releases sockets and handles.
  void close() noexcept;

  const std::string& name() const noexcept { return name_; }
  // UDP datagrams from the server that answered no question we had outstanding (another ID, or
  // the right ID with another question): c-ares drops them; this counts them. Replies from
  // another address or port never get here: the UDP sockets are connected.
  std::uint64_t mismatched() const noexcept { return mismatched_; }

 private:
  AresChannel(uv_loop_t* loop, std::string name);
  static void on_sock_state(void* data, int fd, int readable, int writable) noexcept;
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf,
                        int alen) noexcept;
  void update_socket(int fd, bool readable, bool writable) noexcept;
  void process(int read_fd, int write_fd) noexcept;
  void rearm_timer() noexcept;
  // c-ares's recvfrom for this channel's sockets (ares_set_socket_functions): counts a UDP
  // datagram that matches no outstanding question.
  static long on_recvfrom(int fd, void* buffer, std::size_t length, int flags, sockaddr* from,
                          unsigned* from_length, void* data) noexcept;
  bool outstanding(std::uint16_t id, std::string_view question) const noexcept;

  struct Request {
    AresChannel* owner;
    AnswerHandler* handler;
    std::uint16_t id;
    std::string question;  // lower-case wire form with type and class
  };
  struct Poll {
    uv_poll_t handle;
    AresChannel* owner;
    int fd;
  };

  uv_loop_t* loop_;
  std::string name_;
  ares_channeldata* channel_ = nullptr;
  uv_timer_t timer_{};
  std::unordered_map<int, Poll*> polls_;
  std::size_t pending_ = 0;
  std::unordered_multimap<std::uint16_t, std::string> outstanding_;  // ID -> question
  std::uint64_t mismatched_ = 0;
};

}  // namespace holdfast::upstream
