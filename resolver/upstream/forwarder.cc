// Forwarder groups: server choice by policy, failover, and the attempts in flight.
#include "upstream/forwarder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "dns/header.h"
#include "dns/name.h"

namespace holdfast::upstream {

// One request in flight: owns a copy of the query and walks the server order.
class Forwarder::Attempt final : public AnswerHandler {
 public:
  Attempt(Forwarder* owner, dns::Bytes query, AnswerHandler* handler,
          std::vector<std::size_t> order, Via via, std::int64_t asked_ms)
      : owner_(owner),
        query_(query.begin(), query.end()),
        handler_(handler),
        order_(std::move(order)),
        via_(via),
        asked_ms_(asked_ms) {}

  void next() noexcept {
    const std::size_t server = order_[index_];
    ++owner_->counters_.attempts;
    if (index_ > 0) ++owner_->counters_.failovers;
    sent_ms_ = owner_->clock_.monotonic_ms();
    sent_ns_ = uv_hrtime();
    // c-ares 1.18 sends the ID it is given: a fresh random one per attempt (RFC 5452 §4.3).
    if (query_.size() >= 2) dns::set_id(dns::MutableBytes(query_), owner_->next_query_id());
    ++owner_->metrics_[server].requests;
    owner_->circuit_.on_sent(server, sent_ms_);
    owner_->channel(server, via_).send(query_, this);
  }

  void on_upstream_answer(UpstreamStatus status, dns::Bytes response) noexcept override {
    const std::size_t server = order_[index_];
    bool usable = false;
    if (status == UpstreamStatus::kAnswer) {
      // Any answer proves the server alive, whatever its rcode; the rcode only decides whether
      // the next server is worth asking.
      owner_->on_answer(server, sent_ms_, query_, response, sent_ns_);
      auto header = dns::read_header(response);
      const auto rcode = header ? static_cast<dns::Rcode>(header->rcode()) : dns::Rcode::kServFail;
      usable = header && rcode != dns::Rcode::kServFail && rcode != dns::Rcode::kRefused &&
               rcode != dns::Rcode::kNotImp && rcode != dns::Rcode::kFormErr;
    } else {
      owner_->on_failure(server, status, sent_ms_);
    }
    const bool can_retry = status != UpstreamStatus::kCancelled && index_ + 1 < order_.size();
    if (!usable && can_retry) {
      ++index_;
      next();
      return;
    }
    if (status == UpstreamStatus::kTimeout && via_ == Via::kNormal &&
        owner_->may_resend(server, asked_ms_)) {
      ++owner_->counters_.resends;
      next();  // the same server, with a fresh ID
      return;
    }
    if (!usable) ++owner_->counters_.failures;
    AnswerHandler* handler = handler_;
    owner_->finish(this);  // deletes this
    handler->on_upstream_answer(status, response);
  }

 private:
  Forwarder* owner_;
  std::vector<std::uint8_t> query_;
  AnswerHandler* handler_;
  std::vector<std::size_t> order_;
  Via via_;
  std::int64_t asked_ms_;  // handed to the forwarder (Forwarder::send)
  std::size_t index_ = 0;
  std::int64_t sent_ms_ = 0;
  std::uint64_t sent_ns_ = 0;
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
  // Owned by itself until finish(): closing the channels completes every attempt (kCancelled).
  auto* attempt = new Attempt(this, query, handler, pick_order(), via, asked_ms);
  attempt->next();
  rearm();
}

void Forwarder::finish(Attempt* attempt) noexcept {
  --inflight_;
  delete attempt;
  // An in-flight slot is free: a waiting miss may go (on the next turn of the loop, not inside
  // this c-ares callback).
  if (!queue_.empty()) arm(0);
}

}  // namespace holdfast::upstream
