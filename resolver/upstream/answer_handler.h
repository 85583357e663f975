// How upstream results are delivered: a status and, for kAnswer, the response bytes.
#pragma once

#include <cstdint>

#include "dns/wire.h"

namespace holdfast::upstream {

enum class UpstreamStatus : std::uint8_t {
  kAnswer,             // a response arrived (any rcode); bytes are valid during the call
  kTimeout,            // nothing came back in time
  kConnectionRefused,  // ICMP port unreachable / TCP RST
  kError,              // any other network or protocol failure
  kCancelled,          // the channel is shutting down
  kOverLimit,          // refused locally: max_concurrent reached
  kRejected,           // not sent: the admission queue was full or the wait ran out
};

const char* to_string(UpstreamStatus status) noexcept;

// Implemented by whoever waits for an upstream answer. Called exactly once per request, on the
// loop that owns the channel. `response` is a view valid only during the call.
class AnswerHandler {
 public:
  virtual void on_upstream_answer(UpstreamStatus status, dns::Bytes response) noexcept = 0;

 protected:
  ~AnswerHandler() = default;
};

}  // namespace holdfast::upstream
