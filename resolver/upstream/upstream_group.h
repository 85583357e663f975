// What the query pipeline asks of a block's upstreams, as an interface: the Forwarder implements
// it over c-ares; tests put a scripted group in its place (tests/server/query_pipeline_test.cc).
#pragma once

#include <cstdint>

#include "dns/wire.h"
#include "upstream/answer_handler.h"

namespace holdfast::upstream {

// Loop-bound, like its implementations.
class UpstreamGroup {
 public:
  // True when a lower-cased wire name is inside FROM and outside every `except` zone.
  virtual bool covers(dns::Bytes lower_name) const noexcept = 0;
  // For a question with stale data to fall back on: true, taking a token, when it may go
  // upstream now. Then call resolve().
  virtual bool admit() noexcept = 0;
  // Resolves `query` (copied); `handler` is called once.
  virtual void resolve(dns::Bytes query, AnswerHandler* handler) = 0;
  // For a miss: sends now or queues until the limits allow; `query` must live until the handler
  // runs. `client` identifies who asked (0: the daemon itself).
  virtual void submit(dns::Bytes query, AnswerHandler* handler, std::uint64_t client) = 0;
  // Every server is down.
  virtual bool circuit_open() const noexcept = 0;
  // The upstream answers SERVFAIL to every question.
  virtual bool degraded() const noexcept = 0;
  // verify mode: how long a client waits for a fresh answer before its stale one, at most cap.
  virtual std::int64_t stale_wait_ms(std::int64_t cap_ms) const noexcept = 0;
  // While degraded: true for one refresh of a stale name per probe interval.
  virtual bool claim_degraded_refresh() noexcept = 0;

 protected:
  ~UpstreamGroup() = default;
};

}  // namespace holdfast::upstream
