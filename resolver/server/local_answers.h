// Answers given without the cache or the upstream, from the query alone:
// - CHAOS-class questions (version.bind and friends) answered from the block's `chaos` directive,
//   and refused without it: they reveal the software or the host, and are never forwarded.
// - qtype ANY (RFC 8482 §4.2): one synthesized HINFO "RFC8482" "", so the daemon is no ANY
//   amplifier and no ANY query reaches the upstream.
#pragma once

#include <cstddef>
#include <string_view>

#include "config/config.h"
#include "dns/message.h"

namespace holdfast::server {

inline constexpr std::uint16_t kClassChaos = 3;

enum class LocalKind : std::uint8_t {
  kNone,    // not ours: the pipeline goes on
  kAnswer,  // a reply is written
  kRefuse,  // answer REFUSED (a CHAOS question nobody configured)
};

struct LocalAnswer {
  LocalKind kind = LocalKind::kNone;
  std::size_t length = 0;  // of the reply in `out` when kind is kAnswer
};

// `block` is the zone's block (null when no zone takes the name); `version` names the daemon
// ("holdfast-0.1.0") for `chaos` without a VERSION; `hostname` answers hostname.bind/id.server.
// `out` receives the whole reply (header, the client's question, one answer, OPT when the client
// sent one); its ID, flags and question are the client's.
LocalAnswer answer_locally(dns::Bytes packet, const dns::ParsedQuery& parsed,
                           const config::ServerBlock* block, std::string_view version,
                           std::string_view hostname, dns::MutableBytes out) noexcept;

}  // namespace holdfast::server
