// Tests for dns/message.h: parse_query on well-formed queries, the RR walk and its pieces.
// Hostile packets are in message_hostile_test.cc.
#include "dns/message.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <vector>

#include "packet_builder.h"

namespace holdfast::dns {
namespace {

using testing::PacketBuilder;

constexpr std::uint16_t kRdFlag = flag::kRd;

TEST(ParseQuery, ReadsEveryFieldOfASimpleQuery) {
  const std::vector<std::uint8_t> packet = {
      0xbe, 0xef,                                // ID
      0x01, 0x10,                                // RD, CD
      0x00, 0x01,                                // QDCOUNT 1
      0x00, 0x00,                                // ANCOUNT
      0x00, 0x00,                                // NSCOUNT
      0x00, 0x00,                                // ARCOUNT
      3,    'w',  'w', 'w',                      // www
      7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',  // example
      3,    'c',  'o', 'm', 0,                   // com, root
      0x00, 0x1c,                                // QTYPE AAAA
      0x00, 0x01,                                // QCLASS IN
  };
  const ParsedQuery parsed = parse_query(packet);
  ASSERT_EQ(parsed.error, QueryError::kNone);
  const QueryView& q = parsed.query;
  EXPECT_EQ(q.header.id, 0xbeef);
  EXPECT_FALSE(q.header.qr());
  EXPECT_TRUE(q.header.rd());
  EXPECT_TRUE(q.header.cd());
  EXPECT_FALSE(q.header.tc());
  EXPECT_EQ(q.header.opcode(), 0);
  EXPECT_EQ(q.header.qdcount, 1);
  EXPECT_EQ(q.question.name.offset, 12u);
  EXPECT_EQ(q.question.name.wire_len, 17u);
  EXPECT_EQ(q.question.name.full_len, 17u);
  EXPECT_EQ(q.question.qtype, qtype::kAaaa);
  EXPECT_EQ(q.question.qclass, kClassIn);
  EXPECT_EQ(q.question.end, packet.size());
  EXPECT_FALSE(q.opt);
  EXPECT_FALSE(q.edns_bad_version);
}

TEST(ParseQuery, ReadsTheOptRecord) {
  PacketBuilder b;
  b.header(7, kRdFlag, 1, 0, 0, 1).question("example.com", qtype::kA);
  const std::size_t opt_offset = b.size();
  // OPT: UDP 4096, ext-rcode 0, version 0, DO; RDATA one option (code 10, cookie, 8 bytes).
  b.opt(4096, 0x00008000, {0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8});
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kNone);
  ASSERT_TRUE(parsed.query.opt);
  const Opt& opt = *parsed.query.opt;
  EXPECT_EQ(opt.offset, opt_offset);
  EXPECT_EQ(opt.end, b.size());
  EXPECT_EQ(opt.udp_size, 4096);
  EXPECT_EQ(opt.extended_rcode, 0);
  EXPECT_EQ(opt.version, 0);
  EXPECT_TRUE(opt.do_bit);
  EXPECT_EQ(opt.rdata_offset, opt_offset + 11);
  EXPECT_EQ(opt.rdata_len, 12);
  EXPECT_FALSE(parsed.query.edns_bad_version);
}

TEST(ParseQuery, FlagsAnUnknownEdnsVersionButStillParses) {
  PacketBuilder b;
  b.header(7, 0, 1, 0, 0, 1).question("a", qtype::kA).opt(1232, 0x00010000);  // version 1
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kNone);
  ASSERT_TRUE(parsed.query.opt);
  EXPECT_EQ(parsed.query.opt->version, 1);
  EXPECT_FALSE(parsed.query.opt->do_bit);
  EXPECT_TRUE(parsed.query.edns_bad_version);
}

TEST(ParseQuery, KeepsTheQuestionAsTheClientWroteIt) {
  PacketBuilder b;
  b.header(1, 0, 1).question("WwW.ExAmPlE.cOm", qtype::kA);
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kNone);
  EXPECT_EQ(name_to_text(b.bytes(), parsed.query.question.name), "WwW.ExAmPlE.cOm.");
}

TEST(ParseQuery, AcceptsTrailingBytesAfterTheLastRecord) {
  PacketBuilder b;
  b.header(1, 0, 1).question("a", qtype::kA).raw({0xde, 0xad, 0xbe, 0xef});
  EXPECT_EQ(parse_query(b.bytes()).error, QueryError::kNone);
}

TEST(ParseQuery, AcceptsRecordsInTheAnswerAndAuthoritySections) {
  PacketBuilder b;
  b.header(1, 0, 1, 1, 1, 1).question("a", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({192, 0, 2, 1});  // answer
  b.rr("ns", qtype::kNs, 60, {0xc0, 0x0c});                                // authority
  b.opt(512);                                                              // additional
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kNone);
  EXPECT_TRUE(parsed.query.opt);
}

TEST(ParseQuery, AcceptsAPointerChainOfTheMaximumLength) {
  PacketBuilder b;
  b.header(1, 0, 1, 0, 0, 1).question("a", qtype::kA);
  // Additional: one record whose RDATA holds a root label and 63 pointers, each to the one
  // before; then a record whose owner points at the last: 64 hops in all.
  const std::uint16_t root = static_cast<std::uint16_t>(b.size() + 1 + 10);
  b.u8(0).rr_fixed(qtype::kTxt, kClassIn, 0, 1 + 2 * 63).u8(0);
  for (int i = 0; i < 63; ++i)
    b.pointer(static_cast<std::uint16_t>(i == 0 ? root : root + 1 + 2 * (i - 1)));
  const std::uint16_t last = static_cast<std::uint16_t>(b.size() - 2);
  b.bytes()[11] = 2;  // ARCOUNT
  b.pointer(last).rr_fixed(qtype::kTxt, kClassIn, 0, 0);
  EXPECT_EQ(parse_query(b.bytes()).error, QueryError::kNone);
}

TEST(ParseQuery, ReportsNotImplementedWithHeaderQuestionAndOpt) {
  PacketBuilder b;
  b.header(0x4242, 0x2000 | kRdFlag, 1, 0, 0, 1).question("zone", qtype::kSoa).opt(1400);  // NOTIFY
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kNotImplemented);
  EXPECT_EQ(parsed.query.header.id, 0x4242);
  EXPECT_EQ(parsed.query.header.opcode(), static_cast<std::uint8_t>(Opcode::kNotify));
  EXPECT_EQ(parsed.query.question.end, 12u + 6u + 4u);
  EXPECT_TRUE(parsed.query.opt);
}

TEST(ParseQuery, ReportsMalformedWithHeaderAndReadableQuestionButNoOpt) {
  PacketBuilder b;
  b.header(0x4242, kRdFlag, 1, 0, 0, 2).question("a", qtype::kA).opt(1232).opt(1232);
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kMalformed);
  EXPECT_EQ(parsed.query.header.id, 0x4242);
  EXPECT_EQ(parsed.query.question.end, 19u);
  EXPECT_FALSE(parsed.query.opt);
}

TEST(ParseQuery, ReportsMalformedWithoutQuestionWhenQdcountIsNotOne) {
  PacketBuilder b;
  b.header(9, 0, 2).question("a", qtype::kA).question("b", qtype::kA);
  const ParsedQuery parsed = parse_query(b.bytes());
  ASSERT_EQ(parsed.error, QueryError::kMalformed);
  EXPECT_EQ(parsed.query.header.qdcount, 2);
  EXPECT_EQ(parsed.query.question.end, 0u);
}

TEST(ReadRecord, ReadsEveryFieldAndOffset) {
  PacketBuilder b;
  b.header(1, flag::kQr, 1, 1).question("host.example", qtype::kA);
  const std::size_t at = b.size();
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 0x01020304, 4).raw({192, 0, 2, 7});
  const auto record = read_record(b.bytes(), at, Section::kAnswer);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->section, Section::kAnswer);
  EXPECT_EQ(record->owner.offset, at);
  EXPECT_EQ(record->owner.wire_len, 2u);
  EXPECT_EQ(record->owner.full_len, 14u);
  EXPECT_EQ(record->type, qtype::kA);
  EXPECT_EQ(record->rclass, kClassIn);
  EXPECT_EQ(record->ttl, 0x01020304u);
  EXPECT_EQ(record->offset, at);
  EXPECT_EQ(record->ttl_offset, at + 6);
  EXPECT_EQ(read_u32(b.bytes().data() + record->ttl_offset), 0x01020304u);
  EXPECT_EQ(record->rdata_offset, at + 12);
  EXPECT_EQ(record->rdata_len, 4);
  EXPECT_EQ(record->end, b.size());
}

TEST(ReadRecord, RejectsRdataPastTheEnd) {
  PacketBuilder b;
  b.header(1, 0, 0).name("a").rr_fixed(qtype::kA, kClassIn, 1, 5).raw({1, 2, 3, 4});
  EXPECT_FALSE(read_record(b.bytes(), 12, Section::kAnswer));
  b.u8(5);
  EXPECT_TRUE(read_record(b.bytes(), 12, Section::kAnswer));
}

TEST(SkipQuestions, SkipsEveryQuestionOrFails) {
  PacketBuilder b;
  b.header(1, 0, 2).question("a", qtype::kA).question("bb", qtype::kMx);
  EXPECT_EQ(skip_questions(b.bytes(), 2), b.size());
  EXPECT_EQ(skip_questions(b.bytes(), 1), 19u);
  EXPECT_EQ(skip_questions(b.bytes(), 0), 12u);
  EXPECT_FALSE(skip_questions(b.bytes(), 3));
  EXPECT_FALSE(skip_questions(Bytes(b.bytes()).first(11), 0));
}

PacketBuilder three_sections() {
  PacketBuilder b;
  b.header(1, flag::kQr, 1, 2, 1, 1).question("a", qtype::kA);
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 10, 4).raw({1, 1, 1, 1});
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 20, 4).raw({2, 2, 2, 2});
  b.pointer(12).rr_fixed(qtype::kNs, kClassIn, 30, 2).pointer(12);
  b.opt(1232);
  return b;
}

TEST(WalkRecords, VisitsEveryRecordInOrderWithItsSection) {
  const auto b = three_sections();
  std::vector<std::pair<Section, std::uint16_t>> seen;
  EXPECT_TRUE(walk_records(b.bytes(), *read_header(b.bytes()), 19, [&](const Record& r) {
    seen.emplace_back(r.section, r.type);
    return true;
  }));
  const std::vector<std::pair<Section, std::uint16_t>> expected = {
      {Section::kAnswer, qtype::kA},
      {Section::kAnswer, qtype::kA},
      {Section::kAuthority, qtype::kNs},
      {Section::kAdditional, qtype::kOpt},
  };
  EXPECT_EQ(seen, expected);
}

TEST(WalkRecords, StopsWhenTheVisitorSaysSo) {
  const auto b = three_sections();
  int visits = 0;
  EXPECT_TRUE(walk_records(b.bytes(), *read_header(b.bytes()), 19, [&](const Record&) {
    ++visits;
    return false;
  }));
  EXPECT_EQ(visits, 1);
}

TEST(WalkRecords, FailsAfterVisitingThePrefixWhenCountsExceedTheRecords) {
  auto b = three_sections();
  Header header = *read_header(b.bytes());
  header.arcount = 2;
  int visits = 0;
  EXPECT_FALSE(walk_records(b.bytes(), header, 19, [&](const Record&) {
    ++visits;
    return true;
  }));
  EXPECT_EQ(visits, 4);
}

TEST(ReadHeader, RoundTripsAllSixFields) {
  const Header header{0x1234, 0x8583, 1, 2, 3, 4};
  std::vector<std::uint8_t> packet(12);
  write_header(packet, header);
  const std::vector<std::uint8_t> expected = {0x12, 0x34, 0x85, 0x83, 0, 1, 0, 2, 0, 3, 0, 4};
  EXPECT_EQ(packet, expected);
  const auto back = read_header(packet);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, 0x1234);
  EXPECT_EQ(back->flags, 0x8583);
  EXPECT_TRUE(back->qr());
  EXPECT_EQ(back->rcode(), 3);
  EXPECT_EQ(back->arcount, 4);
  EXPECT_FALSE(read_header(Bytes(packet).first(11)));
}

TEST(SetRcode, ChangesOnlyTheRcodeBits) {
  std::vector<std::uint8_t> packet = {0, 0, 0x81, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0};
  set_rcode(packet, Rcode::kNxDomain);
  EXPECT_EQ(packet[2], 0x81);
  EXPECT_EQ(packet[3], 0xf3);
  set_id(packet, 0xabcd);
  EXPECT_EQ(read_u16(packet.data()), 0xabcd);
}

// question_hint: the listener's look at a question before parse_query (prefetching).
TEST(QuestionHint, ReadsAPlainQueryAsParseQueryDoes) {
  PacketBuilder b;
  b.header(7, kRdFlag | flag::kCd, 1, 0, 0, 1).question("WwW.Example.com", qtype::kAaaa);
  b.opt(1232, 0x00008000);  // DO
  const std::vector<std::uint8_t> with_do = b.bytes();
  const std::optional<QuestionHint> hint = question_hint(with_do);
  ASSERT_TRUE(hint);
  EXPECT_EQ(hint->question.name.offset, 12u);
  EXPECT_EQ(hint->question.name.full_len, 17u);
  EXPECT_EQ(hint->question.qtype, qtype::kAaaa);
  EXPECT_EQ(hint->question.qclass, kClassIn);
  EXPECT_TRUE(hint->do_bit);
  EXPECT_TRUE(hint->cd_bit);

  PacketBuilder plain;
  plain.header(8, kRdFlag, 1, 0, 0, 0).question("example.com", qtype::kA);
  const auto no_opt = question_hint(plain.bytes());
  ASSERT_TRUE(no_opt);
  EXPECT_FALSE(no_opt->do_bit);
  EXPECT_FALSE(no_opt->cd_bit);
  EXPECT_EQ(no_opt->question.end, plain.size());

  PacketBuilder edns;
  edns.header(9, kRdFlag, 1, 0, 0, 1).question("example.com", qtype::kA).opt(4096);
  const auto without_do = question_hint(edns.bytes());
  ASSERT_TRUE(without_do);
  EXPECT_FALSE(without_do->do_bit);
}

TEST(QuestionHint, NothingForAResponseAnotherOpcodeOrOtherRecords) {
  const auto build = [](std::uint16_t flags, std::uint16_t qd, std::uint16_t an, std::uint16_t ns,
                        std::uint16_t ar) {
    PacketBuilder b;
    b.header(1, flags, qd, an, ns, ar).question("example.com", qtype::kA);
    return b.bytes();
  };
  EXPECT_TRUE(question_hint(build(kRdFlag, 1, 0, 0, 0)));
  EXPECT_FALSE(question_hint(build(flag::kQr, 1, 0, 0, 0)));
  EXPECT_FALSE(question_hint(build(4 << 11, 1, 0, 0, 0)));  // NOTIFY
  EXPECT_FALSE(question_hint(build(kRdFlag, 2, 0, 0, 0)));
  EXPECT_FALSE(question_hint(build(kRdFlag, 1, 1, 0, 0)));
  EXPECT_FALSE(question_hint(build(kRdFlag, 1, 0, 1, 0)));
  EXPECT_FALSE(question_hint(build(kRdFlag, 1, 0, 0, 2)));
  std::vector<std::uint8_t> cut = build(kRdFlag, 1, 0, 0, 0);
  for (std::size_t size = 0; size < cut.size(); ++size) {
    EXPECT_FALSE(question_hint(Bytes(cut.data(), size))) << size;
  }
}

TEST(QuestionHint, AgreesWithParseQueryWheneverBothReadAQuestion) {
  // Random changes to well-formed queries: wherever parse_query accepts the result and the hint
  // gives one, they name the same question and bits (the fuzz target checks the same, longer).
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const std::uint32_t ttl : {0u, 0x00008000u}) {
    PacketBuilder b;
    b.header(3, kRdFlag, 1, 0, 0, 1).question("a.Example.org", qtype::kTxt).opt(1232, ttl);
    seeds.push_back(b.bytes());
  }
  PacketBuilder plain;
  plain.header(4, kRdFlag | flag::kCd, 1, 0, 0, 0).question("x.y", qtype::kA);
  seeds.push_back(plain.bytes());
  std::mt19937 random(20261202);
  int compared = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::uint8_t> packet = seeds[random() % seeds.size()];
    for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips) {
      packet[random() % packet.size()] = static_cast<std::uint8_t>(random());
    }
    if (random() % 4 == 0) packet.resize(random() % (packet.size() + 1));
    const std::optional<QuestionHint> hint = question_hint(packet);
    const ParsedQuery parsed = parse_query(packet);
    if (!hint || parsed.error != QueryError::kNone) continue;
    ++compared;
    const QueryView& q = parsed.query;
    ASSERT_EQ(hint->question.name.full_len, q.question.name.full_len);
    ASSERT_EQ(hint->question.qtype, q.question.qtype);
    ASSERT_EQ(hint->question.qclass, q.question.qclass);
    ASSERT_EQ(hint->do_bit, q.opt && q.opt->do_bit) << round;
    ASSERT_EQ(hint->cd_bit, q.header.cd());
  }
  EXPECT_GT(compared, 1000);
}

}  // namespace
}  // namespace holdfast::dns
