// The last step of every answer from the cache or the upstream, on any loop: the rendered answer
// becomes this client's reply (its ID, its spelling of the name, its RD/CD, EDNS as it asked,
// truncated to what it can take over UDP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/message.h"
#include "dns/wire.h"
#include "server/client.h"

namespace holdfast::server {

struct FinishedReply {
  std::size_t length = 0;
  bool truncated = false;  // TC=1: larger than the client's UDP limit
};

// `out` holds an answer of `length` bytes whose question ends at `question_end`; `packet` and
// `query` are the client's. `ede` is added to the OPT record (when the client sent one).
FinishedReply finish_reply(dns::MutableBytes out, std::size_t length, std::size_t question_end,
                           dns::Bytes packet, const dns::QueryView& query, Transport transport,
                           std::size_t max_udp_payload, std::optional<std::uint16_t> ede) noexcept;

}  // namespace holdfast::server
