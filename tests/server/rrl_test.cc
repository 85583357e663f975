// Response rate limiting: the account table with an injected time, the prefix of a client, and
// how a reply is read into the account it is charged to.
#include "server/rrl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dns/packet_builder.h"
#include "server/peers.h"

namespace holdfast::server {
namespace {

using dns::testing::PacketBuilder;
using testing::peer;

constexpr std::int64_t kMs = 1'000'000;  // ns
constexpr std::int64_t kSecond = 1000 * kMs;

RrlSettings settings(double per_second, int slip_ratio = 0, double window_seconds = 15) {
  config::RrlConfig config;
  config.responses_per_second = per_second;
  config.nodata_per_second = per_second;
  config.nxdomains_per_second = per_second;
  config.referrals_per_second = per_second;
  config.errors_per_second = per_second;
  config.slip_ratio = slip_ratio;
  config.window_seconds = window_seconds;
  return RrlSettings::from(config);
}

RrlKey key_for(const char* ip, std::uint64_t name_hash = 7) {
  RrlKey key;
  key.prefix = client_prefix(peer(ip), 24, 56);
  key.category = RrlCategory::kResponse;
  key.qtype = 1;
  key.name_hash = name_hash;
  return key;
}

// The verdicts of `count` responses at one instant.
std::vector<RrlVerdict> burst(RrlTable& table, const RrlKey& key, int count, std::int64_t now) {
  std::vector<RrlVerdict> out;
  for (int i = 0; i < count; ++i) out.push_back(table.debit(key, now));
  return out;
}

TEST(RrlTable, SendsABurstOfTheAllowanceThenDrops) {
  RrlTable table(settings(5), 1);
  const auto verdicts = burst(table, key_for("192.0.2.1"), 7, 0);
  using V = RrlVerdict;
  EXPECT_EQ(verdicts,
            (std::vector<V>{V::kSend, V::kSend, V::kSend, V::kSend, V::kSend, V::kDrop, V::kDrop}));
  EXPECT_EQ(table.counters().responses_dropped, 2u);
}

TEST(RrlTable, CreditComesBackAtTheAllowanceRate) {
  RrlTable table(settings(10), 1);  // one response per 100 ms
  const RrlKey key = key_for("192.0.2.1");
  burst(table, key, 11, 0);  // the 11th put the account 100 ms into debt
  EXPECT_EQ(table.debit(key, 150 * kMs), RrlVerdict::kDrop);  // 50 ms of credit: 50 ms short
  EXPECT_EQ(table.debit(key, 500 * kMs), RrlVerdict::kSend);  // 300 ms of credit
}

TEST(RrlTable, DebtNeverExceedsTheWindow) {
  RrlTable table(settings(10, 0, 2), 1);
  const RrlKey key = key_for("192.0.2.1");
  burst(table, key, 10'000, 0);  // a flood: the debt stops at 2 s, not 1000 s
  EXPECT_EQ(table.debit(key, 1900 * kMs), RrlVerdict::kDrop);
  EXPECT_EQ(table.debit(key, 1900 * kMs + 2 * kSecond + 100 * kMs), RrlVerdict::kSend);
}

TEST(RrlTable, SlipsEverySlipRatioThLimitedResponse) {
  RrlTable table(settings(1, 3), 1);
  const auto verdicts = burst(table, key_for("192.0.2.1"), 8, 0);
  using V = RrlVerdict;
  EXPECT_EQ(verdicts, (std::vector<V>{V::kSend, V::kDrop, V::kDrop, V::kSlip, V::kDrop, V::kDrop,
                                      V::kSlip, V::kDrop}));
  EXPECT_EQ(table.counters().responses_slipped, 2u);
  EXPECT_EQ(table.counters().responses_dropped, 5u);
}

TEST(RrlTable, SlipRatioOneSlipsEveryLimitedResponse) {
  RrlTable table(settings(1, 1), 1);
  const auto verdicts = burst(table, key_for("192.0.2.1"), 3, 0);
  EXPECT_EQ(verdicts,
            (std::vector<RrlVerdict>{RrlVerdict::kSend, RrlVerdict::kSlip, RrlVerdict::kSlip}));
}

TEST(RrlTable, ReportOnlyCountsWhatWouldBeLimitedAndSendsIt) {
  RrlSettings s = settings(1, 2);
  s.report_only = true;
  RrlTable table(s, 1);
  const auto verdicts = burst(table, key_for("192.0.2.1"), 3, 0);
  EXPECT_EQ(verdicts, (std::vector<RrlVerdict>{RrlVerdict::kSend, RrlVerdict::kReportOnly,
                                               RrlVerdict::kReportOnly}));
  EXPECT_EQ(table.counters().responses_reported, 2u);
  EXPECT_EQ(table.counters().responses_dropped + table.counters().responses_slipped, 0u);
}

TEST(RrlTable, AZeroAllowanceNeverLimitsNorTracks) {
  RrlTable table(settings(0), 1);
  const auto verdicts = burst(table, key_for("192.0.2.1"), 1000, 0);
  EXPECT_EQ(verdicts, std::vector<RrlVerdict>(1000, RrlVerdict::kSend));
  EXPECT_EQ(table.size(), 0u);
}

TEST(RrlTable, AccountsArePerPrefixNameAndCategory) {
  RrlTable table(settings(1), 1);
  EXPECT_EQ(table.debit(key_for("192.0.2.1"), 0), RrlVerdict::kSend);
  EXPECT_EQ(table.debit(key_for("192.0.2.200"), 0), RrlVerdict::kDrop);   // same /24
  EXPECT_EQ(table.debit(key_for("192.0.3.1"), 0), RrlVerdict::kSend);     // another /24
  EXPECT_EQ(table.debit(key_for("192.0.2.1", 8), 0), RrlVerdict::kSend);  // another name
  RrlKey nodata = key_for("192.0.2.1");
  nodata.category = RrlCategory::kNodata;
  EXPECT_EQ(table.debit(nodata, 0), RrlVerdict::kSend);  // another category
}

TEST(RrlTable, AFullTableEvictsTheLeastRecentlyUsedAccount) {
  RrlSettings s = settings(1);
  s.max_table_size = 2;
  RrlTable table(s, 1);
  const RrlKey a = key_for("192.0.2.1");
  const RrlKey b = key_for("198.51.100.1");
  const RrlKey c = key_for("203.0.113.1");
  table.debit(a, 0);
  table.debit(b, 0);
  EXPECT_EQ(table.debit(a, 0), RrlVerdict::kDrop);  // a is now the most recently used
  table.debit(c, 0);                                // b goes
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.counters().evictions, 1u);
  EXPECT_EQ(table.debit(a, 0), RrlVerdict::kDrop);  // a kept its debt
  EXPECT_EQ(table.debit(b, 0), RrlVerdict::kSend);  // b starts over (and c goes)
  EXPECT_EQ(table.counters().evictions, 2u);
}

TEST(ClientPrefix, CutsBothFamiliesAndTreatsMappedAsIpv4) {
  const ClientPrefix v4 = client_prefix(peer("127.0.1.77"), 24, 56);
  EXPECT_EQ(v4, client_prefix(peer("127.0.1.200"), 24, 56));
  EXPECT_NE(v4, client_prefix(peer("127.0.2.77"), 24, 56));
  EXPECT_EQ(v4, client_prefix(peer("::ffff:127.0.1.3"), 24, 56));
  EXPECT_EQ(client_prefix(peer("2001:db8:0:1ff::1"), 24, 56),
            client_prefix(peer("2001:db8:0:100::2"), 24, 56));
  EXPECT_NE(client_prefix(peer("2001:db8:0:100::1"), 24, 56),
            client_prefix(peer("2001:db8:0:200::1"), 24, 56));
  EXPECT_EQ(client_prefix(peer("10.1.2.3"), 20, 56), client_prefix(peer("10.1.15.9"), 20, 56));
  EXPECT_NE(client_prefix(peer("10.1.2.3"), 20, 56), client_prefix(peer("10.1.16.9"), 20, 56));
}

// A reply: the question, `answers` A records, then the authority record when `authority_type`.
std::vector<std::uint8_t> reply(const char* qname, std::uint16_t rcode, int answers,
                                std::uint16_t authority_type = 0,
                                const char* authority_owner = "example.org.") {
  PacketBuilder p;
  p.header(1, static_cast<std::uint16_t>(0x8180 | rcode), 1, static_cast<std::uint16_t>(answers),
           authority_type ? 1 : 0, 0)
      .question(qname, 1);
  for (int i = 0; i < answers; ++i) p.rr(qname, 1, 60, {192, 0, 2, 1});
  if (authority_type) p.rr(authority_owner, authority_type, 60, {0, 0, 0, 0});
  return p.bytes();
}

TEST(ClassifyResponse, ReadsBindsCategories) {
  const auto answer = classify_response(reply("www.example.org.", 0, 1));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->category, RrlCategory::kResponse);
  EXPECT_EQ(answer->qtype, 1);
  EXPECT_EQ(classify_response(reply("www.example.org.", 0, 0, 6))->category, RrlCategory::kNodata);
  EXPECT_EQ(classify_response(reply("a.example.org.", 0, 0, 2, "a.example.org."))->category,
            RrlCategory::kReferral);
  EXPECT_EQ(classify_response(reply("x.example.org.", 3, 0, 6))->category, RrlCategory::kNxdomain);
  EXPECT_EQ(classify_response(reply("x.example.org.", 2, 0))->category, RrlCategory::kError);
  EXPECT_FALSE(classify_response(std::vector<std::uint8_t>{1, 2, 3}));
}

TEST(ClassifyResponse, NxdomainsUnderOneZoneShareOneAccountWhateverTheName) {
  const auto a = classify_response(reply("random1.example.org.", 3, 0, 6));
  const auto b = classify_response(reply("RANDOM2.example.org.", 3, 0, 6));
  const auto other = classify_response(reply("random1.example.net.", 3, 0, 6, "example.net."));
  EXPECT_EQ(a->name_hash, b->name_hash);
  EXPECT_NE(a->name_hash, other->name_hash);
  EXPECT_EQ(classify_response(reply("A.example.org.", 0, 1))->name_hash,
            classify_response(reply("a.EXAMPLE.org.", 0, 1))->name_hash);
}

TEST(ResponseRateLimiter, LimitsOnlyNamesUnderItsZones) {
  config::RrlConfig config;
  config.zones = {"example.org."};
  config.responses_per_second = 1;
  config.nxdomains_per_second = 1;
  ResponseRateLimiter rrl(config, {"."});
  const auto from = peer("127.0.1.5");
  const auto in_zone = reply("www.example.org.", 0, 1);
  const auto elsewhere = reply("www.example.net.", 0, 1);
  EXPECT_EQ(rrl.check_response(in_zone, from, 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.check_response(in_zone, from, 0), RrlVerdict::kDrop);
  EXPECT_EQ(rrl.check_response(elsewhere, from, 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.check_response(elsewhere, from, 0), RrlVerdict::kSend);
  // Water torture: a new random name each time, one account for the zone.
  EXPECT_EQ(rrl.check_response(reply("q1.example.org.", 3, 0, 6), from, 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.check_response(reply("q2.example.org.", 3, 0, 6), from, 0), RrlVerdict::kDrop);
}

TEST(ResponseRateLimiter, RequestsPerSecondCountsEveryQueryOfAPrefix) {
  config::RrlConfig config;
  config.requests_per_second = 2;
  ResponseRateLimiter rrl(config, {"."});
  const std::string name("\3www\7example\3org\0", 17);
  const dns::Bytes wire(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
  EXPECT_EQ(rrl.check_request(wire, peer("127.0.1.5"), 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.check_request(wire, peer("127.0.1.6"), 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.check_request(wire, peer("127.0.1.7"), 0), RrlVerdict::kDrop);
  EXPECT_EQ(rrl.check_request(wire, peer("127.0.2.7"), 0), RrlVerdict::kSend);
  EXPECT_EQ(rrl.counters().requests_dropped, 1u);
  // Responses are not limited: no response allowance was set.
  EXPECT_EQ(rrl.check_response(reply("www.example.org.", 0, 1), peer("127.0.1.5"), 0),
            RrlVerdict::kSend);
}

}  // namespace
}  // namespace holdfast::server
