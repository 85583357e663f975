// The drill's query list: a names file (one name per line, an optional QTYPE after it, `#`
// comments) and the wire queries built from it once, before the load starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace holdfast::dnsfault {

struct WireQuery {
  std::string name;  // as written in the file
  std::uint16_t qtype = 0;
  std::vector<std::uint8_t> wire;  // ID 0, RD, EDNS(0) OPT with a 1232-byte payload
  std::size_t question_end = 0;    // offset just past QCLASS
};

// Errors read "SOURCE:LINE: ...". An empty list is an error.
Result<std::vector<WireQuery>> parse_names(std::string_view text, std::string_view source);

// One query as a stub resolver sends it: RD=1, one question (class IN), an OPT record so that
// Extended DNS Errors (stale answers) can come back.
Result<WireQuery> make_query(std::string_view name, std::uint16_t qtype);

}  // namespace holdfast::dnsfault
