// Tests for dns/reply.h: error replies byte for byte, UDP size limits and truncation.
#include "dns/reply.h"

#include <gtest/gtest.h>

#include <vector>

#include "dns/response.h"
#include "packet_builder.h"

namespace holdfast::dns {
namespace {

using testing::PacketBuilder;
using Wire = std::vector<std::uint8_t>;

// ID BEEF; RD, AD, CD; "WwW.x." A IN.
const Wire kQuery = {
    0xbe, 0xef, 0x01, 0x30, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 'W',  'w',  'W',  0x01, 'x',  0x00, 0x00, 0x01, 0x00, 0x01,
};

// The same with OPT: UDP 4096, DO, a COOKIE option that the reply must not echo.
const Wire kQueryWithOpt = {
    0xbe, 0xef, 0x01, 0x30, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 'W',  'w',  'W',
    0x01, 'x',  0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00,
    0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 1,    2,    3,    4,    5,    6,    7,    8,
};

Wire error_reply(const Wire& query, Rcode rcode, std::optional<std::uint16_t> ede_code = {}) {
  const ParsedQuery parsed = parse_query(query);
  Wire out(1232);
  out.resize(write_error_reply(query, parsed, rcode, ede_code, out));
  return out;
}

TEST(WriteErrorReply, WritesHeaderAndQuestionWithoutOpt) {
  const Wire expected = {
      0xbe, 0xef,                                      // ID copied
      0x81, 0x92,                                      // QR, RD, RA, CD, SERVFAIL (AD dropped)
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // QD 1
      0x03, 'W',  'w',  'W',  0x01, 'x',  0x00,        // the question, case as sent
      0x00, 0x01, 0x00, 0x01,
  };
  EXPECT_EQ(error_reply(kQuery, Rcode::kServFail), expected);
}

TEST(WriteErrorReply, LeavesEdeOutWhenTheClientSentNoOpt) {
  EXPECT_EQ(error_reply(kQuery, Rcode::kServFail, ede::kNoReachableAuthority).size(), 23u);
}

TEST(WriteErrorReply, AddsOurOptWithTheClientsDoBit) {
  const Wire expected = {
      0xbe, 0xef, 0x81, 0x92, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,              // AR 1
      0x03, 'W',  'w',  'W',  0x01, 'x',  0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29,  // OPT
      0x04, 0xd0,              // our UDP size, 1232, not the client's 4096
      0x00, 0x00, 0x80, 0x00,  // DO echoed
      0x00, 0x00,              // no options: the cookie is not echoed
  };
  EXPECT_EQ(error_reply(kQueryWithOpt, Rcode::kServFail), expected);
}

TEST(WriteExtendedErrorReply, BadversSplitsBetweenTheHeaderAndTheOpt) {
  const ParsedQuery parsed = parse_query(kQueryWithOpt);
  Wire out(1232);
  out.resize(write_extended_error_reply(kQueryWithOpt, parsed, kRcodeBadVers, {}, out));
  const Wire expected = {
      0xbe, 0xef, 0x81, 0x90, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // rcode 0
      0x03, 'W',  'w',  'W',  0x01, 'x',  0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29,  // OPT
      0x04, 0xd0,              // UDP size
      0x01, 0x00, 0x80, 0x00,  // extended rcode 1 (BADVERS = 16), version 0, DO
      0x00, 0x00,
  };
  EXPECT_EQ(out, expected);
}

TEST(WriteErrorReply, CarriesTheEdeCodeInTheOpt) {
  const Wire reply = error_reply(kQueryWithOpt, Rcode::kServFail, ede::kNoReachableAuthority);
  const Wire expected_opt = {
      0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x06,  // RDLENGTH
      0x00, 0x0f, 0x00, 0x02,                                            // EDE, length 2
      0x00, 0x16,  // 22: No Reachable Authority
  };
  ASSERT_EQ(reply.size(), 23u + expected_opt.size());
  EXPECT_EQ(Wire(reply.begin() + 23, reply.end()), expected_opt);
  const auto info = parse_response(reply, [](std::size_t) {});
  ASSERT_TRUE(info && info->opt);
  EXPECT_EQ(find_ede_code(reply, info->opt->rdata_offset, info->opt->rdata_len), 22);
}

TEST(WriteErrorReply, EchoesTheOpcodeForNotImp) {
  Wire query = kQuery;
  query[2] = 0x29;  // opcode 5 (UPDATE), RD
  const Wire reply = error_reply(query, Rcode::kNotImp);
  ASSERT_EQ(reply.size(), 23u);
  EXPECT_EQ(reply[2], 0xa9);  // QR, opcode 5, RD
  EXPECT_EQ(reply[3], 0x94);  // RA, CD, NOTIMP
}

TEST(WriteErrorReply, SendsOnlyTheHeaderWhenTheQuestionIsUnreadable) {
  // QDCOUNT 1, name 05 'a': the label runs off the end.
  const Wire query = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00,
                      0x00, 0x00, 0x00, 0x00, 0x01, 0x05, 'a'};
  const Wire expected = {0x12, 0x34, 0x81, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(error_reply(query, Rcode::kFormErr), expected);
}

TEST(WriteErrorReply, SendsOnlyTheHeaderWhenThereAreTwoQuestions) {
  PacketBuilder b;
  b.header(5, 0, 2).question("a", qtype::kA).question("b", qtype::kA);
  const Wire reply = error_reply(b.bytes(), Rcode::kFormErr);
  ASSERT_EQ(reply.size(), 12u);
  EXPECT_EQ(read_header(reply)->qdcount, 0);
}

TEST(WriteErrorReply, KeepsTheQuestionButNotTheOptOfAMalformedQuery) {
  Wire query = kQueryWithOpt;
  query[11] = 2;  // ARCOUNT 2: the second record is missing
  const Wire reply = error_reply(query, Rcode::kFormErr);
  ASSERT_EQ(reply.size(), 23u);
  EXPECT_EQ(read_header(reply)->qdcount, 1);
  EXPECT_EQ(read_header(reply)->arcount, 0);
}

TEST(WriteErrorReply, NeverAnswersResponsesOrRunts) {
  Wire response = kQuery;
  response[2] |= 0x80;
  EXPECT_TRUE(error_reply(response, Rcode::kFormErr).empty());
  EXPECT_TRUE(error_reply(Wire(kQuery.begin(), kQuery.begin() + 11), Rcode::kFormErr).empty());
}

TEST(WriteErrorReply, ReturnsZeroWhenTheBufferIsTooSmall) {
  const ParsedQuery parsed = parse_query(kQueryWithOpt);
  Wire out(23 + 11 - 1);
  EXPECT_EQ(write_error_reply(kQueryWithOpt, parsed, Rcode::kServFail, {}, out), 0u);
  out.resize(23 + 11);
  EXPECT_EQ(write_error_reply(kQueryWithOpt, parsed, Rcode::kServFail, {}, out), 34u);
}

TEST(WriteErrorReply, CanWriteOverTheQueryItself) {
  Wire buffer = kQueryWithOpt;
  const ParsedQuery parsed = parse_query(buffer);
  const std::size_t len = write_error_reply(buffer, parsed, Rcode::kRefused, ede::kOther, buffer);
  buffer.resize(len);
  Wire query_copy = kQueryWithOpt;
  Wire expected(64);
  expected.resize(write_error_reply(query_copy, parse_query(query_copy), Rcode::kRefused,
                                    ede::kOther, expected));
  EXPECT_EQ(buffer, expected);
}

TEST(UdpLimit, Is512WithoutOpt) {
  EXPECT_EQ(udp_limit(parse_query(kQuery).query, 4096), 512u);
}

TEST(UdpLimit, ClampsTheAdvertisedSize) {
  QueryView query = parse_query(kQueryWithOpt).query;  // advertises 4096
  EXPECT_EQ(udp_limit(query, 1232), 1232u);
  EXPECT_EQ(udp_limit(query, 65535), 4096u);
  query.opt->udp_size = 100;  // below 512 means 512 (RFC 6891 §6.2.5)
  EXPECT_EQ(udp_limit(query, 1232), 512u);
  query.opt->udp_size = 1000;
  EXPECT_EQ(udp_limit(query, 1232), 1000u);
}

// A NOERROR reply to kQuery with two A records and an OPT.
Wire full_reply() {
  PacketBuilder b;
  b.header(0xbeef, 0x8180, 1, 2, 0, 1).raw(Wire(kQuery.begin() + 12, kQuery.end()));
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({1, 2, 3, 4});
  b.pointer(12).rr_fixed(qtype::kA, kClassIn, 60, 4).raw({5, 6, 7, 8});
  b.opt(1232);
  return b.bytes();
}

TEST(TruncateReply, KeepsHeaderAndQuestionWithTcAndOpt) {
  Wire reply = full_reply();
  OptToWrite opt;
  opt.do_bit = true;
  reply.resize(truncate_reply(reply, 23, opt));
  const Wire expected = {
      0xbe, 0xef, 0x83, 0x80,                          // QR, TC, RD, RA
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // QD 1, AR 1
      0x03, 'W',  'w',  'W',  0x01, 'x',  0x00, 0x00, 0x01, 0x00, 0x01,
      0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
  };
  EXPECT_EQ(reply, expected);
}

TEST(TruncateReply, DropsEverythingAfterTheQuestionWithoutOpt) {
  Wire reply = full_reply();
  reply.resize(truncate_reply(reply, 23, std::nullopt));
  ASSERT_EQ(reply.size(), 23u);
  const Header header = *read_header(reply);
  EXPECT_TRUE(header.tc());
  EXPECT_EQ(header.qdcount, 1);
  EXPECT_EQ(header.ancount + header.nscount + header.arcount, 0);
}

TEST(TruncateReply, LeavesTheOptOutWhenItDoesNotFit) {
  Wire reply = full_reply();
  reply.resize(30);
  EXPECT_EQ(truncate_reply(reply, 23, OptToWrite{}), 23u);
  EXPECT_EQ(read_header(reply)->arcount, 0);
  EXPECT_EQ(truncate_reply(reply, 31, OptToWrite{}), 0u);
  EXPECT_EQ(truncate_reply(reply, 11, OptToWrite{}), 0u);
}

}  // namespace
}  // namespace holdfast::dns
