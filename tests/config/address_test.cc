// Tests for IP literals, ports, endpoints and listen addresses.
#include "config/address.h"

#include <gtest/gtest.h>

namespace holdfast::config {
namespace {

TEST(Address, CanonicalisesIpLiterals) {
  EXPECT_EQ(canonical_ip("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(canonical_ip("0:0:0:0:0:0:0:1"), "::1");
  EXPECT_EQ(canonical_ip("2001:DB8::A"), "2001:db8::a");
}

TEST(Address, RejectsWhatIsNotAnIpLiteral) {
  for (const char* text : {"", "999.1.1.1", "1.2.3", "01.2.3.4x", "localhost", "[::1]",
                           "fe80::1%eth0", "1.2.3.4:53"}) {
    EXPECT_FALSE(canonical_ip(text)) << text;
  }
}

TEST(Address, ParsesPortsFrom1To65535) {
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("65535"), 65535);
  for (const char* text : {"", "0", "65536", "-1", "53x", " 53"}) {
    EXPECT_FALSE(parse_port(text)) << text;
  }
}

TEST(Address, ParsesEndpointsWithAndWithoutPorts) {
  EXPECT_EQ(parse_endpoint("10.0.0.1", 53), (Endpoint{"10.0.0.1", 53}));
  EXPECT_EQ(parse_endpoint("10.0.0.1:5353", 53), (Endpoint{"10.0.0.1", 5353}));
  EXPECT_EQ(parse_endpoint("::1", 53), (Endpoint{"::1", 53}));
  EXPECT_EQ(parse_endpoint("[::1]", 53), (Endpoint{"::1", 53}));
  EXPECT_EQ(parse_endpoint("[2001:db8::1]:54", 53), (Endpoint{"2001:db8::1", 54}));
}

TEST(Address, RejectsMalformedEndpoints) {
  for (const char* text :
       {"host:53", "10.0.0.1:0", "10.0.0.1:", "[10.0.0.1]:53", "[::1]:x", "::1:53:", "[::1"}) {
    EXPECT_FALSE(parse_endpoint(text, 53)) << text;
  }
}

TEST(Address, AcceptsListenAddressesWithAPort) {
  for (const char* text : {":8080", "169.254.20.10:8080", "[::1]:9253", "localhost:9153"}) {
    EXPECT_TRUE(is_listen_address(text)) << text;
  }
  for (const char* text : {"8080", "169.254.20.10", "host.example:80", "::1:80", ":0"}) {
    EXPECT_FALSE(is_listen_address(text)) << text;
  }
}

TEST(Address, FormatsEndpointsWithBracketsForIpv6) {
  EXPECT_EQ(format_endpoint({"10.0.0.1", 53}), "10.0.0.1:53");
  EXPECT_EQ(format_endpoint({"::1", 5353}), "[::1]:5353");
}

}  // namespace
}  // namespace holdfast::config
