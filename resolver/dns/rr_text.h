// Resource records in presentation format (RFC 1035 §5.1), for people: `holdfastctl lookup`.
// Not on the query path: it allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/wire.h"

namespace holdfast::dns {

// "owner TTL CLASS TYPE RDATA" for every answer and authority record of `message` (OPT and the
// additional section left out). Known types are spelled out; others as RFC 3597 `\# LEN HEX`.
// Empty when the message does not parse.
std::vector<std::string> records_as_text(Bytes message);

// "A", "AAAA", ... or "TYPE65280"; and the reverse (nullopt for an unknown mnemonic).
std::string type_to_text(std::uint16_t type);
std::optional<std::uint16_t> text_to_type(std::string_view text);

}  // namespace holdfast::dns
