// Tokenising and the scalar parsers behind every text form dnsfault reads.
#include "text.h"

#include <netinet/in.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/uv_util.h"

namespace holdfast::dnsfault {
namespace {

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

Result<std::vector<std::string>> tokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i >= line.size() || line[i] == '#') break;
    if (line[i] == ';') {  // a rule separator, even when glued to a word
      tokens.emplace_back(";");
      ++i;
      continue;
    }
    std::string token;
    while (i < line.size() && !is_blank(line[i]) && line[i] != ';') {
      const char c = line[i];
      if (c == '\'' || c == '"') {
        const std::size_t close = line.find(c, i + 1);
        if (close == std::string_view::npos) {
          return fail(std::string("unterminated ") + (c == '"' ? "double" : "single") + " quote");
        }
        token.append(line.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        token.push_back(c);
        ++i;
      }
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

std::string cat(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string quote_token(std::string_view token) {
  bool plain = !token.empty() && token.front() != '#';
  for (char c : token) {
    // Glob characters are quoted too, so that printed rules paste safely into a shell.
    if (is_blank(c) || c == '\'' || c == '"' || c == ';' || c == '*' || c == '?') plain = false;
  }
  if (plain) return std::string(token);
  if (token.find('\'') == std::string_view::npos) return cat({"'", token, "'"});
  return cat({"\"", token, "\""});
}

std::optional<double> parse_double(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value > max) return std::nullopt;
  return value;
}

Result<std::uint64_t> parse_duration_ms(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    double ms;
  };
  // Longest suffix first: "ms" before "s".
  static constexpr Unit kUnits[] = {{"ms", 1.0}, {"s", 1000.0}, {"m", 60000.0}, {"h", 3600000.0}};
  double scale = 1000.0;
  std::string_view number = text;
  for (const Unit& unit : kUnits) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      scale = unit.ms;
      break;
    }
  }
  auto value = parse_double(number);
  constexpr double kMaxMs = 1e12;  // ~31 years: anything above is a typo
  if (!value || *value < 0 || *value * scale > kMaxMs) {
    return fail("bad duration '" + std::string(text) + "' (expected e.g. 500ms, 10s, 1.5m, 2h)");
  }
  return static_cast<std::uint64_t>(std::llround(*value * scale));
}

std::string format_duration_ms(std::uint64_t ms) {
  if (ms % 1000 != 0) {
    if (ms < 1000) return std::to_string(ms) + "ms";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms) / 1000.0);
    std::string s(buf);
    while (s.back() == '0') s.pop_back();
    return s + "s";
  }
  return std::to_string(ms / 1000) + "s";
}

Result<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("bad address '" + std::string(text) + "' (expected [IPv6]:PORT)");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return fail("bad address '" + std::string(text) +
                  "' (expected IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:5300)");
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  auto port = parse_uint(port_text, 65535);
  if (!port || *port == 0) return fail("bad port in '" + std::string(text) + "'");
  out.port = static_cast<unsigned>(*port);
  return out;
}

Result<sockaddr_storage> parse_socket_address(std::string_view text) {
  auto hp = parse_host_port(text);
  if (!hp) return tl::unexpected(hp.error());
  sockaddr_storage addr;
  if (auto ok = make_address(hp->host, hp->port, addr); !ok) {
    return fail("bad address '" + std::string(text) + "': " + ok.error().message);
  }
  return addr;
}

bool is_loopback(const sockaddr* addr) noexcept {
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return false;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace holdfast::dnsfault
