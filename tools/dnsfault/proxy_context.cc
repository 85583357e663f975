// Parsing a client's query and deciding its fault, shared by the UDP and TCP proxies.
#include "proxy_context.h"

#include "actions.h"

namespace holdfast::dnsfault {

Classified classify(ProxyContext& context, dns::Bytes packet, Transport transport) noexcept {
  Stats& stats = context.stats;
  stats.count_received(monotonic_ms(), transport == Transport::kTcp);
  Classified out;
  out.parsed = dns::parse_query(packet);
  switch (out.parsed.error) {
    case dns::QueryError::kNone:
      break;
    case dns::QueryError::kNoHeader:
    case dns::QueryError::kIsResponse:
      stats.dropped_invalid.fetch_add(1, std::memory_order_relaxed);
      out.kind = Classified::Kind::kInvalid;
      return out;
    case dns::QueryError::kNotImplemented:
    case dns::QueryError::kMalformed:
      // Rules match questions; without one the upstream gets to say FORMERR or NOTIMP itself.
      stats.unparseable.fetch_add(1, std::memory_order_relaxed);
      out.kind = Classified::Kind::kUnparseable;
      return out;
  }
  out.kind = Classified::Kind::kQuery;
  std::array<char, kMaxNameText> name_buf;
  QueryFacts facts;
  facts.name = name_for_rules(packet, out.parsed.query.question.name, name_buf);
  facts.qtype = out.parsed.query.question.qtype;
  facts.transport = transport;
  const RuleView::Snapshot& snapshot = context.rules.refresh();
  out.decision = context.engine.decide(*snapshot.rules, snapshot.version, facts);
  stats.count_action(out.decision.kind);
  return out;
}

}  // namespace holdfast::dnsfault
