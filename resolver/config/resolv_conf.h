// The nameservers of a resolv.conf file, as forward targets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace holdfast::config {

// Every `nameserver IP` line, in order, on port 53. Comments start with '#' or ';'; lines that
// are not nameservers, and nameservers that are not IP literals (IPv6 with a %zone), are skipped
// as glibc skips what it cannot use. All are kept (CoreDNS ignores glibc's limit of 3).
std::vector<Endpoint> parse_resolv_conf(std::string_view text);

// parse_resolv_conf over a file; Error "cannot read 'PATH': REASON".
Result<std::vector<Endpoint>> read_resolv_conf(const std::string& path);

}  // namespace holdfast::config
