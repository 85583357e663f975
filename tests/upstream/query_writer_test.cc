#include "upstream/query_writer.h"

#include <gtest/gtest.h>

#include "dns/header.h"
#include "dns/packet_builder.h"
#include "dns/response.h"

namespace holdfast::upstream {
namespace {

using dns::testing::PacketBuilder;

std::vector<std::uint8_t> client_query(const char* name, bool with_do = false) {
  PacketBuilder b;
  b.header(0xbeef, 0x0110, 1, 0, 0, 1)
      .question(name, dns::qtype::kA)
      .opt(4096, with_do ? 0x8000 : 0);
  return b.bytes();
}

std::vector<std::uint8_t> upstream_query_for(const std::vector<std::uint8_t>& client,
                                             UpstreamQueryOptions options = {}) {
  auto parsed = dns::parse_query(client);
  std::vector<std::uint8_t> out(512);
  out.resize(write_upstream_query(client, parsed.query.question, options, out));
  return out;
}

TEST(WriteUpstreamQuery, LowerCasesTheNameAndSetsRdWithOurEdnsSize) {
  auto query = upstream_query_for(client_query("WWW.Example.COM"));
  auto parsed = dns::parse_query(query);
  ASSERT_EQ(parsed.error, dns::QueryError::kNone);
  EXPECT_TRUE(parsed.query.header.rd());
  EXPECT_FALSE(parsed.query.header.cd());
  EXPECT_EQ(dns::name_to_text(query, parsed.query.question.name), "www.example.com.");
  ASSERT_TRUE(parsed.query.opt);
  EXPECT_EQ(parsed.query.opt->udp_size, 1232);
  EXPECT_FALSE(parsed.query.opt->do_bit);
}

TEST(WriteUpstreamQuery, CarriesTheDoAndCdBits) {
  UpstreamQueryOptions options;
  options.do_bit = true;
  options.cd_bit = true;
  auto query = upstream_query_for(client_query("www.example.com"), options);
  auto parsed = dns::parse_query(query);
  EXPECT_TRUE(parsed.query.header.cd());
  EXPECT_TRUE(parsed.query.opt->do_bit);
}

TEST(ResponseMatches, AcceptsTheSameQuestionInAnyCase) {
  auto query = upstream_query_for(client_query("www.example.com"));
  PacketBuilder response;
  response.header(1, 0x8180, 1).question("WWW.EXAMPLE.COM", dns::qtype::kA);
  EXPECT_TRUE(response_matches(query, response.bytes()));
}

TEST(ResponseMatches, RejectsAnotherNameTypeOrAQuery) {
  auto query = upstream_query_for(client_query("www.example.com"));
  PacketBuilder other_name;
  other_name.header(1, 0x8180, 1).question("evil.example.com", dns::qtype::kA);
  EXPECT_FALSE(response_matches(query, other_name.bytes()));
  PacketBuilder other_type;
  other_type.header(1, 0x8180, 1).question("www.example.com", dns::qtype::kAaaa);
  EXPECT_FALSE(response_matches(query, other_type.bytes()));
  PacketBuilder not_response;
  not_response.header(1, 0x0100, 1).question("www.example.com", dns::qtype::kA);
  EXPECT_FALSE(response_matches(query, not_response.bytes()));
  PacketBuilder no_question;
  no_question.header(1, 0x8180, 0);
  EXPECT_FALSE(response_matches(query, no_question.bytes()));
}

}  // namespace
}  // namespace holdfast::upstream
