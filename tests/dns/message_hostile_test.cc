// Hostile packets against parse_query: each one must give exactly the expected QueryError, and
// none may crash or read past the packet (run under ASan+UBSan).
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "dns/message.h"
#include "packet_builder.h"

namespace holdfast::dns {
namespace {

using testing::PacketBuilder;
using Wire = std::vector<std::uint8_t>;

Wire cat(std::initializer_list<Wire> parts) {
  Wire out;
  for (const Wire& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// ID BEEF, flags RD, the given counts.
Wire header(std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ns = 0, std::uint16_t ar = 0,
            std::uint16_t flags = flag::kRd) {
  PacketBuilder b;
  b.header(0xbeef, flags, qd, an, ns, ar);
  return b.bytes();
}

// "a." A IN at offset 12..18; records start at 19 (0x13).
const Wire kQuestionA = {0x01, 'a', 0x00, 0x00, 0x01, 0x00, 0x01};
// TYPE A, CLASS IN, TTL 60, RDLENGTH 4, 192.0.2.1
const Wire kFixedA = {0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1};
// Root owner, TYPE OPT, UDP 1232, TTL 0, RDLENGTH 0
const Wire kOpt = {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

struct HostileCase {
  const char* name;  // a sentence in CamelCase: the parameterized test's name
  Wire bytes;
  QueryError expected;
};

// Question name of four 63-byte labels: 257 bytes.
Wire name_over_255_via_labels() {
  PacketBuilder b;
  b.raw(header(1));
  for (int i = 0; i < 4; ++i) b.label(std::string(63, 'x'));
  b.u8(0).u16(qtype::kA).u16(kClassIn);
  return b.bytes();
}

// Answer 1 owns a 129-byte name at 19; answer 2's owner is 128 bytes of labels plus a pointer
// to it: 257 bytes once decompressed, though every piece is well-formed.
Wire name_over_255_via_pointers() {
  PacketBuilder b;
  b.raw(header(1, 2)).raw(kQuestionA);
  const std::string l63(63, 'x');
  b.label(l63).label(l63).u8(0).raw(kFixedA);
  b.label(l63).label(l63).pointer(19).raw(kFixedA);
  return b.bytes();
}

// An answer whose RDATA is a root label and 99 pointers, each to the one before, then a second
// answer whose owner points at the last: 100 hops, all backwards.
Wire pointer_chain_of_100_hops() {
  PacketBuilder b;
  b.raw(header(1, 2)).raw(kQuestionA);
  const std::uint16_t root = 19 + 1 + 10;
  b.u8(0).rr_fixed(qtype::kTxt, kClassIn, 0, 1 + 2 * 99).u8(0);
  for (int i = 0; i < 99; ++i) {
    b.pointer(static_cast<std::uint16_t>(i == 0 ? root : root + 1 + 2 * (i - 1)));
  }
  b.pointer(static_cast<std::uint16_t>(b.size() - 2)).rr_fixed(qtype::kTxt, kClassIn, 0, 0);
  return b.bytes();
}

// clang-format off
const HostileCase kHostileCases[] = {
    {"EmptyPacketHasNoHeader", {}, QueryError::kNoHeader},
    {"ElevenBytesHaveNoHeader",
     {0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}, QueryError::kNoHeader},
    {"ResponseIsNeverAnswered",
     cat({header(1, 0, 0, 0, flag::kQr | flag::kRd), kQuestionA}), QueryError::kIsResponse},
    {"ResponseWinsOverGarbage",
     cat({header(0xffff, 0xffff, 0xffff, 0xffff, 0xffff), {0xc0}}), QueryError::kIsResponse},
    {"Opcode1IqueryIsNotImplemented",
     cat({header(1, 0, 0, 0, 0x0800), kQuestionA}), QueryError::kNotImplemented},
    {"Opcode2StatusIsNotImplemented",
     cat({header(1, 0, 0, 0, 0x1000), kQuestionA}), QueryError::kNotImplemented},
    {"Opcode5UpdateIsNotImplemented",
     cat({header(1, 0, 0, 0, 0x2800), kQuestionA}), QueryError::kNotImplemented},
    {"Opcode4WithNoQuestionIsStillNotImplemented",
     header(0, 0, 0, 0, 0x2000), QueryError::kNotImplemented},
    {"QdcountZero", header(0), QueryError::kMalformed},
    {"QdcountTwo", cat({header(2), kQuestionA, kQuestionA}), QueryError::kMalformed},
    {"QdcountFfff", cat({header(0xffff), kQuestionA}), QueryError::kMalformed},
    {"QdcountOneButNoQuestion", header(1), QueryError::kMalformed},
    // 05 'a' 'b': the label claims 5 bytes, 2 remain.
    {"TruncatedLabel", cat({header(1), {0x05, 'a', 'b'}}), QueryError::kMalformed},
    // 01 'a' and the packet ends before the root label.
    {"NameWithoutRootLabel", cat({header(1), {0x01, 'a'}}), QueryError::kMalformed},
    // 0x40 as a length: 64 > 63, and the 0b01 label type besides.
    {"LabelLength64",
     cat({header(1), {0x40}, Wire(64, 'x'), {0x00, 0x00, 0x01, 0x00, 0x01}}), QueryError::kMalformed},
    // 0x41: the EDNS0 bitstring label type (RFC 2673, historic).
    {"LabelType0x40Extended",
     cat({header(1), {0x41, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01}}), QueryError::kMalformed},
    {"LabelType0x80Reserved",
     cat({header(1), {0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01}}), QueryError::kMalformed},
    {"NameOver255ViaLabels", name_over_255_via_labels(), QueryError::kMalformed},
    {"NameOver255ViaPointers", name_over_255_via_pointers(), QueryError::kMalformed},
    // Question name C0 00: a pointer into the header.
    {"QuestionPointerIntoHeader",
     cat({header(1), {0xc0, 0x00, 0x00, 0x01, 0x00, 0x01}}), QueryError::kMalformed},
    // Question name C0 0C: points at itself.
    {"QuestionPointerToItself",
     cat({header(1), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01}}), QueryError::kMalformed},
    // Question name 01 'a' C0: the pointer's second byte is missing.
    {"TruncatedPointer", cat({header(1), {0x01, 'a', 0xc0}}), QueryError::kMalformed},
    {"TruncatedQtype", cat({header(1), {0x01, 'a', 0x00, 0x00}}), QueryError::kMalformed},
    {"TruncatedQclass",
     cat({header(1), {0x01, 'a', 0x00, 0x00, 0x01, 0x00}}), QueryError::kMalformed},
    // Answer owner at 19 is C0 13: a pointer to itself.
    {"PointerLoopSelf",
     cat({header(1, 1), kQuestionA, {0xc0, 0x13}, kFixedA}), QueryError::kMalformed},
    // Answer owner at 19 is 01 'x' C0 13: back to its own start, an endless x.x.x...
    {"PointerLoopThroughALabel",
     cat({header(1, 1), kQuestionA, {0x01, 'x', 0xc0, 0x13}, kFixedA}), QueryError::kMalformed},
    // 19: C0 15 -> 21: C0 13 -> 19 ...
    {"PointerLoopTwoPointers",
     cat({header(1, 1), kQuestionA, {0xc0, 0x15, 0xc0, 0x13}, kFixedA}), QueryError::kMalformed},
    // Answer owner C0 1F points at the "b." in its own RDATA at 31: forward.
    {"ForwardPointer",
     cat({header(1, 1), kQuestionA, {0xc0, 0x1f},
          {0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x03}, {0x01, 'b', 0x00}}),
     QueryError::kMalformed},
    // Answer owner FF FF: offset 0x3FFF, far past the end.
    {"PointerPastEnd",
     cat({header(1, 1), kQuestionA, {0xff, 0xff}, kFixedA}), QueryError::kMalformed},
    // Answer owner C0 04: into the header's counts.
    {"PointerIntoHeader",
     cat({header(1, 1), kQuestionA, {0xc0, 0x04}, kFixedA}), QueryError::kMalformed},
    {"PointerChainOf100Hops", pointer_chain_of_100_hops(), QueryError::kMalformed},
    {"ReservedLabelTypeInAdditionalOwner",
     cat({header(1, 0, 0, 1), kQuestionA, {0x80, 0x00}, kFixedA}), QueryError::kMalformed},
    {"AncountOverrunning", cat({header(1, 1), kQuestionA}), QueryError::kMalformed},
    {"NscountOverrunning",
     cat({header(1, 0, 2), kQuestionA, {0xc0, 0x0c}, kFixedA}), QueryError::kMalformed},
    {"ArcountOverrunning", cat({header(1, 0, 0, 1), kQuestionA}), QueryError::kMalformed},
    {"HugeCountsFfff",
     cat({header(1, 0xffff, 0xffff, 0xffff), kQuestionA, {0xc0, 0x0c}, kFixedA}),
     QueryError::kMalformed},
    // Owner C0 0C then 5 of the 10 fixed bytes.
    {"TruncatedRecordFixedPart",
     cat({header(1, 1), kQuestionA, {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00}}),
     QueryError::kMalformed},
    // RDLENGTH 10, 4 bytes of RDATA.
    {"RdlengthOverrunning",
     cat({header(1, 1), kQuestionA, {0xc0, 0x0c},
          {0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x0a, 192, 0, 2, 1}}),
     QueryError::kMalformed},
    {"TwoOptRecords", cat({header(1, 0, 0, 2), kQuestionA, kOpt, kOpt}), QueryError::kMalformed},
    // OPT owned by "a." (C0 0C) instead of the root.
    {"OptWithNonRootOwner",
     cat({header(1, 0, 0, 1), kQuestionA, {0xc0, 0x0c},
          {0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}),
     QueryError::kMalformed},
    {"OptInAnswerSection", cat({header(1, 1), kQuestionA, kOpt}), QueryError::kMalformed},
    {"OptInAuthoritySection", cat({header(1, 0, 1), kQuestionA, kOpt}), QueryError::kMalformed},
    // 00 00 29 04 D0 00: the OPT stops inside its TTL.
    {"TruncatedOpt",
     cat({header(1, 0, 0, 1), kQuestionA, {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00}}),
     QueryError::kMalformed},
    // OPT RDLENGTH 8 with one 4-byte option header only.
    {"OptRdlengthOverrunning",
     cat({header(1, 0, 0, 1), kQuestionA,
          {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00, 0x02}}),
     QueryError::kMalformed},
};
// clang-format on

class HostileQuery : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileQuery, GivesExactlyTheExpectedError) {
  const HostileCase& c = GetParam();
  // A heap copy of exactly the packet's size, so ASan sees any read past its end.
  const std::vector<std::uint8_t> packet(c.bytes.begin(), c.bytes.end());
  const ParsedQuery parsed = parse_query(packet);
  EXPECT_EQ(parsed.error, c.expected) << c.name;
  if (c.expected != QueryError::kNoHeader) {
    EXPECT_EQ(parsed.query.header.id, 0xbeef) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(ParseQuery, HostileQuery, ::testing::ValuesIn(kHostileCases),
                         [](const ::testing::TestParamInfo<HostileCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(HostileQueryTable, HasAtLeastThirtyCases) {
  EXPECT_GE(std::size(kHostileCases), 30u);
}

TEST(ParseQuery, SurvivesEveryPrefixOfAValidQueryWithEdns) {
  PacketBuilder b;
  b.header(1, 0, 1, 1, 0, 1).question("www.example.com", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({1, 2, 3, 4});
  b.opt(1232, 0x8000, {0x00, 0x0f, 0x00, 0x02, 0x00, 0x03});
  ASSERT_EQ(parse_query(b.bytes()).error, QueryError::kNone);
  for (std::size_t len = 0; len < b.size(); ++len) {
    const std::vector<std::uint8_t> prefix(b.bytes().begin(), b.bytes().begin() + len);
    const QueryError expected = len < 12 ? QueryError::kNoHeader : QueryError::kMalformed;
    EXPECT_EQ(parse_query(prefix).error, expected) << "prefix of " << len << " bytes";
  }
}

}  // namespace
}  // namespace holdfast::dns
