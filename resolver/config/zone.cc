// Zone name normalisation and validation (RFC 1035 §2.3.4 length limits).
#include "config/zone.h"

#include <cctype>

namespace holdfast::config {
namespace {

constexpr std::size_t kMaxLabelLength = 63;
constexpr std::size_t kMaxNameLength = 253;  // presentation form without the final dot

bool is_forbidden(unsigned char ch) {
  return std::isspace(ch) != 0 || std::iscntrl(ch) != 0 || ch == '/' || ch == ':' || ch == '[' ||
         ch == ']' || ch == '@' || ch == '"';
}

}  // namespace

std::optional<std::string> normalize_zone(std::string_view text) {
  if (text.empty() || text == ".") return ".";
  if (text.ends_with('.')) text.remove_suffix(1);
  if (text.size() > kMaxNameLength) return std::nullopt;
  std::string zone;
  std::size_t label_length = 0;
  for (const char raw : text) {
    const auto ch = static_cast<unsigned char>(raw);
    if (is_forbidden(ch)) return std::nullopt;
    if (ch == '.') {
      if (label_length == 0) return std::nullopt;
      label_length = 0;
    } else if (++label_length > kMaxLabelLength) {
      return std::nullopt;
    }
    zone += static_cast<char>(std::tolower(ch));
  }
  if (label_length == 0) return std::nullopt;
  return zone + ".";
}

}  // namespace holdfast::config
