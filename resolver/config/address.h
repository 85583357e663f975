// IP literals, ports and HOST:PORT listen addresses as Corefile arguments spell them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace holdfast::config {

// The canonical text of an IPv4 or IPv6 literal ("::0001" → "::1"); nullopt if it is not one.
// No brackets, no zone index, no hostnames.
std::optional<std::string> canonical_ip(std::string_view text);

// A decimal port 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text);

// `IP`, `IP:PORT`, `[IPv6]`, `[IPv6]:PORT`; a bare IPv6 literal takes the default port.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port);

// An HTTP listen address with a port: `:8080`, `IP:PORT`, `[IPv6]:PORT`, `localhost:PORT`.
bool is_listen_address(std::string_view text);

// "1.2.3.4:53" or "[::1]:53".
std::string format_endpoint(const Endpoint& endpoint);

}  // namespace holdfast::config
