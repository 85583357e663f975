// Setup of the `rrl` directive: the syntax, defaults and limits of the CoreDNS external plugin rrl
// (github.com/coredns/rrl, plugins/rrl/setup.go), with Holdfast's file:line:col errors.
#include <charconv>
#include <cmath>
#include <string_view>

#include "config/arguments.h"
#include "config/config_error.h"
#include "config/directives.h"

namespace holdfast::config {
namespace {

constexpr std::int64_t kMaxTableSize = 10'000'000;  // ~70 bytes an account: 700 MB at most
constexpr double kMaxAllowance = 1e9;               // one response a nanosecond
constexpr double kMaxWindowSeconds = 24 * 3600;

// A plain decimal number such as 15, 0.5 or 1e3 (Go's strconv.ParseFloat, as the plugin reads
// windows and allowances); nullopt for anything else, NaN or infinity.
std::optional<double> parse_decimal(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

double expect_allowance(const Token& arg, const std::string& who) {
  const std::optional<double> value = parse_decimal(arg.text);
  if (!value || *value < 0 || *value > kMaxAllowance) {
    const std::string expected =
        " expects a non-negative number of responses a second (0 = no limit)";
    fail_at(arg.where, who + expected + ", got '" + arg.text + "'");
  }
  return *value;
}

// Which allowances the block set; the ones it did not follow responses-per-second.
struct AllowancesSet {
  bool nodata = false;
  bool nxdomains = false;
  bool referrals = false;
  bool errors = false;
};

void set_property(const DirectiveNode& property, RrlConfig& rrl, AllowancesSet& set) {
  const std::string& name = property.name.text;
  const std::string who = "rrl: '" + name + "'";
  expect_no_block(property, who);
  if (name == "report-only") {
    expect_no_args(property, who);
    rrl.report_only = true;
    return;
  }
  const Token& arg = expect_one_arg(property, who);
  if (name == "window") {
    const std::optional<double> seconds = parse_decimal(arg.text);
    if (!seconds || *seconds <= 0 || *seconds > kMaxWindowSeconds) {
      fail_at(arg.where,
              who + " expects a number of seconds greater than 0, got '" + arg.text + "'");
    }
    rrl.window_seconds = *seconds;
  } else if (name == "ipv4-prefix-length") {
    rrl.ipv4_prefix_bits =
        static_cast<int>(expect_integer(arg, 1, 32, who + " expects a length from 1 to 32"));
  } else if (name == "ipv6-prefix-length") {
    rrl.ipv6_prefix_bits =
        static_cast<int>(expect_integer(arg, 1, 128, who + " expects a length from 1 to 128"));
  } else if (name == "responses-per-second") {
    rrl.responses_per_second = expect_allowance(arg, who);
  } else if (name == "nodata-per-second") {
    rrl.nodata_per_second = expect_allowance(arg, who);
    set.nodata = true;
  } else if (name == "nxdomains-per-second") {
    rrl.nxdomains_per_second = expect_allowance(arg, who);
    set.nxdomains = true;
  } else if (name == "referrals-per-second") {
    rrl.referrals_per_second = expect_allowance(arg, who);
    set.referrals = true;
  } else if (name == "errors-per-second") {
    rrl.errors_per_second = expect_allowance(arg, who);
    set.errors = true;
  } else if (name == "requests-per-second") {
    rrl.requests_per_second = expect_allowance(arg, who);
  } else if (name == "slip-ratio") {
    rrl.slip_ratio =
        static_cast<int>(expect_integer(arg, 0, 10, who + " expects an integer from 0 to 10"));
  } else if (name == "max-table-size") {
    rrl.max_table_size = static_cast<std::size_t>(
        expect_integer(arg, 1, kMaxTableSize, who + " expects an integer from 1 to 10000000"));
  } else {
    fail_at(property.name.where, "rrl: unknown property '" + name + "'");
  }
}

}  // namespace

void setup_rrl(const DirectiveNode& node, ServerBlock& block, BuildContext& context) {
  RrlConfig rrl;
  rrl.where = node.name.where;
  for (const Token& arg : node.args) rrl.zones.push_back(expect_zone(arg, "rrl"));
  AllowancesSet set;
  for (const DirectiveNode& property : node.children) set_property(property, rrl, set);
  if (!set.nodata) rrl.nodata_per_second = rrl.responses_per_second;
  if (!set.nxdomains) rrl.nxdomains_per_second = rrl.responses_per_second;
  if (!set.referrals) rrl.referrals_per_second = rrl.responses_per_second;
  if (!set.errors) rrl.errors_per_second = rrl.responses_per_second;
  if (rrl.responses_per_second == 0 && rrl.nodata_per_second == 0 &&
      rrl.nxdomains_per_second == 0 && rrl.referrals_per_second == 0 &&
      rrl.errors_per_second == 0 && rrl.requests_per_second == 0) {
    context.warnings.push_back(format_location(rrl.where) +
                               ": rrl: no allowance is set, so nothing is limited (as in CoreDNS); "
                               "set responses-per-second");
  }
  block.rrl = std::move(rrl);
}

}  // namespace holdfast::config
