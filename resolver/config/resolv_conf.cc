// resolv.conf(5) nameserver lines.
#include "config/resolv_conf.h"

#include <sstream>

#include "config/address.h"
#include "config/text_file.h"

namespace holdfast::config {

std::vector<Endpoint> parse_resolv_conf(std::string_view text) {
  std::vector<Endpoint> servers;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    if (const std::size_t comment = line.find_first_of("#;"); comment != std::string::npos) {
      line.erase(comment);
    }
    std::istringstream words(line);
    std::string keyword;
    std::string address;
    if (!(words >> keyword >> address) || keyword != "nameserver") continue;
    if (std::optional<std::string> ip = canonical_ip(address)) servers.push_back({*ip, 53});
  }
  return servers;
}

Result<std::vector<Endpoint>> read_resolv_conf(const std::string& path) {
  Result<std::string> text = read_text_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_resolv_conf(*text);
}

}  // namespace holdfast::config
