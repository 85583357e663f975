// The protection of a forwarder group's upstreams: admission (limits, then a bounded FIFO for
// misses), health by transport (answers, failures, silence measured against the latency), the
// circuit breaker's probes, SERVFAIL-degraded detection, and one log line per state change.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

#include "dns/header.h"
#include "upstream/forwarder.h"

namespace holdfast::upstream {
namespace {

// While anything is outstanding, waiting or down, the timer looks again this often: silence is
// noticed within it, and queued misses go out at most this late after their token is there.
constexpr std::int64_t kTickMs = 10;

// `. IN NS`, no RD: the health-check question CoreDNS's forward sends. Any answer will do.
// FORMAT: a DNS header (ID set per probe; QDCOUNT 1) and a root NS question.
constexpr std::uint8_t kHealthQuery[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};

std::uint64_t question_hash(dns::Bytes query) noexcept {
  if (query.size() <= dns::kHeaderSize) return 0;
  const std::string_view question(reinterpret_cast<const char*>(query.data()) + dns::kHeaderSize,
                                  query.size() - dns::kHeaderSize);
  return std::hash<std::string_view>{}(question);
}

}  // namespace

// A timed probe of one down server; deletes itself when c-ares is done with it.
class Forwarder::HealthCheck final : public AnswerHandler {
 public:
  HealthCheck(Forwarder* owner, std::size_t server) : owner_(owner), server_(server) {}

  void send() noexcept {
    sent_ms_ = owner_->clock_.monotonic_ms();
    owner_->circuit_.on_sent(server_, sent_ms_);
    std::memcpy(query_, kHealthQuery, sizeof query_);
    dns::set_id(dns::MutableBytes(query_, sizeof query_), owner_->next_query_id());
    owner_->channel(server_, Via::kProbe).send(dns::Bytes(query_, sizeof query_), this);
  }

  void on_upstream_answer(UpstreamStatus status, dns::Bytes response) noexcept override {
    if (status == UpstreamStatus::kAnswer) {
      owner_->on_answer(server_, sent_ms_, {}, response, 0);
    } else {
      if (status != UpstreamStatus::kCancelled) ++owner_->metrics_[server_].healthcheck_failures;
      owner_->on_failure(server_, status, sent_ms_);
    }
    delete this;
  }

 private:
  Forwarder* owner_;
  std::size_t server_;
  std::int64_t sent_ms_ = 0;
  std::uint8_t query_[sizeof kHealthQuery];
};

bool Forwarder::admit() noexcept {
  if (!circuit_.open() && queue_.empty() && limit_.try_acquire(clock_.monotonic_ms(), inflight_)) {
    return true;
  }
  ++counters_.limited;
  return false;
}

bool Forwarder::ends_within_budget(std::int64_t asked_ms, std::int64_t now_ms) const noexcept {
  return now_ms - asked_ms + options_.attempt_timeout.count() <= options_.question_budget.count();
}

bool Forwarder::may_resend(std::size_t server, std::int64_t asked_ms) noexcept {
  return ends_within_budget(asked_ms, clock_.monotonic_ms()) && !circuit_.down(server) && admit();
}

void Forwarder::submit(dns::Bytes query, AnswerHandler* handler, std::uint64_t client) {
  const std::int64_t now = clock_.monotonic_ms();
  // Nothing overtakes a miss that already waits.
  if (queue_.empty() && may_send_queued(now)) {
    send(query, handler, circuit_.open() ? Via::kProbe : Via::kNormal, now);
    return;
  }
  // While every server is down a miss waits only as long as a probe slot takes to turn over:
  // by then a probe has told whether the upstream is back.
  const std::int64_t wait_ms = circuit_.open()
                                   ? std::min(options_.queue_wait, options_.probe_interval).count()
                                   : options_.queue_wait.count();
  std::optional<AdmissionQueue::Entry> displaced;
  if (closed_ || !queue_.push({query, handler, now + wait_ms, client, 0, now},
                              closed_ ? nullptr : &displaced)) {
    ++counters_.queue_full;
    if (!queue_saturated_ && !closed_) {
      queue_saturated_ = true;
      rejected_while_saturated_ = 0;
      spdlog::info(
          "[{}] upstream queue full ({} waiting, {} in flight): further misses get "
          "SERVFAIL (EDE 22) until it drains",
          options_.name, queue_.size(), inflight_);
    }
    ++rejected_while_saturated_;
    reject(handler, closed_ ? UpstreamStatus::kCancelled : UpstreamStatus::kRejected);
    return;
  }
  if (displaced) {
    // The queue is full and the biggest client's newest miss makes room for another client's.
    ++counters_.queue_full;
    ++counters_.queue_displaced;
    reject(displaced->handler, UpstreamStatus::kRejected);
  }
  ++counters_.queued;
  counters_.queue_peak = std::max<std::uint64_t>(counters_.queue_peak, queue_.size());
  rearm();
}

bool Forwarder::may_send_queued(std::int64_t now_ms) noexcept {
  if (!circuit_.open()) {
    if (limit_.try_acquire(now_ms, inflight_)) return true;
    ++counters_.limited;
    return false;
  }
  // A miss is a probe while the circuit is open: a slot of the probe budget, within the limits;
  // nothing goes when the operator has forced every server down.
  if (circuit_.all_forced_down()) return false;
  if (!limit_.would_admit(now_ms, inflight_) || !circuit_.claim_probe(now_ms)) return false;
  limit_.try_acquire(now_ms, inflight_);
  ++counters_.probes;
  return true;
}

void Forwarder::reject(AnswerHandler* handler, UpstreamStatus status) noexcept {
  handler->on_upstream_answer(status, {});
}

bool Forwarder::claim_degraded_refresh() noexcept {
  const std::int64_t now = clock_.monotonic_ms();
  if (now < next_degraded_refresh_ms_ || !admit()) return false;
  next_degraded_refresh_ms_ = now + options_.probe_interval.count();
  return true;
}

bool Forwarder::force_server(const std::string& address, bool down) noexcept {
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->name() != address) continue;
    spdlog::info("[{}] upstream {} marked {} by the operator", options_.name, address,
                 down ? "down" : "up");
    apply(circuit_.force(i, down, clock_.monotonic_ms()), i, "by the operator");
    rearm();
    return true;
  }
  return false;
}

void Forwarder::on_answer(std::size_t server, std::int64_t sent_ms, dns::Bytes query,
                          dns::Bytes response, std::uint64_t sent_ns) noexcept {
  const std::int64_t now = clock_.monotonic_ms();
  latency_.add(now - sent_ms);
  apply(circuit_.on_answer(server, now), server, "answered");
  if (query.empty()) return;  // a health check says nothing about the upstream's data
  auto header = dns::read_header(response);
  if (!header) return;
  const std::size_t slot = std::min<std::size_t>(header->rcode(), observe::kRcodeSlots - 1);
  ++metrics_[server].responses[slot];
  metrics_[server].durations[slot].observe(observe::kTimeBounds,
                                           static_cast<double>(uv_hrtime() - sent_ns) / 1e9);
  const auto rcode = static_cast<dns::Rcode>(header->rcode());
  if (rcode == dns::Rcode::kServFail) {
    if (servfail_.on_servfail(question_hash(query))) {
      ++counters_.degraded_periods;
      spdlog::info(
          "[{}] upstream degraded: SERVFAIL for {} different questions in a row; stale "
          "answers go out at once, at most one stale name is refreshed per {} ms",
          options_.name, servfail_.streak(), options_.probe_interval.count());
    }
  } else if (rcode == dns::Rcode::kNoError || rcode == dns::Rcode::kNxDomain) {
    if (servfail_.on_data()) spdlog::info("[{}] upstream resolves again", options_.name);
  }
}

void Forwarder::on_failure(std::size_t server, UpstreamStatus status,
                           std::int64_t sent_ms) noexcept {
  if (status == UpstreamStatus::kCancelled || status == UpstreamStatus::kOverLimit ||
      status == UpstreamStatus::kRejected) {
    circuit_.on_abandoned(server);
    return;
  }
  apply(circuit_.on_failure(server, clock_.monotonic_ms(), sent_ms), server, to_string(status));
}

void Forwarder::apply(CircuitChange change, std::size_t server, const char* why) noexcept {
  const std::string& name = servers_[server]->name();
  switch (change) {
    case CircuitChange::kNone:
      return;
    case CircuitChange::kOpened:
      ++counters_.circuit_opened;
      spdlog::info(
          "[{}] circuit open: every upstream is down (last: {}, {}); stale answers go "
          "out at once, probing every {} ms with at most {} probes",
          options_.name, name, why, options_.probe_interval.count(), options_.probes);
      break;
    case CircuitChange::kClosed:
      ++counters_.circuit_closed;
      spdlog::info("[{}] circuit closed: {} answered after {} ms down", options_.name, name,
                   clock_.monotonic_ms() - circuit_.opened_at_ms());
      if (listener_ != nullptr) listener_->on_circuit_closed(*this);
      if (!queue_.empty()) arm(0);
      break;
  }
}

void Forwarder::send_health_check(std::size_t server) noexcept {
  ++counters_.health_checks;
  try {
    (new HealthCheck(this, server))->send();
  } catch (...) {
  }
}

void Forwarder::tick() noexcept {
  if (closed_) return;
  const std::int64_t now = clock_.monotonic_ms();
  // Silence: queries outstanding and no answer for several round trips means unresponsive,
  // well before each query's own timeout.
  const std::int64_t silence = latency_.silence_ms(options_.attempt_timeout.count());
  while (auto server = circuit_.silent_server(now, silence)) {
    ++counters_.silences;
    const std::string reason = "no answer for " + std::to_string(silence) + " ms";
    apply(circuit_.mark_down(*server, now), *server, reason.c_str());
  }
  hedge(now);
  // A timed probe takes a token like any query (it never exceeds qps), not an in-flight slot.
  if (limit_.would_admit(now, 0)) {
    if (auto server = circuit_.timed_probe(now)) {
      limit_.try_acquire(now, 0);
      send_health_check(*server);
    }
  }
  pump(now);
  rearm();
}

void Forwarder::pump(std::int64_t now_ms) noexcept {
  while (!queue_.empty() && may_send_queued(now_ms)) {
    const AdmissionQueue::Entry entry = queue_.pop();
    send(entry.query, entry.handler, circuit_.open() ? Via::kProbe : Via::kNormal, entry.asked_ms);
  }
  std::vector<AdmissionQueue::Entry> expired;
  try {
    queue_.take_expired(now_ms, expired);
  } catch (...) {
  }
  for (const AdmissionQueue::Entry& entry : expired) {
    ++counters_.queue_expired;
    reject(entry.handler, UpstreamStatus::kRejected);
  }
  if (queue_.empty() && queue_saturated_) {
    queue_saturated_ = false;
    spdlog::info(
        "[{}] upstream queue drained: {} misses rejected while it was full, {} waits "
        "ran out so far",
        options_.name, rejected_while_saturated_, counters_.queue_expired);
  }
}

void Forwarder::arm(std::int64_t delay_ms) noexcept {
  if (closed_ || timer_.loop == nullptr) return;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) &&
      static_cast<std::int64_t>(uv_timer_get_due_in(&timer_)) <= delay_ms) {
    return;  // already due sooner
  }
  uv_timer_start(
      &timer_, [](uv_timer_t* t) noexcept { static_cast<Forwarder*>(t->data)->tick(); },
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, delay_ms)), 0);
}

void Forwarder::rearm() noexcept {
  const std::int64_t now = clock_.monotonic_ms();
  // Every delay is at least 1 ms: a probe that is due but has no slot, or a token that is there
  // while the in-flight bound is not, must not spin the loop.
  auto at_least_1 = [](std::int64_t ms) { return std::max<std::int64_t>(1, ms); };
  std::int64_t delay = -1;
  auto sooner = [&](std::int64_t ms) { delay = delay < 0 ? ms : std::min(delay, ms); };
  if (!queue_.empty()) {
    sooner(kTickMs);
    if (!circuit_.open()) sooner(at_least_1(limit_.next_admit_ms(now) - now));
    sooner(at_least_1(queue_.next_deadline_ms() - now));
  }
  if (circuit_.any_down()) {
    const std::int64_t due = circuit_.next_timed_probe_ms() - now;
    sooner(due > 0 ? due : kTickMs);
  }
  if (circuit_.outstanding() > 0) sooner(kTickMs);
  if (delay < 0) {
    if (timer_.loop != nullptr && !closed_) uv_timer_stop(&timer_);
    return;
  }
  arm(delay);
}

}  // namespace holdfast::upstream
