// Packet work of the actions, on wire fixtures: synthesised replies, TTL rewrites, garbling.
#include "actions.h"

#include <gtest/gtest.h>

#include "dns/header.h"
#include "dns/packet_builder.h"
#include "dns/response.h"

namespace holdfast::dnsfault {
namespace {

using dns::testing::PacketBuilder;

std::vector<std::uint8_t> query_bytes(bool with_opt) {
  PacketBuilder b;
  b.header(0x1234, dns::flag::kRd, 1, 0, 0, with_opt ? 1 : 0)  // ID, RD, one question
      .question("Svc-1.NS-1.svc.cluster.local", dns::qtype::kA);
  if (with_opt) b.opt(1232);
  return b.bytes();
}

std::vector<std::uint8_t> response_bytes() {
  return PacketBuilder()
      .header(0x1234, dns::flag::kQr | dns::flag::kAa | dns::flag::kRd, 1, 1, 1, 1)
      .question("svc-1.ns-1.svc.cluster.local", dns::qtype::kA)
      .pointer(12)
      .rr_fixed(dns::qtype::kA, dns::kClassIn, 30, 4)
      .raw({10, 1, 1, 1})  // answer
      .name("cluster.local")
      .rr_fixed(dns::qtype::kNs, dns::kClassIn, 3600, 2)
      .pointer(12)  // authority
      .opt(1232)
      .bytes();
}

TEST(NameForRules, IsLowerCaseDottedWithoutTheRoot) {
  const auto q = query_bytes(false);
  const auto parsed = dns::parse_query(q);
  std::array<char, kMaxNameText> buf;
  EXPECT_EQ(name_for_rules(q, parsed.query.question.name, buf), "svc-1.ns-1.svc.cluster.local");
  const auto root = PacketBuilder().header(1, 0, 1).question(".", dns::qtype::kNs).bytes();
  EXPECT_EQ(name_for_rules(root, dns::parse_query(root).query.question.name, buf), "");
}

TEST(SynthesisedReply, CarriesTheRcodeTheIdAndTheQuestion) {
  const auto q = query_bytes(true);
  const auto parsed = dns::parse_query(q);
  std::array<std::uint8_t, 512> out;
  const std::size_t len =
      write_synthesised_reply(q, parsed, ActionKind::kRcode, dns::Rcode::kNxDomain, out);
  ASSERT_GT(len, 0u);
  const auto header = dns::read_header(dns::Bytes(out.data(), len));
  EXPECT_EQ(header->id, 0x1234);
  EXPECT_TRUE(header->qr());
  EXPECT_EQ(header->rcode(), static_cast<int>(dns::Rcode::kNxDomain));
  EXPECT_EQ(header->qdcount, 1);
  EXPECT_EQ(header->ancount, 0);
  EXPECT_EQ(header->arcount, 1);  // the client's OPT comes back
  EXPECT_FALSE(header->tc());
}

TEST(SynthesisedReply, NodataIsAnEmptyNoerrorAndTruncateSetsTc) {
  const auto q = query_bytes(false);
  const auto parsed = dns::parse_query(q);
  std::array<std::uint8_t, 512> out;
  std::size_t len =
      write_synthesised_reply(q, parsed, ActionKind::kNodata, dns::Rcode::kServFail, out);
  auto header = dns::read_header(dns::Bytes(out.data(), len));
  EXPECT_EQ(header->rcode(), 0);
  EXPECT_EQ(header->ancount, 0);
  EXPECT_FALSE(header->tc());
  len = write_synthesised_reply(q, parsed, ActionKind::kTruncate, dns::Rcode::kServFail, out);
  header = dns::read_header(dns::Bytes(out.data(), len));
  EXPECT_TRUE(header->tc());
  EXPECT_EQ(header->rcode(), 0);
}

TEST(RewriteTtls, SetsEveryTtlButTheOpt) {
  auto r = response_bytes();
  ASSERT_TRUE(rewrite_ttls(r, 7));
  std::vector<std::uint32_t> ttls;
  auto info = dns::parse_response(
      dns::Bytes(r), [&](std::size_t offset) { ttls.push_back(dns::read_u32(r.data() + offset)); });
  ASSERT_TRUE(info);
  EXPECT_EQ(ttls, (std::vector<std::uint32_t>{7, 7}));
  EXPECT_TRUE(info->opt);
}

TEST(RewriteTtls, LeavesAMalformedResponseAlone) {
  auto r = response_bytes();
  r.resize(r.size() - 5);
  const auto before = r;
  EXPECT_FALSE(rewrite_ttls(r, 7));
  EXPECT_EQ(r, before);
}

TEST(Garble, WrongIdChangesOnlyTheId) {
  auto r = response_bytes();
  const auto before = r;
  EXPECT_EQ(garble_response(r, GarbleMode::kWrongId), r.size());
  EXPECT_NE(dns::read_u16(r.data()), dns::read_u16(before.data()));
  EXPECT_TRUE(std::equal(r.begin() + 2, r.end(), before.begin() + 2));
}

TEST(Garble, WrongQuestionChangesTheNameBeyondCase) {
  auto r = response_bytes();
  EXPECT_EQ(garble_response(r, GarbleMode::kWrongQuestion), r.size());
  EXPECT_EQ(r[13], 'x');  // "svc-1" became "xvc-1"
  auto root = PacketBuilder().header(1, dns::flag::kQr, 1).question(".", dns::qtype::kNs).bytes();
  garble_response(root, GarbleMode::kWrongQuestion);
  EXPECT_NE(dns::read_u16(root.data() + 13), dns::qtype::kNs);
}

TEST(Garble, CutShortLeavesSomethingThatNoLongerParses) {
  auto r = response_bytes();
  const std::size_t len = garble_response(r, GarbleMode::kCutShort);
  EXPECT_LT(len, r.size());
  EXPECT_GE(len, dns::kHeaderSize);
  EXPECT_FALSE(dns::parse_response(dns::Bytes(r.data(), len), [](std::size_t) {}));
}

}  // namespace
}  // namespace holdfast::dnsfault
