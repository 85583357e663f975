// Tests for dns/response.h: what parse_response tells the cache about an upstream response.
#include "dns/response.h"

#include <gtest/gtest.h>

#include <vector>

#include "packet_builder.h"

namespace holdfast::dns {
namespace {

using testing::PacketBuilder;

constexpr std::uint16_t kResponseFlags = flag::kQr | flag::kRd | flag::kRa;

// SOA RDATA: MNAME and RNAME as given (already wire), then SERIAL..MINIMUM.
std::vector<std::uint8_t> soa_rdata(std::vector<std::uint8_t> names, std::uint32_t minimum) {
  PacketBuilder b;
  b.raw(names).u32(2024010101).u32(7200).u32(900).u32(1209600).u32(minimum);
  return b.bytes();
}

std::optional<ResponseInfo> parse(const std::vector<std::uint8_t>& packet,
                                  std::vector<std::size_t>* offsets = nullptr) {
  return parse_response(packet, [&](std::size_t offset) {
    if (offsets) offsets->push_back(offset);
  });
}

TEST(ParseResponse, ReadsHeaderAndQuestion) {
  PacketBuilder b;
  b.header(0x1111, kResponseFlags | 3, 1).question("Nope.Example", qtype::kAaaa);
  const auto info = parse(b.bytes());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->header.id, 0x1111);
  EXPECT_EQ(info->header.rcode(), 3);
  EXPECT_EQ(info->question.qtype, qtype::kAaaa);
  EXPECT_EQ(info->question.end, b.size());
  EXPECT_FALSE(info->min_ttl);
  EXPECT_FALSE(info->soa_ttl);
  EXPECT_FALSE(info->opt);
  EXPECT_EQ(info->record_count, 0u);
}

TEST(ParseResponse, TakesTheMinimumTtlOverAnswerAndAuthorityOnly) {
  PacketBuilder b;
  b.header(1, kResponseFlags, 1, 2, 1, 2).question("www.example.com", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kCname, kClassIn, 300, 2).pointer(12);    // answer, TTL 300
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 120, 4).raw({1, 2, 3, 4});  // answer, TTL 120
  b.pointer(16).rr_fixed(qtype::kNs, kClassIn, 3600, 2).pointer(12);      // authority, TTL 3600
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 5, 4).raw({5, 6, 7, 8});    // additional, TTL 5
  b.opt(1232);                                                            // TTL field 0
  const auto info = parse(b.bytes());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->min_ttl, 120u);
  EXPECT_EQ(info->answer_count_of_qtype, 2);
  EXPECT_EQ(info->record_count, 5u);
}

TEST(ParseResponse, VisitsTtlOffsetsInPacketOrderSkippingOpt) {
  PacketBuilder b;
  b.header(1, kResponseFlags, 1, 1, 0, 2).question("a", qtype::kA);
  std::vector<std::size_t> expected;
  expected.push_back(b.size() + 2 + 4);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 11, 4).raw({1, 1, 1, 1});
  b.opt(4096, 0x8000);  // OPT in the middle of the additional section: skipped
  expected.push_back(b.size() + 2 + 4);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 33, 4).raw({3, 3, 3, 3});
  std::vector<std::size_t> offsets;
  const auto info = parse(b.bytes(), &offsets);
  ASSERT_TRUE(info);
  EXPECT_EQ(offsets, expected);
  EXPECT_EQ(read_u32(b.bytes().data() + offsets[0]), 11u);
  EXPECT_EQ(read_u32(b.bytes().data() + offsets[1]), 33u);
}

TEST(ParseResponse, ReadsOptFields) {
  PacketBuilder b;
  // OPT: UDP 1400, ext-rcode 1, version 0, DO; EDE 22 option.
  b.header(1, kResponseFlags, 1, 0, 0, 1).question("a", qtype::kA);
  const std::size_t opt_at = b.size();
  b.opt(1400, 0x01008000, {0x00, 0x0f, 0x00, 0x02, 0x00, 0x16});
  const auto info = parse(b.bytes());
  ASSERT_TRUE(info && info->opt);
  EXPECT_EQ(info->opt->offset, opt_at);
  EXPECT_EQ(info->opt->udp_size, 1400);
  EXPECT_EQ(info->opt->extended_rcode, 1);
  EXPECT_EQ(info->opt->version, 0);
  EXPECT_TRUE(info->opt->do_bit);
  EXPECT_EQ(info->opt->rdata_len, 6);
  EXPECT_EQ(info->opt->end, b.size());
}

TEST(ParseResponse, FindsSoaTtlAndMinimumInTheAuthoritySection) {
  PacketBuilder b;
  b.header(1, kResponseFlags | 3, 1, 0, 1).question("nx.example.com", qtype::kA);
  // Owner "example.com" (pointer to 15); MNAME ns1 + pointer, RNAME hostmaster + pointer.
  std::vector<std::uint8_t> names = {3,   'n', 's', '1', 0xc0, 0x0f, 10,  'h',  'o', 's',
                                     't', 'm', 'a', 's', 't',  'e',  'r', 0xc0, 0x0f};
  const auto rdata = soa_rdata(names, 300);
  b.pointer(15).rr_fixed(qtype::kSoa, kClassIn, 900, static_cast<std::uint16_t>(rdata.size()));
  b.raw(rdata);
  const auto info = parse(b.bytes());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->soa_ttl, 900u);
  EXPECT_EQ(info->soa_minimum, 300u);
  EXPECT_EQ(info->min_ttl, 900u);
  EXPECT_EQ(info->answer_count_of_qtype, 0);
}

TEST(ParseResponse, IgnoresASoaInTheAnswerSectionForNegativeCaching) {
  PacketBuilder b;
  b.header(1, kResponseFlags, 1, 1).question("example.com", qtype::kSoa);
  const auto rdata = soa_rdata({0, 0}, 60);
  b.pointer(12).rr_fixed(qtype::kSoa, kClassIn, 3600, static_cast<std::uint16_t>(rdata.size()));
  b.raw(rdata);
  const auto info = parse(b.bytes());
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->soa_ttl);
  EXPECT_EQ(info->answer_count_of_qtype, 1);
}

struct BadResponse {
  const char* name;
  std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> with_soa_rdata(const std::vector<std::uint8_t>& rdata) {
  PacketBuilder b;
  b.header(1, kResponseFlags, 1, 0, 1).question("a", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kSoa, kClassIn, 60, static_cast<std::uint16_t>(rdata.size()));
  b.raw(rdata);
  return b.bytes();
}

std::vector<BadResponse> bad_responses() {
  PacketBuilder a_query;
  a_query.header(1, flag::kRd, 1).question("a", qtype::kA);
  PacketBuilder no_question;
  no_question.header(1, kResponseFlags, 0);
  PacketBuilder two_questions;
  two_questions.header(1, kResponseFlags, 2).question("a", qtype::kA).question("b", qtype::kA);
  PacketBuilder opt_in_answer;
  opt_in_answer.header(1, kResponseFlags, 1, 1).question("a", qtype::kA).opt(512);
  PacketBuilder two_opts;
  two_opts.header(1, kResponseFlags, 1, 0, 0, 2).question("a", qtype::kA).opt(512).opt(512);
  PacketBuilder opt_named;
  opt_named.header(1, kResponseFlags, 1, 0, 0, 1).question("a", qtype::kA);
  opt_named.pointer(12).rr_fixed(qtype::kOpt, 512, 0, 0);
  PacketBuilder overrun;
  overrun.header(1, kResponseFlags, 1, 1).question("a", qtype::kA);
  overrun.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({1, 2, 3});
  PacketBuilder bad_question;
  bad_question.header(1, kResponseFlags, 1).raw({0xc0, 0x0c, 0, 1, 0, 1});
  return {
      {"ElevenBytes", {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0}},
      {"QrClear", a_query.bytes()},
      {"QdcountZero", no_question.bytes()},
      {"QdcountTwo", two_questions.bytes()},
      {"QuestionPointerLoop", bad_question.bytes()},
      {"OptInAnswer", opt_in_answer.bytes()},
      {"TwoOpts", two_opts.bytes()},
      {"OptWithNonRootOwner", opt_named.bytes()},
      {"RdataOverrun", overrun.bytes()},
      // SOA RDATA: root MNAME, root RNAME, only 16 of the 20 fixed bytes.
      {"SoaRdataTooShort", with_soa_rdata({0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4})},
      // SOA RDATA: the 20 fixed bytes and one byte too many.
      {"SoaRdataTooLong", with_soa_rdata(soa_rdata({0, 0, 0}, 1))},
      // SOA RDATA of 0 bytes: MNAME would be read from the next record.
      {"SoaRdataEmpty", with_soa_rdata({})},
      // MNAME 05 'a' 'b' ...: a label longer than the RDATA.
      {"SoaMnameOverrunsRdata", with_soa_rdata({0x05, 'a', 'b'})},
      // MNAME with a pointer loop.
      {"SoaMnamePointerLoop", with_soa_rdata(soa_rdata({0xc0, 0x1f, 0}, 1))},
  };
}

TEST(ParseResponse, RejectsEveryMalformedResponse) {
  for (const BadResponse& bad : bad_responses()) {
    const std::vector<std::uint8_t> packet(bad.bytes.begin(), bad.bytes.end());
    EXPECT_FALSE(parse(packet)) << bad.name;
  }
}

TEST(ParseResponse, SurvivesEveryPrefixOfAValidResponse) {
  PacketBuilder b;
  b.header(1, kResponseFlags, 1, 1, 1, 1).question("www.example.com", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({1, 2, 3, 4});
  const auto rdata = soa_rdata({0xc0, 0x10, 0xc0, 0x10}, 30);
  b.pointer(16).rr_fixed(qtype::kSoa, kClassIn, 60, static_cast<std::uint16_t>(rdata.size()));
  b.raw(rdata).opt(1232);
  ASSERT_TRUE(parse(b.bytes()));
  for (std::size_t len = 0; len < b.size(); ++len) {
    const std::vector<std::uint8_t> prefix(b.bytes().begin(), b.bytes().begin() + len);
    EXPECT_FALSE(parse(prefix)) << len;
  }
}

}  // namespace
}  // namespace holdfast::dns
