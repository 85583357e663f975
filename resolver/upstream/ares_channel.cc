// c-ares on libuv: one channel per upstream server.
#include "upstream/ares_channel.h"

#include <ares.h>
#include <arpa/inet.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <type_traits>

static_assert(std::is_same_v<ares_socket_t, int>, "ares_channel.h declares sockets as int");
static_assert(std::is_same_v<ares_channel, ares_channeldata*>,
              "ares_channel.h declares the channel as ares.h does");

namespace holdfast::upstream {
namespace {

// The question of a DNS message (name, type, class) in lower-case wire form, or empty when the
// message has none or it is not a plain uncompressed name.
std::string question_of(const std::uint8_t* message, std::size_t length) {
  constexpr std::size_t kHeader = 12;
  if (length < kHeader + 5 || message[4] != 0 || message[5] == 0) return {};
  std::string out;
  std::size_t at = kHeader;
  while (at < length) {
    const std::uint8_t label = message[at];
    if (label == 0) break;
    if (label > 63 || at + 1 + label >= length || out.size() + 1 + label > 255) return {};
    out.push_back(static_cast<char>(label));
    for (std::size_t i = 1; i <= label; ++i) {
      const std::uint8_t c = message[at + i];
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
    }
    at += 1 + label;
  }
  if (at + 5 > length) return {};
  out.append(reinterpret_cast<const char*>(message + at), 5);  // the root label, type, class
  return out;
}

std::uint16_t id_of(const std::uint8_t* message) noexcept {
  return static_cast<std::uint16_t>((message[0] << 8) | message[1]);
}

ares_socket_t open_socket(int domain, int type, int protocol, void*) noexcept {
  return ::socket(domain, type, protocol);
}
int close_socket(ares_socket_t fd, void*) noexcept {
  return ::close(fd);
}
int connect_socket(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                   void*) noexcept {
  return ::connect(fd, address, length);
}
ares_ssize_t send_vector(ares_socket_t fd, const iovec* vector, int count, void*) noexcept {
  return ::writev(fd, vector, count);
}

}  // namespace

static_assert(std::is_same_v<ares_ssize_t, long> && std::is_same_v<ares_socklen_t, unsigned>,
              "AresChannel::on_recvfrom matches ares_socket_functions::arecvfrom");

const char* to_string(UpstreamStatus status) noexcept {
  switch (status) {
    case UpstreamStatus::kAnswer:
      return "answer";
    case UpstreamStatus::kTimeout:
      return "timeout";
    case UpstreamStatus::kConnectionRefused:
      return "connection refused";
    case UpstreamStatus::kError:
      return "error";
    case UpstreamStatus::kCancelled:
      return "cancelled";
    case UpstreamStatus::kOverLimit:
      return "over limit";
    case UpstreamStatus::kRejected:
      return "rejected by upstream_limits";
  }
  return "?";
}

namespace {

UpstreamStatus map_status(int status) noexcept {
  switch (status) {
    case ARES_SUCCESS:
      return UpstreamStatus::kAnswer;
    case ARES_ETIMEOUT:
      return UpstreamStatus::kTimeout;
    case ARES_ECONNREFUSED:
      return UpstreamStatus::kConnectionRefused;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return UpstreamStatus::kCancelled;
    default:
      return UpstreamStatus::kError;
  }
}

}  // namespace

AresChannel::AresChannel(uv_loop_t* loop, std::string name) : loop_(loop), name_(std::move(name)) {}

Result<std::unique_ptr<AresChannel>> AresChannel::create(uv_loop_t* loop,
                                                         const ChannelOptions& options) {
  const bool v6 = options.host.find(':') != std::string::npos;
  std::string name = v6 ? "[" + options.host + "]:" + std::to_string(options.port)
                        : options.host + ":" + std::to_string(options.port);
  std::unique_ptr<AresChannel> self(new AresChannel(loop, name));

  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
             ARES_OPT_LOOKUPS;
  // NOCHECKRESP: SERVFAIL/REFUSED come back to us as answers, so the cache decides what they mean.
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
               (options.force_tcp ? ARES_FLAG_USEVC : 0);
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = options.tries;
  opts.sock_state_cb = &AresChannel::on_sock_state;
  opts.sock_state_cb_data = self.get();
  char lookups[] = "b";
  opts.lookups = lookups;
  int rc = ares_init_options(&self->channel_, &opts, mask);
  if (rc != ARES_SUCCESS) return fail("c-ares init for " + name + ": " + ares_strerror(rc));

  ares_addr_port_node server{};
  server.next = nullptr;
  server.udp_port = options.port;
  server.tcp_port = options.port;
  if (v6) {
    server.family = AF_INET6;
    if (inet_pton(AF_INET6, options.host.c_str(), &server.addr.addr6) != 1) {
      return fail("'" + options.host + "' is not an IPv6 address");
    }
  } else {
    server.family = AF_INET;
    if (inet_pton(AF_INET, options.host.c_str(), &server.addr.addr4) != 1) {
      return fail("'" + options.host + "' is not an IPv4 address");
    }
  }
  rc = ares_set_servers_ports(self->channel_, &server);
  if (rc != ARES_SUCCESS) return fail("c-ares servers for " + name + ": " + ares_strerror(rc));
  static const ares_socket_functions kSocketFunctions{&open_socket, &close_socket, &connect_socket,
                                                      &AresChannel::on_recvfrom, &send_vector};
  ares_set_socket_functions(self->channel_, &kSocketFunctions, self.get());

  uv_timer_init(loop, &self->timer_);
  self->timer_.data = self.get();
  return self;
}

AresChannel::~AresChannel() {
  close();
}

void AresChannel::send(dns::Bytes query, AnswerHandler* handler) noexcept {
  if (channel_ == nullptr) {
    handler->on_upstream_answer(UpstreamStatus::kCancelled, {});
    return;
  }
  ++pending_;
  auto* request = new Request{this, handler, 0, {}};
  if (query.size() >= 12) {
    request->id = id_of(query.data());
    request->question = question_of(query.data(), query.size());
    outstanding_.emplace(request->id, request->question);
  }
  ares_send(channel_, query.data(), static_cast<int>(query.size()), &AresChannel::on_answer,
            request);
  rearm_timer();
}

void AresChannel::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                            int alen) noexcept {
  std::unique_ptr<Request> request(static_cast<Request*>(arg));
  AnswerHandler* handler = request->handler;
  AresChannel& owner = *request->owner;
  --owner.pending_;
  for (auto [at, end] = owner.outstanding_.equal_range(request->id); at != end; ++at) {
    if (at->second == request->question) {
      owner.outstanding_.erase(at);
      break;
    }
  }
  dns::Bytes response;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    response = dns::Bytes(abuf, static_cast<std::size_t>(alen));
  } else if (status == ARES_SUCCESS) {
    status = ARES_EBADRESP;
  }
  handler->on_upstream_answer(map_status(status), response);
}

long AresChannel::on_recvfrom(int fd, void* buffer, std::size_t length, int flags, sockaddr* from,
                              unsigned* from_length, void* data) noexcept {
  const ssize_t n = ::recvfrom(fd, buffer, length, flags, from, from_length);
  // c-ares reads TCP streams without a source address; only whole UDP datagrams are checked.
  if (n >= 12 && from != nullptr) {
    auto* self = static_cast<AresChannel*>(data);
    const auto* message = static_cast<const std::uint8_t*>(buffer);
    if (!self->outstanding(id_of(message), question_of(message, static_cast<std::size_t>(n)))) {
      ++self->mismatched_;
    }
  }
  return n;
}

bool AresChannel::outstanding(std::uint16_t id, std::string_view question) const noexcept {
  for (auto [at, end] = outstanding_.equal_range(id); at != end; ++at) {
    if (!question.empty() && at->second == question) return true;
  }
  return false;
}

void AresChannel::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
  static_cast<AresChannel*>(data)->update_socket(fd, readable != 0, writable != 0);
}

void AresChannel::update_socket(ares_socket_t fd, bool readable, bool writable) noexcept {
  auto found = polls_.find(fd);
  if (!readable && !writable) {
    if (found != polls_.end()) {
      Poll* poll = found->second;
      polls_.erase(found);
      uv_poll_stop(&poll->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle),
               [](uv_handle_t* h) noexcept { delete static_cast<Poll*>(h->data); });
    }
    return;
  }
  Poll* poll = nullptr;
  if (found == polls_.end()) {
    poll = new Poll{};
    poll->owner = this;
    poll->fd = fd;
    if (uv_poll_init_socket(loop_, &poll->handle, fd) != 0) {
      delete poll;
      return;
    }
    poll->handle.data = poll;
    polls_.emplace(fd, poll);
  } else {
    poll = found->second;
  }
  const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(&poll->handle, events, [](uv_poll_t* handle, int status, int ready) noexcept {
    auto* p = static_cast<Poll*>(handle->data);
    // On a poll error let c-ares read and write: it discovers the socket's error itself.
    const bool r = status < 0 || (ready & UV_READABLE);
    const bool w = status < 0 || (ready & UV_WRITABLE);
    p->owner->process(r ? p->fd : ARES_SOCKET_BAD, w ? p->fd : ARES_SOCKET_BAD);
  });
}

void AresChannel::process(ares_socket_t read_fd, ares_socket_t write_fd) noexcept {
  ares_process_fd(channel_, read_fd, write_fd);
  rearm_timer();
}

void AresChannel::rearm_timer() noexcept {
  if (channel_ == nullptr) return;
  if (pending_ == 0) {
    uv_timer_stop(&timer_);
    return;
  }
  timeval max_wait{1, 0};
  timeval wait{};
  timeval* next = ares_timeout(channel_, &max_wait, &wait);
  const std::uint64_t ms = static_cast<std::uint64_t>(next->tv_sec) * 1000 +
                           static_cast<std::uint64_t>(next->tv_usec) / 1000;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* timer) noexcept {
        static_cast<AresChannel*>(timer->data)->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      },
      ms == 0 ? 1 : ms, 0);
}

void AresChannel::close() noexcept {
  if (channel_ != nullptr) {
    ares_channel channel = channel_;
    channel_ = nullptr;
    ares_destroy(channel);  // fires pending callbacks with ARES_EDESTRUCTION, closes sockets
  }
  for (auto& [fd, poll] : polls_) {
    uv_poll_stop(&poll->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle),
             [](uv_handle_t* h) noexcept { delete static_cast<Poll*>(h->data); });
  }
  polls_.clear();
  if (timer_.loop != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }
}

}  // namespace holdfast::upstream
