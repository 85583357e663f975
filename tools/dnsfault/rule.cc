// Parsing, printing and matching fault rules: the single definition of the rule grammar.
#include "rule.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "text.h"

namespace holdfast::dnsfault {
namespace {

constexpr std::uint32_t kMaxDelayMs = 600'000;        // 10 minutes: longer is a typo
constexpr std::uint32_t kMaxTtlSeconds = 0x7fffffff;  // RFC 2181 §8

constexpr std::array<std::string_view, kActionKindCount> kActionNames = {
    "pass",     "blackhole", "refuse-connection", "delay", "rcode", "nodata",
    "truncate", "loss",      "burst-loss",        "ttl",   "garble"};

constexpr std::string_view kActionList =
    "pass, blackhole, refuse-connection, delay, rcode, nodata, truncate, loss, burst-loss, ttl, "
    "garble";

struct NamedQtype {
  std::string_view name;
  std::uint16_t value;
};
constexpr NamedQtype kQtypes[] = {{"A", dns::qtype::kA},
                                  {"NS", dns::qtype::kNs},
                                  {"CNAME", dns::qtype::kCname},
                                  {"SOA", dns::qtype::kSoa},
                                  {"PTR", dns::qtype::kPtr},
                                  {"MX", dns::qtype::kMx},
                                  {"TXT", dns::qtype::kTxt},
                                  {"AAAA", dns::qtype::kAaaa},
                                  {"SRV", dns::qtype::kSrv},
                                  {"OPT", dns::qtype::kOpt},
                                  {"RRSIG", dns::qtype::kRrsig},
                                  {"IXFR", dns::qtype::kIxfr},
                                  {"AXFR", dns::qtype::kAxfr},
                                  {"ANY", dns::qtype::kAny},
                                  {"HTTPS", 65},
                                  {"SVCB", 64},
                                  {"CAA", 257},
                                  {"DS", 43},
                                  {"DNSKEY", 48}};

struct NamedRcode {
  std::string_view name;
  dns::Rcode value;
};
constexpr NamedRcode kRcodes[] = {{"SERVFAIL", dns::Rcode::kServFail},
                                  {"REFUSED", dns::Rcode::kRefused},
                                  {"NXDOMAIN", dns::Rcode::kNxDomain},
                                  {"FORMERR", dns::Rcode::kFormErr},
                                  {"NOTIMP", dns::Rcode::kNotImp}};

char upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}
char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return upper(x) == upper(y); });
}

std::string lower_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// The shortest text that reads back as the same double.
std::string format_number(double value) {
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, ptr) : std::to_string(value);
}

// "50", "50%", "12.5" -> percent in [0, 100].
std::optional<double> parse_percent(std::string_view text) {
  if (text.ends_with('%')) text.remove_suffix(1);
  auto value = parse_double(text);
  if (!value || *value < 0 || *value > 100) return std::nullopt;
  return value;
}

// "0.25" or "25%" -> probability in [0, 1].
std::optional<double> parse_probability(std::string_view text) {
  if (text.ends_with('%')) {
    auto percent = parse_percent(text);
    if (!percent) return std::nullopt;
    return *percent / 100.0;
  }
  auto value = parse_double(text);
  if (!value || *value < 0 || *value > 1) return std::nullopt;
  return value;
}

// "800" (ms) or "800ms", "1.5s".
std::optional<std::uint32_t> parse_delay(std::string_view text) {
  if (auto ms = parse_uint(text, kMaxDelayMs)) return static_cast<std::uint32_t>(*ms);
  auto ms = parse_duration_ms(text);
  if (!ms || *ms > kMaxDelayMs) return std::nullopt;
  return static_cast<std::uint32_t>(*ms);
}

Result<Match> parse_pattern(std::string_view text, Match match) {
  std::string p = lower_copy(text);
  if (p.empty()) return fail("--match needs a pattern");
  if (p == "*") {
    match.kind = MatchKind::kAll;
    match.pattern.clear();
    return match;
  }
  if (p.find_first_of("*?") != std::string::npos) {
    match.kind = MatchKind::kGlob;
  } else if (p.front() == '.') {
    match.kind = MatchKind::kSuffix;
    p.erase(0, 1);
  } else {
    match.kind = MatchKind::kExact;
  }
  if (!p.empty() && p.back() == '.') p.pop_back();
  if (p.find("..") != std::string::npos || (!p.empty() && p.front() == '.') || p.size() > 253) {
    return fail("bad name pattern '" + std::string(text) + "'");
  }
  match.pattern = std::move(p);
  if (match.kind == MatchKind::kSuffix && match.pattern.empty()) match.kind = MatchKind::kAll;
  return match;
}

Result<void> parse_qtypes(std::string_view text, std::vector<std::uint16_t>& out) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    auto qtype = qtype_from_name(item);
    if (!qtype) return fail("unknown QTYPE '" + std::string(item) + "' in --qtype");
    if (std::find(out.begin(), out.end(), *qtype) == out.end()) out.push_back(*qtype);
    start = comma + 1;
  }
  return {};
}

std::string join_tokens(std::span<const std::string> tokens) {
  std::string out;
  for (const std::string& token : tokens) {
    if (!out.empty()) out += ' ';
    out += quote_token(token);
  }
  return out;
}

// Argument parsers, one per action: false when `args` do not fit the action's grammar.
using Args = std::span<const std::string>;

bool no_args(Args args, Action&) {
  return args.empty();
}

bool delay_args(Args args, Action& a) {
  std::size_t i = 0;
  std::optional<std::uint32_t> numbers[2];
  for (; i < args.size() && i < 2; ++i) {
    numbers[i] = parse_delay(args[i]);
    if (!numbers[i]) break;
  }
  if (!numbers[0]) return false;
  a.delay_ms = *numbers[0];
  a.jitter_ms = numbers[1].value_or(0);
  if (i == args.size()) return true;
  const std::string d = lower_copy(args[i]);
  if (d == "uniform")
    a.distribution = Distribution::kUniform;
  else if (d == "normal")
    a.distribution = Distribution::kNormal;
  else if (d == "pareto")
    a.distribution = Distribution::kPareto;
  else
    return false;
  return i + 1 == args.size();
}

bool rcode_args(Args args, Action& a) {
  if (args.size() != 1) return false;
  for (const NamedRcode& r : kRcodes) {
    if (iequals(r.name, args[0])) {
      a.rcode = r.value;
      return true;
    }
  }
  return false;
}

bool loss_args(Args args, Action& a) {
  auto percent = args.size() == 1 ? parse_percent(args[0]) : std::nullopt;
  if (percent) a.loss_percent = *percent;
  return percent.has_value();
}

bool burst_loss_args(Args args, Action& a) {
  auto p = args.size() == 2 ? parse_percent(args[0]) : std::nullopt;
  auto r = args.size() == 2 ? parse_percent(args[1]) : std::nullopt;
  if (!p || !r) return false;
  a.good_to_bad_percent = *p;
  a.bad_to_good_percent = *r;
  return true;
}

bool ttl_args(Args args, Action& a) {
  auto ttl = args.size() == 1 ? parse_uint(args[0], kMaxTtlSeconds) : std::nullopt;
  if (ttl) a.ttl_seconds = static_cast<std::uint32_t>(*ttl);
  return ttl.has_value();
}

bool garble_args(Args args, Action& a) {
  if (args.empty()) return true;
  if (args.size() != 1) return false;
  const std::string m = lower_copy(args[0]);
  if (m == "id") a.garble = GarbleMode::kWrongId;
  if (m == "question") a.garble = GarbleMode::kWrongQuestion;
  if (m == "short") a.garble = GarbleMode::kCutShort;
  return m == "any" || a.garble != GarbleMode::kAny;
}

struct ActionGrammar {
  bool (*parse)(Args, Action&);
  std::string_view usage;
};

// Indexed by ActionKind.
constexpr std::array<ActionGrammar, kActionKindCount> kGrammar = {{
    {no_args, "takes no arguments"},
    {no_args, "takes no arguments"},
    {no_args, "takes no arguments"},
    {delay_args, "expects MS [JITTER_MS] [uniform|normal|pareto], MS <= 600000"},
    {rcode_args, "expects one of SERVFAIL, REFUSED, NXDOMAIN, FORMERR, NOTIMP"},
    {no_args, "takes no arguments"},
    {no_args, "takes no arguments"},
    {loss_args, "expects PERCENT in [0, 100]"},
    {burst_loss_args,
     "expects P_GOOD_TO_BAD R_BAD_TO_GOOD, both percents in [0, 100] (Gilbert–Elliott; mean "
     "loss = P/(P+R))"},
    {ttl_args, "expects SECONDS in [0, 2147483647]"},
    {garble_args, "expects [id|question|short|any]"},
}};

Result<Action> parse_action(Args words) {
  const std::string& name = words[0];
  const auto* const found = std::find(kActionNames.begin(), kActionNames.end(), lower_copy(name));
  if (found == kActionNames.end()) {
    return fail(cat({"unknown action '", name, "' (expected one of: ", kActionList, ")"}));
  }
  Action action;
  action.kind = static_cast<ActionKind>(found - kActionNames.begin());
  const ActionGrammar& grammar = kGrammar[static_cast<std::size_t>(action.kind)];
  if (!grammar.parse(words.subspan(1), action)) {
    return fail(
        cat({action_name(action.kind), " ", grammar.usage, " (got '", join_tokens(words), "')"}));
  }
  return action;
}

}  // namespace

std::string_view action_name(ActionKind kind) noexcept {
  return kActionNames[static_cast<std::size_t>(kind)];
}

std::string_view transport_name(Transport transport) noexcept {
  switch (transport) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kAny:
      break;
  }
  return "any";
}

std::string_view rcode_name(dns::Rcode rcode) noexcept {
  for (const NamedRcode& r : kRcodes) {
    if (r.value == rcode) return r.name;
  }
  return rcode == dns::Rcode::kNoError ? "NOERROR" : "RCODE?";
}

std::string qtype_name(std::uint16_t qtype) {
  for (const NamedQtype& q : kQtypes) {
    if (q.value == qtype) return std::string(q.name);
  }
  return "TYPE" + std::to_string(qtype);
}

std::optional<std::uint16_t> qtype_from_name(std::string_view text) {
  for (const NamedQtype& q : kQtypes) {
    if (iequals(q.name, text)) return q.value;
  }
  std::string_view digits = text;
  if (text.size() > 4 && iequals(text.substr(0, 4), "TYPE")) digits = text.substr(4);
  auto value = parse_uint(digits, 65535);
  if (!value) return std::nullopt;
  return static_cast<std::uint16_t>(*value);
}

Result<Rule> parse_rule(std::span<const std::string> tokens) {
  Rule rule;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (!token.starts_with("--")) {
      words.push_back(token);
      continue;
    }
    std::string option = token;
    std::string value;
    if (const std::size_t eq = token.find('='); eq != std::string::npos) {
      option = token.substr(0, eq);
      value = token.substr(eq + 1);
    } else {
      if (i + 1 >= tokens.size()) return fail("option " + token + " needs a value");
      value = tokens[++i];
    }
    if (option == "--match") {
      auto match = parse_pattern(value, rule.match);
      if (!match) return tl::unexpected(match.error());
      rule.match = std::move(*match);
    } else if (option == "--qtype") {
      if (auto ok = parse_qtypes(value, rule.match.qtypes); !ok) return tl::unexpected(ok.error());
    } else if (option == "--transport") {
      const std::string t = lower_copy(value);
      if (t == "udp") {
        rule.match.transport = Transport::kUdp;
      } else if (t == "tcp") {
        rule.match.transport = Transport::kTcp;
      } else if (t == "any") {
        rule.match.transport = Transport::kAny;
      } else {
        return fail("--transport expects udp, tcp or any (got '" + value + "')");
      }
    } else if (option == "--probability") {
      auto p = parse_probability(value);
      if (!p)
        return fail("--probability expects a number in [0, 1] or a percent (got '" + value + "')");
      rule.probability = *p;
    } else {
      return fail("unknown option '" + option +
                  "' (expected --match, --qtype, --transport or --probability)");
    }
  }
  if (words.empty()) return fail("no action (expected one of: " + std::string(kActionList) + ")");
  auto action = parse_action(words);
  if (!action) return tl::unexpected(action.error());
  rule.action = *action;
  return rule;
}

Result<Rule> parse_rule_text(std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens) return tl::unexpected(tokens.error());
  if (std::find(tokens->begin(), tokens->end(), ";") != tokens->end()) {
    return fail("one rule expected, found ';'");
  }
  return parse_rule(*tokens);
}

Result<RuleSet> parse_rule_list(std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens) return tl::unexpected(tokens.error());
  return parse_rule_list(std::span<const std::string>(*tokens));
}

Result<RuleSet> parse_rule_list(std::span<const std::string> tokens) {
  RuleSet rules;
  std::vector<std::string> current;
  auto flush = [&]() -> Result<void> {
    if (current.empty()) return fail("empty rule (stray ';'?)");
    auto rule = parse_rule(current);
    if (!rule) return fail(cat({"'", join_tokens(current), "': ", rule.error().message}));
    rules.push_back(std::move(*rule));
    current.clear();
    return {};
  };
  if (tokens.empty()) return fail("no rule");
  for (const std::string& token : tokens) {
    if (token == ";") {
      if (auto ok = flush(); !ok) return tl::unexpected(ok.error());
    } else {
      current.push_back(token);
    }
  }
  if (auto ok = flush(); !ok) return tl::unexpected(ok.error());
  // A lone unconditional `pass` is pass-through: the empty set says so plainly.
  if (rules.size() == 1 && !is_fault(rules) && rules[0].match.kind == MatchKind::kAll &&
      rules[0].match.qtypes.empty() && rules[0].match.transport == Transport::kAny) {
    rules.clear();
  }
  return rules;
}

Result<RuleSet> parse_rules_file(std::string_view text, std::string_view source) {
  RuleSet rules;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    auto tokens = tokenize(line);
    if (tokens && tokens->empty()) continue;  // blank or comment
    auto parsed = tokens ? parse_rule_list(line) : Result<RuleSet>(tl::unexpected(tokens.error()));
    if (!parsed) {
      return fail(std::string(source) + ":" + std::to_string(line_number) + ": " +
                  parsed.error().message);
    }
    if (parsed->empty()) {
      // `pass` on its own line: an explicit pass-through rule; keep it (later lines are shadowed).
      rules.push_back(Rule{});
    }
    rules.insert(rules.end(), parsed->begin(), parsed->end());
  }
  return rules;
}

std::vector<std::string> rule_tokens(const Rule& rule) {
  std::vector<std::string> t;
  const Action& a = rule.action;
  t.emplace_back(action_name(a.kind));
  switch (a.kind) {
    case ActionKind::kDelay:
      t.push_back(std::to_string(a.delay_ms));
      if (a.jitter_ms != 0 || a.distribution != Distribution::kUniform) {
        t.push_back(std::to_string(a.jitter_ms));
      }
      if (a.distribution == Distribution::kNormal) t.emplace_back("normal");
      if (a.distribution == Distribution::kPareto) t.emplace_back("pareto");
      break;
    case ActionKind::kRcode:
      t.emplace_back(rcode_name(a.rcode));
      break;
    case ActionKind::kLoss:
      t.push_back(format_number(a.loss_percent));
      break;
    case ActionKind::kBurstLoss:
      t.push_back(format_number(a.good_to_bad_percent));
      t.push_back(format_number(a.bad_to_good_percent));
      break;
    case ActionKind::kTtl:
      t.push_back(std::to_string(a.ttl_seconds));
      break;
    case ActionKind::kGarble:
      if (a.garble == GarbleMode::kWrongId) t.emplace_back("id");
      if (a.garble == GarbleMode::kWrongQuestion) t.emplace_back("question");
      if (a.garble == GarbleMode::kCutShort) t.emplace_back("short");
      break;
    default:
      break;
  }
  const Match& m = rule.match;
  if (m.kind != MatchKind::kAll) {
    t.emplace_back("--match");
    t.push_back(m.kind == MatchKind::kSuffix ? "." + m.pattern : m.pattern);
  }
  if (!m.qtypes.empty()) {
    std::string list;
    for (std::uint16_t q : m.qtypes) {
      if (!list.empty()) list += ',';
      list += qtype_name(q);
    }
    t.emplace_back("--qtype");
    t.push_back(std::move(list));
  }
  if (m.transport != Transport::kAny) {
    t.emplace_back("--transport");
    t.emplace_back(transport_name(m.transport));
  }
  if (rule.probability != 1.0) {
    t.emplace_back("--probability");
    t.push_back(format_number(rule.probability));
  }
  return t;
}

std::string rule_to_text(const Rule& rule) {
  return join_tokens(rule_tokens(rule));
}

std::string rule_set_to_text(const RuleSet& rules) {
  if (rules.empty()) return "pass";
  std::string out;
  for (const Rule& rule : rules) {
    if (!out.empty()) out += "; ";
    out += rule_to_text(rule);
  }
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool matches(const Match& match, const QueryFacts& query) noexcept {
  if (match.transport != Transport::kAny && match.transport != query.transport) return false;
  if (!match.qtypes.empty() &&
      std::find(match.qtypes.begin(), match.qtypes.end(), query.qtype) == match.qtypes.end()) {
    return false;
  }
  switch (match.kind) {
    case MatchKind::kAll:
      return true;
    case MatchKind::kExact:
      return query.name == match.pattern;
    case MatchKind::kSuffix: {
      const std::string_view zone = match.pattern;
      if (query.name == zone) return true;
      return query.name.size() > zone.size() && query.name.ends_with(zone) &&
             query.name[query.name.size() - zone.size() - 1] == '.';
    }
    case MatchKind::kGlob:
      return glob_match(match.pattern, query.name);
  }
  return false;
}

bool is_fault(const RuleSet& rules) noexcept {
  return std::any_of(rules.begin(), rules.end(), [](const Rule& r) {
    return r.action.kind != ActionKind::kPass && r.probability > 0;
  });
}

}  // namespace holdfast::dnsfault
