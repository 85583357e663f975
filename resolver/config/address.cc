// IP literal, port and listen address parsing over inet_pton(3).
#include "config/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace holdfast::config {
namespace {

bool is_ipv6(std::string_view text) {
  return text.find(':') != std::string_view::npos;
}

std::optional<std::string> strip_brackets(std::string_view text) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return std::nullopt;
  return std::string(text.substr(1, text.size() - 2));
}

}  // namespace

std::optional<std::string> canonical_ip(std::string_view text) {
  const std::string copy(text);
  const int family = is_ipv6(text) ? AF_INET6 : AF_INET;
  unsigned char binary[sizeof(in6_addr)];
  if (::inet_pton(family, copy.c_str(), binary) != 1) return std::nullopt;
  char out[INET6_ADDRSTRLEN];
  if (::inet_ntop(family, binary, out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  if (auto ip = canonical_ip(text)) return Endpoint{*ip, default_port};
  if (auto inner = strip_brackets(text); inner && is_ipv6(*inner)) {
    if (auto ip = canonical_ip(*inner)) return Endpoint{*ip, default_port};
    return std::nullopt;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::optional<std::uint16_t> port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  if (auto inner = strip_brackets(host)) {
    if (!is_ipv6(*inner)) return std::nullopt;
    if (auto ip = canonical_ip(*inner)) return Endpoint{*ip, *port};
    return std::nullopt;
  }
  if (is_ipv6(host)) return std::nullopt;  // IPv6 with a port needs brackets
  if (auto ip = canonical_ip(host)) return Endpoint{*ip, *port};
  return std::nullopt;
}

bool is_listen_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || !parse_port(text.substr(colon + 1))) return false;
  const std::string_view host = text.substr(0, colon);
  if (host.empty() || host == "localhost") return true;
  if (auto inner = strip_brackets(host)) return is_ipv6(*inner) && canonical_ip(*inner);
  return !is_ipv6(host) && canonical_ip(host);
}

std::string format_endpoint(const Endpoint& endpoint) {
  const std::string port = std::to_string(endpoint.port);
  if (is_ipv6(endpoint.host)) return "[" + endpoint.host + "]:" + port;
  return endpoint.host + ":" + port;
}

}  // namespace holdfast::config
