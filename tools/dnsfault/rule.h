// Fault rules: what a rule matches (name, QTYPE, transport), what it does, and with which
// probability; the one text grammar that rules files, schedules, `dnsfault ctl` and the control
// API all share.
//
// Grammar (one rule):  ACTION [ARGS...] [--match PATTERN] [--qtype T[,T...]]
//                      [--transport udp|tcp|any] [--probability P]
//   PATTERN: `*`/absent = every name; with `*` or `?` a glob (`*` spans dots); a leading `.`
//   (`.svc.cluster.local`) the zone and everything below it; otherwise one exact name.
//   Names compare case-insensitively, with or without the trailing dot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dns/wire.h"

namespace holdfast::dnsfault {

enum class ActionKind : std::uint8_t {
  kPass,
  kBlackhole,
  kRefuseConnection,
  kDelay,
  kRcode,
  kNodata,
  kTruncate,
  kLoss,
  kBurstLoss,
  kTtl,
  kGarble,
};
inline constexpr std::size_t kActionKindCount = 11;

enum class Distribution : std::uint8_t { kUniform, kNormal, kPareto };
enum class GarbleMode : std::uint8_t { kAny, kWrongId, kWrongQuestion, kCutShort };
enum class Transport : std::uint8_t { kAny, kUdp, kTcp };
enum class MatchKind : std::uint8_t { kAll, kExact, kSuffix, kGlob };

struct Match {
  MatchKind kind = MatchKind::kAll;
  std::string pattern;                // lower case, no trailing dot; a zone without its leading dot
  std::vector<std::uint16_t> qtypes;  // empty: any QTYPE
  Transport transport = Transport::kAny;
};

struct Action {
  ActionKind kind = ActionKind::kPass;
  std::uint32_t delay_ms = 0;   // delay
  std::uint32_t jitter_ms = 0;  // delay
  Distribution distribution = Distribution::kUniform;
  dns::Rcode rcode = dns::Rcode::kServFail;  // rcode
  double loss_percent = 0;                   // loss
  // burst-loss: the Gilbert–Elliott chain (Gilbert's special case: the good state loses nothing,
  // the bad state everything), stepped once per matching query.
  double good_to_bad_percent = 0;  // p
  double bad_to_good_percent = 0;  // r
  std::uint32_t ttl_seconds = 0;   // ttl
  GarbleMode garble = GarbleMode::kAny;
};

struct Rule {
  Match match;
  Action action;
  double probability = 1.0;  // the rule applies to this share of matching queries; else the next
};

using RuleSet = std::vector<Rule>;
using RuleSetPtr = std::shared_ptr<const RuleSet>;

// What a rule is matched against. `name` is lower case without the trailing dot ("" = root).
struct QueryFacts {
  std::string_view name;
  std::uint16_t qtype = 0;
  Transport transport = Transport::kUdp;
};

std::string_view action_name(ActionKind kind) noexcept;
std::string_view transport_name(Transport transport) noexcept;
std::string_view rcode_name(dns::Rcode rcode) noexcept;
std::string qtype_name(std::uint16_t qtype);
std::optional<std::uint16_t> qtype_from_name(std::string_view text);

// Parses one rule from its tokens (see the grammar above). The error names the bad token.
Result<Rule> parse_rule(std::span<const std::string> tokens);
// Tokenises `text` and parses one rule.
Result<Rule> parse_rule_text(std::string_view text);
// Several rules separated by `;` (as in a schedule entry). `pass` alone is the empty rule set.
Result<RuleSet> parse_rule_list(std::string_view text);
// The same over tokens, where ";" tokens separate rules.
Result<RuleSet> parse_rule_list(std::span<const std::string> tokens);
// A rules file: one rule per line, `#` comments, blank lines. Errors read "SOURCE:LINE: ...".
Result<RuleSet> parse_rules_file(std::string_view text, std::string_view source);

// The canonical tokens of a rule: parse_rule(rule_tokens(r)) gives r back.
std::vector<std::string> rule_tokens(const Rule& rule);
std::string rule_to_text(const Rule& rule);
// "pass" for an empty set; rules joined with "; ".
std::string rule_set_to_text(const RuleSet& rules);

// Case-insensitive glob over lower-case input: `*` any run of characters, `?` exactly one.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;
bool matches(const Match& match, const QueryFacts& query) noexcept;

// True when a rule set does anything but pass every query through untouched.
bool is_fault(const RuleSet& rules) noexcept;

}  // namespace holdfast::dnsfault
