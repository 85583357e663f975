// What the UDP and TCP proxies share on their loop: the rules view, the decision engine, the
// counters, the ICMP sender and the upstream's address; and the first step of every query,
// classify(), which parses it and asks the engine what to do with it.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include <uv.h>

#include "dns/message.h"
#include "engine.h"
#include "icmp.h"
#include "rule_store.h"
#include "stats.h"

namespace holdfast::dnsfault {

struct ProxyContext {
  uv_loop_t* loop = nullptr;
  RuleView& rules;
  FaultEngine& engine;
  Stats& stats;
  IcmpRefuser& icmp;  // may be closed: refuse-connection over UDP then drops
  sockaddr_storage upstream{};
  std::uint32_t upstream_timeout_ms = 5000;
};

struct Classified {
  enum class Kind : std::uint8_t {
    kQuery,        // parsed: `decision` says what to do
    kUnparseable,  // has a header and is not a response: passed through, no rule applies
    kInvalid,      // < 12 bytes or QR=1: dropped
  };
  Kind kind = Kind::kInvalid;
  dns::ParsedQuery parsed;
  Decision decision;
};

// Counts the query as received (and its action or its being unparseable/invalid) and decides.
// Loop thread only.
Classified classify(ProxyContext& context, dns::Bytes packet, Transport transport) noexcept;

}  // namespace holdfast::dnsfault
