// Forwarder groups: server choice by policy, failover, and the attempts in flight.
#include "upstream/forwarder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "dns/header.h"
#include "dns/name.h"

namespace holdfast::upstream {

// One request in flight: owns a copy of the query and walks the server order. Each query it
// sends is a Copy; at most two are outstanding at once (the first and an early second copy,
// Forwarder::hedge). The client's handler is called once, with the first usable answer or when
// no copy is left to wait for; the attempt lives on, without a client, until its last copy ends.
class Forwarder::Attempt final {
 public:
  Attempt(Forwarder* owner, dns::Bytes query, AnswerHandler* handler,
          std::vector<std::size_t> order, Via via, std::int64_t asked_ms)
      : owner_(owner),
        query_(query.begin(), query.end()),
        handler_(handler),
        order_(std::move(order)),
        via_(via),
        asked_ms_(asked_ms) {}

  // Sends a copy to the current server. May end, and delete, the attempt before it returns (a
  // closed channel answers kCancelled at once): touch nothing of it afterwards.
  void next() noexcept { send_copy(order_[index_]); }

  // An early second copy is due: one copy outstanding for `wait_ms` or more, and that copy is
  // not already the question's second (none sent early, none sent again after a timeout).
  bool hedge_due(std::int64_t now_ms, std::int64_t wait_ms) const noexcept {
    if (done_ || hedged_ || resent_ || live_ != 1) return false;  // only kNormal ones are listed
    const Copy& live = copies_[0].live ? copies_[0] : copies_[1];
    return now_ms - live.sent_ms >= wait_ms;
  }
  // The server the early copy goes to: the next in order, or the same one when none is left.
  std::size_t hedge_server() const noexcept {
    return order_[index_ + 1 < order_.size() ? index_ + 1 : index_];
  }
  bool hedge_to_same_server() const noexcept { return index_ + 1 >= order_.size(); }
  std::int64_t asked_ms() const noexcept { return asked_ms_; }
  // Sends the early copy (the same caveat as next()).
  void send_hedge() noexcept {
    hedged_ = true;
    if (index_ + 1 < order_.size()) ++index_;
    send_copy(order_[index_]);
  }

  std::size_t slot = 0;  // where Forwarder::attempts_ holds it, while listed
  bool listed = false;

 private:
  // One query sent: which server, when, and the c-ares callback that reports its end.
  struct Copy final : AnswerHandler {
    Attempt* attempt = nullptr;
    std::size_t server = 0;
    std::int64_t sent_ms = 0;
    std::uint64_t sent_ns = 0;
    bool live = false;
    void on_upstream_answer(UpstreamStatus status, dns::Bytes response) noexcept override {
      attempt->on_copy(*this, status, response);
    }
  };

  void send_copy(std::size_t server) noexcept {
    Copy& copy = copies_[0].live ? copies_[1] : copies_[0];
    copy.attempt = this;
    copy.server = server;
    copy.sent_ms = owner_->clock_.monotonic_ms();
    copy.sent_ns = uv_hrtime();
    copy.live = true;
    ++live_;
    ++owner_->counters_.attempts;
    // c-ares 1.18 sends the ID it is given: a fresh random one per copy (RFC 5452 §4.3).
    if (query_.size() >= 2) dns::set_id(dns::MutableBytes(query_), owner_->next_query_id());
    ++owner_->metrics_[server].requests;
    owner_->circuit_.on_sent(server, copy.sent_ms);
    owner_->channel(server, via_).send(query_, &copy);
  }

  void on_copy(Copy& copy, UpstreamStatus status, dns::Bytes response) noexcept {
    copy.live = false;
    --live_;
    const std::size_t server = copy.server;
    bool usable = false;
    if (status == UpstreamStatus::kAnswer) {
      // Any answer proves the server alive, whatever its rcode; the rcode only decides whether
      // the next server is worth asking.
      owner_->on_answer(server, copy.sent_ms, query_, response, copy.sent_ns);
      auto header = dns::read_header(response);
      const auto rcode = header ? static_cast<dns::Rcode>(header->rcode()) : dns::Rcode::kServFail;
      usable = header && rcode != dns::Rcode::kServFail && rcode != dns::Rcode::kRefused &&
               rcode != dns::Rcode::kNotImp && rcode != dns::Rcode::kFormErr;
    } else {
      owner_->on_failure(server, status, copy.sent_ms);
    }
    if (done_) {
      // The client has its answer: this copy only told about the server's health.
      if (live_ == 0) delete this;
      return;
    }
    if (usable) {
      end(status, response);
      return;
    }
    if (live_ > 0) {
      // The other copy may still answer. Keep this answer (SERVFAIL, REFUSED...) for the
      // client in case it does not.
      if (status == UpstreamStatus::kAnswer) unusable_.assign(response.begin(), response.end());
      return;
    }
    if (status != UpstreamStatus::kAnswer && status != UpstreamStatus::kCancelled &&
        !unusable_.empty()) {
      status = UpstreamStatus::kAnswer;  // an answer, if not a usable one, beats a timeout
      response = dns::Bytes(unusable_);
    }
    const bool can_retry = status != UpstreamStatus::kCancelled && index_ + 1 < order_.size();
    if (can_retry) {
      ++index_;
      ++owner_->counters_.failovers;
      unusable_.clear();
      next();
      return;
    }
    // An early copy was this question's second: no third.
    if (status == UpstreamStatus::kTimeout && via_ == Via::kNormal && !hedged_ &&
        owner_->may_resend(server, asked_ms_)) {
      ++owner_->counters_.resends;
      resent_ = true;
      next();  // the same server, with a fresh ID
      return;
    }
    ++owner_->counters_.failures;
    end(status, response);
  }

  // Hands the client its answer. Deletes the attempt unless a copy is still outstanding (its
  // end deletes it then): the handler may start new work on this forwarder, but never sees us.
  void end(UpstreamStatus status, dns::Bytes response) noexcept {
    done_ = true;
    AnswerHandler* handler = handler_;
    std::vector<std::uint8_t> kept;
    if (!unusable_.empty() && response.data() == unusable_.data()) {
      kept = std::move(unusable_);
      response = dns::Bytes(kept);
    }
    owner_->finish(this);
    if (live_ == 0) delete this;
    handler->on_upstream_answer(status, response);
  }

  Forwarder* owner_;
  std::vector<std::uint8_t> query_;
  AnswerHandler* handler_;
  std::vector<std::size_t> order_;
  Via via_;
  std::int64_t asked_ms_;  // handed to the forwarder (Forwarder::send)
  std::size_t index_ = 0;
  std::array<Copy, 2> copies_{};
  int live_ = 0;                        // copies outstanding
  bool hedged_ = false;                 // an early copy went
  bool resent_ = false;                 // a copy went again after a timeout
  bool done_ = false;                   // the client's handler was called
  std::vector<std::uint8_t> unusable_;  // an answer not worth passing on while a copy may do better
};

Forwarder::Forwarder(uv_loop_t* loop, const ForwarderOptions& options, const Clock& clock,
                     std::uint64_t seed)
    : loop_(loop),
      options_(options),
      config_(options_.forward),
      clock_(clock),
      rng_(seed),
      limit_(options.limits),
      queue_(options.queue),
      circuit_(
          options.forward.to.size(),
          CircuitOptions{options.forward.max_fails, options.probe_interval.count(), options.probes},
          seed ^ 0x9e3779b97f4a7c15ULL) {
  std::string wire;
  dns::text_to_wire(config_.from, wire);
  from_wire_.push_back(wire);
  for (const std::string& zone : config_.except) {
    wire.clear();
    dns::text_to_wire(zone, wire);
    from_wire_.push_back(wire);
  }
}

Forwarder::~Forwarder() {
  close();
}

Result<void> Forwarder::start() {
  for (const config::Endpoint& endpoint : config_.to) {
    ChannelOptions options;
    options.host = endpoint.host;
    options.port = endpoint.port;
    options.force_tcp = config_.force_tcp;
    options.timeout = options_.attempt_timeout;
    auto channel = AresChannel::create(loop_, options);
    if (!channel) return fail(channel.error().message);
    servers_.push_back(std::move(*channel));
    options.timeout = std::min(options_.attempt_timeout,
                               std::max(options_.probe_interval, std::chrono::milliseconds(1000)));
    auto probe_channel = AresChannel::create(loop_, options);
    if (!probe_channel) return fail(probe_channel.error().message);
    probe_channels_.push_back(std::move(*probe_channel));
  }
  if (servers_.empty()) return fail("forward " + config_.from + ": no upstream servers");
  metrics_.resize(servers_.size());
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  return {};
}

void Forwarder::close() noexcept {
  if (closed_) return;
  closed_ = true;
  while (!queue_.empty()) reject(queue_.pop().handler, UpstreamStatus::kCancelled);
  for (auto& channel : servers_) channel->close();
  for (auto& channel : probe_channels_) channel->close();
  if (timer_.loop != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }
}

bool Forwarder::covers(dns::Bytes lower_name) const noexcept {
  auto as_bytes = [](const std::string& s) {
    return dns::Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  if (!dns::is_subdomain(lower_name, as_bytes(from_wire_[0]))) return false;
  for (std::size_t i = 1; i < from_wire_.size(); ++i) {
    if (dns::is_subdomain(lower_name, as_bytes(from_wire_[i]))) return false;
  }
  return true;
}

std::vector<std::string> Forwarder::server_names() const {
  std::vector<std::string> names;
  for (const auto& channel : servers_) names.push_back(channel->name());
  return names;
}

std::vector<std::size_t> Forwarder::pick_order() {
  std::vector<std::size_t> order(servers_.size());
  std::iota(order.begin(), order.end(), 0);
  switch (config_.policy) {
    case config::ForwardPolicy::kRandom:
      std::shuffle(order.begin(), order.end(), rng_);
      break;
    case config::ForwardPolicy::kRoundRobin:
      std::rotate(order.begin(),
                  order.begin() + static_cast<std::ptrdiff_t>(round_robin_next_ % order.size()),
                  order.end());
      ++round_robin_next_;
      break;
    case config::ForwardPolicy::kSequential:
      break;
  }
  // Healthy servers first, keeping the policy's order among each group; a down server is still
  // asked last (as CoreDNS does when every upstream is marked down).
  std::stable_partition(order.begin(), order.end(),
                        [&](std::size_t i) { return !circuit_.down(i); });
  // A server the operator forced down is never asked.
  if (std::any_of(order.begin(), order.end(),
                  [&](std::size_t i) { return !circuit_.forced_down(i); })) {
    std::erase_if(order, [&](std::size_t i) { return circuit_.forced_down(i); });
  }
  // Try at most three servers: past that the client has long given up.
  if (order.size() > 3) order.resize(3);
  return order;
}

void Forwarder::resolve(dns::Bytes query, AnswerHandler* handler) {
  send(query, handler, Via::kNormal, clock_.monotonic_ms());
}

void Forwarder::send(dns::Bytes query, AnswerHandler* handler, Via via, std::int64_t asked_ms) {
  ++counters_.requests;
  if (config_.max_concurrent && inflight_ >= static_cast<std::size_t>(*config_.max_concurrent)) {
    ++counters_.over_limit;
    handler->on_upstream_answer(UpstreamStatus::kOverLimit, {});
    return;
  }
  ++inflight_;
  // Owned by itself until its last copy ends: closing the channels ends every copy (kCancelled).
  auto* attempt = new Attempt(this, query, handler, pick_order(), via, asked_ms);
  if (via == Via::kNormal) {
    hedge_credit_ = std::min(kHedgeCredit, hedge_credit_ + 1);
    try {
      attempt->slot = attempts_.size();
      attempts_.push_back(attempt);
      attempt->listed = true;
    } catch (...) {
      // Not listed: it gets no early copy.
    }
  }
  attempt->next();
  rearm();
}

void Forwarder::finish(Attempt* attempt) noexcept {
  --inflight_;
  if (attempt->listed) {
    attempt->listed = false;
    Attempt* last = attempts_.back();
    attempts_[attempt->slot] = last;
    last->slot = attempt->slot;
    attempts_.pop_back();
  }
  // An in-flight slot is free: a waiting miss may go (on the next turn of the loop, not inside
  // this c-ares callback).
  if (!queue_.empty()) arm(0);
}

void Forwarder::hedge(std::int64_t now_ms) noexcept {
  if (attempts_.empty() || circuit_.open()) return;
  const std::int64_t wait = latency_.hedge_ms(options_.attempt_timeout.count());
  if (wait < 0) return;
  for (std::size_t i = 0; i < attempts_.size() && hedge_credit_ >= kHedgeCost; ++i) {
    Attempt* attempt = attempts_[i];
    if (!attempt->hedge_due(now_ms, wait) || !ends_within_budget(attempt->asked_ms(), now_ms) ||
        circuit_.down(attempt->hedge_server()) ||
        // Over TCP nothing is lost on the way: the same server asked again would only answer
        // as slowly.
        (config_.force_tcp && attempt->hedge_to_same_server())) {
      continue;
    }
    if (!admit()) break;  // the circuit, the queue or the limits: the same for every attempt
    hedge_credit_ -= kHedgeCost;
    ++counters_.hedges;
    // It stays listed (its client still waits); were it to end at once, the slot it held is
    // now another's, which then waits for the next tick.
    attempt->send_hedge();
  }
}

}  // namespace holdfast::upstream
