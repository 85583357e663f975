// Forwarder groups: server choice by policy, failover, health by consecutive failures.
#include "upstream/forwarder.h"

#include <algorithm>
#include <numeric>

#include "dns/header.h"
#include "dns/name.h"

namespace holdfast::upstream {

// One request in flight: owns a copy of the query and walks the server order.
class Forwarder::Attempt final : public AnswerHandler {
 public:
  Attempt(Forwarder* owner, dns::Bytes query, AnswerHandler* handler,
          std::vector<std::size_t> order)
      : owner_(owner),
        query_(query.begin(), query.end()),
        handler_(handler),
        order_(std::move(order)) {}

  void next() noexcept {
    const std::size_t server = order_[index_];
    ++owner_->counters_.attempts;
    if (index_ > 0) ++owner_->counters_.failovers;
    owner_->servers_[server].channel->send(query_, this);
  }

  void on_upstream_answer(UpstreamStatus status, dns::Bytes response) noexcept override {
    const std::size_t server = order_[index_];
    bool ok = status == UpstreamStatus::kAnswer;
    if (ok) {
      auto header = dns::read_header(response);
      const auto rcode = header ? static_cast<dns::Rcode>(header->rcode()) : dns::Rcode::kServFail;
      ok = header && rcode != dns::Rcode::kServFail && rcode != dns::Rcode::kRefused &&
           rcode != dns::Rcode::kNotImp && rcode != dns::Rcode::kFormErr;
    }
    if (status != UpstreamStatus::kCancelled) owner_->record_result(server, ok);
    const bool can_retry = status != UpstreamStatus::kCancelled && index_ + 1 < order_.size();
    if (!ok && can_retry) {
      ++index_;
      next();
      return;
    }
    if (!ok) ++owner_->counters_.failures;
    AnswerHandler* handler = handler_;
    owner_->finish(this);  // deletes this
    handler->on_upstream_answer(status, response);
  }

 private:
  Forwarder* owner_;
  std::vector<std::uint8_t> query_;
  AnswerHandler* handler_;
  std::vector<std::size_t> order_;
  std::size_t index_ = 0;
};

Forwarder::Forwarder(uv_loop_t* loop, const ForwarderOptions& options, const Clock& clock,
                     std::uint64_t seed)
    : loop_(loop),
      options_(options),
      config_(options_.forward),
      clock_(clock),
      rng_(seed),
      limit_(options.limits) {
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
    servers_.push_back(Server{std::move(*channel), 0, 0});
  }
  if (servers_.empty()) return fail("forward " + config_.from + ": no upstream servers");
  return {};
}

void Forwarder::close() noexcept {
  for (Server& server : servers_) server.channel->close();
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
  for (const Server& server : servers_) names.push_back(server.channel->name());
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
  // Healthy servers first, keeping the policy's order among each group.
  const std::int64_t now = clock_.monotonic_ms();
  std::stable_partition(order.begin(), order.end(),
                        [&](std::size_t i) { return servers_[i].down_until_ms <= now; });
  // Try at most three servers: past that the client has long given up.
  if (order.size() > 3) order.resize(3);
  return order;
}

std::int64_t Forwarder::jittered_recheck_ms() noexcept {
  // ±20 %: nodes that lost their upstream together do not all probe it in the same instant.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<std::int64_t>(static_cast<double>(options_.recheck.count()) * jitter(rng_));
}

bool Forwarder::circuit_open() const noexcept {
  return circuit_open_;
}

bool Forwarder::claim_probe() noexcept {
  const std::int64_t now = clock_.monotonic_ms();
  if (now < next_probe_ms_) return false;
  next_probe_ms_ = now + jittered_recheck_ms();
  ++counters_.probes;
  return true;
}

bool Forwarder::recovering() const noexcept {
  return clock_.monotonic_ms() < recovery_ends_ms();
}

bool Forwarder::admit() noexcept {
  if (limit_.try_acquire(clock_.monotonic_ms(), inflight_)) return true;
  ++counters_.limited;
  return false;
}

void Forwarder::record_result(std::size_t server, bool ok) noexcept {
  Server& s = servers_[server];
  const std::int64_t now = clock_.monotonic_ms();
  if (ok) {
    s.consecutive_fails = 0;
    s.down_until_ms = 0;
    if (circuit_open_) {
      // Only an answer closes the circuit; refreshes are spread from here on.
      circuit_open_ = false;
      recovered_at_ms_ = now;
    }
    return;
  }
  ++s.consecutive_fails;
  if (config_.max_fails <= 0 || s.consecutive_fails < config_.max_fails) return;
  s.down_until_ms = now + jittered_recheck_ms();  // tried last until then
  const bool all_down = std::all_of(servers_.begin(), servers_.end(), [&](const Server& other) {
    return other.consecutive_fails >= config_.max_fails;
  });
  if (all_down && !circuit_open_) {
    // Open until a probe (one per recheck) gets an answer: a timer running out is not a sign
    // that the upstream is back.
    circuit_open_ = true;
    ++counters_.circuit_opened;
    next_probe_ms_ = now + jittered_recheck_ms();
  }
}

void Forwarder::resolve(dns::Bytes query, AnswerHandler* handler) {
  ++counters_.requests;
  if (config_.max_concurrent && inflight_ >= static_cast<std::size_t>(*config_.max_concurrent)) {
    ++counters_.over_limit;
    handler->on_upstream_answer(UpstreamStatus::kOverLimit, {});
    return;
  }
  ++inflight_;
  // Owned by itself until finish(): closing the channels completes every attempt (kCancelled).
  auto* attempt = new Attempt(this, query, handler, pick_order());
  attempt->next();
}

void Forwarder::finish(Attempt* attempt) noexcept {
  --inflight_;
  delete attempt;
}

}  // namespace holdfast::upstream
