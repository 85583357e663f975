// Tokens, durations and addresses: the lexical layer under every dnsfault input.
#include "text.h"

#include <gtest/gtest.h>

namespace holdfast::dnsfault {
namespace {

TEST(Tokenize, SplitsOnBlanksHonoursQuotesAndStopsAtComments) {
  auto tokens = tokenize("  set  rcode 'a b' \"c'd\" x'y'z # comment 'ignored");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(*tokens, (std::vector<std::string>{"set", "rcode", "a b", "c'd", "xyz"}));
}

TEST(Tokenize, MakesSemicolonsTokensEvenWhenGlued) {
  auto tokens = tokenize("a 0.1; b;c");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(*tokens, (std::vector<std::string>{"a", "0.1", ";", "b", ";", "c"}));
}

TEST(Tokenize, RejectsAnUnterminatedQuote) {
  EXPECT_FALSE(tokenize("a 'b"));
}

TEST(Duration, ReadsUnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration_ms("250ms").value(), 250u);
  EXPECT_EQ(parse_duration_ms("10s").value(), 10'000u);
  EXPECT_EQ(parse_duration_ms("1.5s").value(), 1'500u);
  EXPECT_EQ(parse_duration_ms("2m").value(), 120'000u);
  EXPECT_EQ(parse_duration_ms("1h").value(), 3'600'000u);
  EXPECT_EQ(parse_duration_ms("90").value(), 90'000u);
  EXPECT_FALSE(parse_duration_ms("-1s"));
  EXPECT_FALSE(parse_duration_ms("soon"));
  EXPECT_FALSE(parse_duration_ms("s"));
  EXPECT_EQ(format_duration_ms(10'000), "10s");
  EXPECT_EQ(format_duration_ms(250), "250ms");
  EXPECT_EQ(format_duration_ms(1'500), "1.5s");
}

TEST(HostPort, ReadsIpv4AndBracketedIpv6) {
  auto v4 = parse_host_port("127.0.0.1:5300");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 5300u);
  auto v6 = parse_host_port("[::1]:53");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_host_port("127.0.0.1"));
  EXPECT_FALSE(parse_host_port("::1:53"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:0"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:65536"));
  EXPECT_FALSE(parse_socket_address("localhost:53"));
}

bool loopback(std::string_view address) {
  const sockaddr_storage addr = parse_socket_address(address).value();
  return is_loopback(reinterpret_cast<const sockaddr*>(&addr));
}

TEST(Loopback, AcceptsOnlyLoopbackAddresses) {
  EXPECT_TRUE(loopback("127.0.0.2:1"));
  EXPECT_TRUE(loopback("[::1]:1"));
  EXPECT_FALSE(loopback("10.0.0.1:1"));
}

}  // namespace
}  // namespace holdfast::dnsfault
