// Reading and encoding the query file.
#include "load/query_set.h"

#include <fstream>
#include <sstream>

#include "dns/name.h"
#include "dns/rr_text.h"
#include "dns/wire.h"

namespace holdfast::bench {

tl::expected<QuerySet, std::string> QuerySet::load(const std::string& path, Edns edns) {
  std::ifstream in(path);
  if (!in) return tl::unexpected("cannot open query file " + path);
  QuerySet set;
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream fields(line);
    std::string name, type_text;
    if (!(fields >> name) || name[0] == ';' || name[0] == '#') continue;
    fields >> type_text;
    const auto type = dns::text_to_type(type_text.empty() ? std::string_view("A") : type_text);
    if (!type)
      return tl::unexpected(path + ":" + std::to_string(line_no) + ": unknown type " + type_text);
    if (!set.add(name, *type, edns)) {
      return tl::unexpected(path + ":" + std::to_string(line_no) + ": bad name " + name);
    }
  }
  if (set.size() == 0) return tl::unexpected("no queries in " + path);
  return set;
}

// FORMAT: RFC 1035 §4.1 header + question; RFC 6891 §6.1.2 OPT (payload 1232, no options).
bool QuerySet::add(const std::string& name, std::uint16_t type, Edns edns) {
  std::string qname;
  if (!dns::text_to_wire(name, qname)) return false;
  std::uint8_t header[kHeaderLen] = {};
  dns::write_u16(header + 2, dns::flag::kRd);
  dns::write_u16(header + 4, 1);
  if (edns == Edns::kOn) dns::write_u16(header + 10, 1);
  const std::size_t start = bytes_.size();
  bytes_.insert(bytes_.end(), header, header + kHeaderLen);
  bytes_.insert(bytes_.end(), qname.begin(), qname.end());
  std::uint8_t tail[4];
  dns::write_u16(tail, type);
  dns::write_u16(tail + 2, dns::kClassIn);
  bytes_.insert(bytes_.end(), tail, tail + 4);
  if (edns == Edns::kOn) {
    const std::uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    bytes_.insert(bytes_.end(), opt, opt + sizeof opt);
  }
  offsets_.push_back(static_cast<std::uint32_t>(start));
  lengths_.push_back(static_cast<std::uint16_t>(bytes_.size() - start));
  question_lens_.push_back(static_cast<std::uint16_t>(qname.size() + 4));
  return true;
}

}  // namespace holdfast::bench
