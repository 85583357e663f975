// Reading names files and encoding the drill's queries.
#include "names.h"

#include "dns/edns.h"
#include "dns/header.h"
#include "dns/name.h"
#include "rule.h"
#include "text.h"

namespace holdfast::dnsfault {

Result<WireQuery> make_query(std::string_view name, std::uint16_t qtype) {
  WireQuery q;
  q.name = std::string(name);
  q.qtype = qtype;
  std::string wire_name;
  if (!dns::text_to_wire(name, wire_name)) return fail(cat({"bad name '", name, "'"}));
  q.wire.resize(dns::kHeaderSize + wire_name.size() + 4);
  dns::Header header;
  header.flags = dns::flag::kRd;
  header.qdcount = 1;
  header.arcount = 1;
  dns::write_header(q.wire, header);
  std::copy(wire_name.begin(), wire_name.end(), q.wire.begin() + dns::kHeaderSize);
  q.question_end = q.wire.size();
  dns::write_u16(q.wire.data() + q.question_end - 4, qtype);
  dns::write_u16(q.wire.data() + q.question_end - 2, dns::kClassIn);
  const dns::OptToWrite opt;
  q.wire.resize(q.question_end + dns::opt_record_size(opt));
  dns::write_opt_record(q.wire, q.question_end, opt);
  return q;
}

Result<std::vector<WireQuery>> parse_names(std::string_view text, std::string_view source) {
  std::vector<WireQuery> out;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    auto where = [&] { return cat({source, ":", std::to_string(line_number), ": "}); };
    auto tokens = tokenize(line);
    if (!tokens) return fail(where() + tokens.error().message);
    if (tokens->empty()) continue;
    if (tokens->size() > 2) return fail(where() + "expected NAME [TYPE]");
    std::uint16_t qtype = dns::qtype::kA;
    if (tokens->size() == 2) {
      auto parsed = qtype_from_name((*tokens)[1]);
      if (!parsed) return fail(cat({where(), "unknown type '", (*tokens)[1], "'"}));
      qtype = *parsed;
    }
    auto query = make_query((*tokens)[0], qtype);
    if (!query) return fail(where() + query.error().message);
    out.push_back(std::move(*query));
  }
  if (out.empty()) return fail(cat({source, ": no names"}));
  return out;
}

}  // namespace holdfast::dnsfault
