// Fixed-rate UDP load, answer classification and timeouts for the drill.
#include "drill_load.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/uv_util.h"
#include "dns/edns.h"
#include "dns/header.h"
#include "dns/response.h"

namespace holdfast::dnsfault {
namespace {

constexpr std::uint64_t kIdsInUsePerSocket = 20'000;  // of 65536: IDs stay sparse

char ascii_lower(std::uint8_t c) noexcept {
  return static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

// The response echoes our question (RFC 1035 §7.3: otherwise it is not ours), any case.
bool same_question(dns::Bytes response, const WireQuery& query) noexcept {
  if (response.size() < query.question_end) return false;
  if (dns::read_u16(response.data() + 4) != 1) return false;
  for (std::size_t i = dns::kHeaderSize; i < query.question_end; ++i) {
    if (ascii_lower(response[i]) != ascii_lower(query.wire[i])) return false;
  }
  return true;
}

}  // namespace

LoadGenerator::LoadGenerator(uv_loop_t* loop, const std::vector<WireQuery>& queries,
                             LoadOptions options, Series series)
    : loop_(loop), queries_(queries), options_(options), series_(std::move(series)) {
  total_ = static_cast<std::uint64_t>(
      std::floor(options_.rate_qps * static_cast<double>(options_.duration_ms) / 1000.0));
  const std::size_t seconds = static_cast<std::size_t>((options_.duration_ms + 999) / 1000);
  series_.seconds.assign(seconds, SecondCounts{});
  series_.latencies_ms.assign(seconds, {});
}

Result<void> LoadGenerator::start(std::uint64_t t0_ns, DoneCallback on_done, void* context) {
  t0_ns_ = t0_ns;
  on_done_ = on_done;
  done_context_ = context;
  const double in_flight = options_.rate_qps * options_.timeout_ms / 1000.0;
  const std::size_t count = 1 + static_cast<std::size_t>(in_flight / kIdsInUsePerSocket);
  const auto* target = reinterpret_cast<const sockaddr*>(&options_.target);
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  started_ = true;
  for (std::size_t i = 0; i < count; ++i) {
    auto socket = std::make_unique<Socket>();
    uv_udp_init(loop_, &socket->handle);
    socket->handle.data = socket.get();
    socket->owner = this;
    socket->ids.resize(kIdsPerSocket);
    socket->next_id = static_cast<std::uint16_t>(i * 7919);
    Socket& s = *socket;
    sockets_.push_back(std::move(socket));
    if (int rc = uv_udp_connect(&s.handle, target); rc != 0) {
      return fail("cannot open a UDP socket to " + format_address(target) + ": " + uv_strerror(rc));
    }
    uv_udp_recv_start(&s.handle, &LoadGenerator::on_alloc, &LoadGenerator::on_recv);
  }
  uv_timer_start(&timer_, &LoadGenerator::on_tick, 0, kTickMs);
  return {};
}

void LoadGenerator::close() noexcept {
  if (!started_) return;
  close_member(reinterpret_cast<uv_handle_t*>(&timer_));
  for (auto& socket : sockets_) close_member(reinterpret_cast<uv_handle_t*>(&socket->handle));
}

void LoadGenerator::on_tick(uv_timer_t* timer) noexcept {
  static_cast<LoadGenerator*>(timer->data)->tick();
}

void LoadGenerator::tick() noexcept {
  const std::uint64_t now = uv_hrtime();
  const std::uint64_t elapsed_ms = (now - t0_ns_) / 1'000'000;
  std::uint64_t due = total_;
  if (elapsed_ms < options_.duration_ms) {
    due = std::min<std::uint64_t>(
        total_,
        static_cast<std::uint64_t>(options_.rate_qps * static_cast<double>(elapsed_ms) / 1000.0));
  }
  if (stopping_) due = sent_;
  while (sent_ < due) send_one(now);
  expire(now);
  if ((sent_ == total_ || stopping_) && in_flight_ == 0 && !done_) {
    done_ = true;
    uv_timer_stop(&timer_);
    if (on_done_) on_done_(done_context_);
  }
}

void LoadGenerator::send_one(std::uint64_t now_ns) noexcept {
  const std::uint64_t n = sent_++;
  const auto query_index = static_cast<std::uint32_t>(n % queries_.size());
  const auto socket_index = static_cast<std::uint32_t>(n % sockets_.size());
  Socket& socket = *sockets_[socket_index];
  // The next free ID; with at most kIdsInUsePerSocket in use the walk is short.
  std::uint16_t id = socket.next_id;
  for (std::size_t probe = 0; socket.ids[id].active && probe < kIdsPerSocket; ++probe) ++id;
  socket.next_id = static_cast<std::uint16_t>(id + 1);
  const std::uint64_t at_ms = (now_ns - t0_ns_) / 1'000'000;
  const auto second =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(at_ms / 1000, series_.seconds.size() - 1));
  InFlight& slot = socket.ids[id];
  slot = InFlight{true, now_ns, second, query_index};
  ++series_.seconds[second].sent;
  ++in_flight_;
  pending_.push_back(Pending{now_ns, socket_index, id});
  const WireQuery& query = queries_[query_index];
  send_buffer_.assign(query.wire.begin(), query.wire.end());
  dns::write_u16(send_buffer_.data(), id);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(send_buffer_.data()),
                             static_cast<unsigned>(send_buffer_.size()));
  // A failed send (ECONNREFUSED left by an ICMP error, a full buffer) is a query the client
  // never got an answer to: it times out like a lost one.
  uv_udp_try_send(&socket.handle, &buf, 1, nullptr);
}

void LoadGenerator::expire(std::uint64_t now_ns) noexcept {
  const std::uint64_t timeout_ns = std::uint64_t{options_.timeout_ms} * 1'000'000;
  while (!pending_.empty() && pending_.front().sent_ns + timeout_ns <= now_ns) {
    const Pending p = pending_.front();
    pending_.pop_front();
    InFlight& slot = sockets_[p.socket]->ids[p.id];
    if (!slot.active || slot.sent_ns != p.sent_ns) continue;  // answered meanwhile
    slot.active = false;
    --in_flight_;
    ++series_.seconds[slot.second].timeouts;
    series_.latencies_ms[slot.second].push_back(static_cast<float>(options_.timeout_ms));
  }
}

void LoadGenerator::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  LoadGenerator* self = static_cast<Socket*>(handle->data)->owner;
  *buf = uv_buf_init(reinterpret_cast<char*>(self->recv_buffer_.data()),
                     static_cast<unsigned>(self->recv_buffer_.size()));
}

void LoadGenerator::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr*,
                            unsigned) noexcept {
  if (nread <= 0) return;  // errors (ECONNREFUSED): the query times out, as for a stub
  auto* socket = static_cast<Socket*>(handle->data);
  socket->owner->handle_response(*socket,
                                 dns::Bytes(reinterpret_cast<const std::uint8_t*>(buf->base),
                                            static_cast<std::size_t>(nread)));
}

void LoadGenerator::handle_response(Socket& socket, dns::Bytes packet) noexcept {
  auto header = dns::read_header(packet);
  if (!header || !header->qr()) {
    ++series_.ignored_responses;
    return;
  }
  InFlight& slot = socket.ids[header->id];
  if (!slot.active || !same_question(packet, queries_[slot.query])) {
    ++series_.ignored_responses;  // a stub keeps waiting for the real answer
    return;
  }
  SecondCounts& c = series_.seconds[slot.second];
  if (header->tc()) {
    ++c.truncated;
  } else if (auto info = dns::parse_response(packet, [](std::size_t) {}); !info) {
    ++c.malformed;
  } else {
    std::optional<std::uint16_t> ede;
    if (info->opt) ede = dns::find_ede_code(packet, info->opt->rdata_offset, info->opt->rdata_len);
    const auto rcode = static_cast<dns::Rcode>(header->rcode());
    if (ede == dns::ede::kStaleAnswer || ede == dns::ede::kStaleNxdomainAnswer) {
      ++c.stale;
    } else if (rcode == dns::Rcode::kNoError) {
      ++(info->answer_count_of_qtype > 0 ? c.noerror_data : c.nodata);
    } else if (rcode == dns::Rcode::kNxDomain) {
      ++c.nxdomain;
    } else if (rcode == dns::Rcode::kServFail) {
      ++c.servfail;
    } else {
      ++c.other_rcode;
    }
  }
  record(slot, uv_hrtime());
  slot.active = false;
  --in_flight_;
}

void LoadGenerator::record(const InFlight& query, std::uint64_t now_ns) noexcept {
  const double ms = static_cast<double>(now_ns - query.sent_ns) / 1e6;
  series_.latencies_ms[query.second].push_back(static_cast<float>(ms));
}

}  // namespace holdfast::dnsfault
