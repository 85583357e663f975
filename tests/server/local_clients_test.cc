// Who a block without `bind` and `acl` answers: loopback and the node's own subnets.
#include "server/local_clients.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace holdfast::server {
namespace {

sockaddr_storage peer(const std::string& text) {
  sockaddr_storage out{};
  if (text.find(':') == std::string::npos) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(out);
    v4.sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &v4.sin_addr), 1) << text;
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
    v6.sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr), 1) << text;
  }
  return out;
}

config::AclNetwork net(const std::string& address, std::uint8_t bits) {
  config::AclNetwork out;
  const sockaddr_storage p = peer(address);
  if (p.ss_family == AF_INET) {
    out.family = AF_INET;
    std::memcpy(out.address.data(), &reinterpret_cast<const sockaddr_in&>(p).sin_addr, 4);
  } else {
    out.family = AF_INET6;
    std::memcpy(out.address.data(), &reinterpret_cast<const sockaddr_in6&>(p).sin6_addr, 16);
  }
  out.prefix_bits = bits;
  return out;
}

TEST(LocalClients, LoopbackIsAlwaysLocal) {
  LocalClients local;
  local.set_subnets({}, 0);
  for (const char* address : {"127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(local.contains(peer(address), 0)) << address;
  }
}

TEST(LocalClients, OnlyTheNodesSubnetsAreLocal) {
  LocalClients local;
  local.set_subnets({net("10.1.0.0", 16), net("fd00:1::", 64)}, 0);
  EXPECT_TRUE(local.contains(peer("10.1.200.3"), 1));
  EXPECT_TRUE(local.contains(peer("::ffff:10.1.0.9"), 1));
  EXPECT_TRUE(local.contains(peer("fd00:1::42"), 1));
  EXPECT_FALSE(local.contains(peer("10.2.0.1"), 1));
  EXPECT_FALSE(local.contains(peer("203.0.113.5"), 1));
  EXPECT_FALSE(local.contains(peer("fd00:2::1"), 1));
  EXPECT_FALSE(local.contains(peer("2001:db8::1"), 1));
}

TEST(LocalClients, AStrangerRereadsTheInterfacesAtMostEveryRefreshPeriod) {
  LocalClients local;
  local.set_subnets({}, 0);
  // Within the period the injected (empty) list stands, so a non-loopback address is refused
  // without reading the interfaces again.
  EXPECT_FALSE(local.contains(peer("203.0.113.5"), LocalClients::kRefreshMs - 1));
  EXPECT_TRUE(local.subnets().empty());
  // After it, the real interfaces are read (lo is up here: 127.0.0.0/8 at least).
  local.contains(peer("203.0.113.5"), LocalClients::kRefreshMs);
  EXPECT_FALSE(local.subnets().empty());
}

TEST(LocalClients, ReadsTheLoopbackSubnet) {
  const auto subnets = read_interface_subnets();
  const bool has_lo = std::any_of(subnets.begin(), subnets.end(), [](const config::AclNetwork& n) {
    return n.family == AF_INET && n.address[0] == 127 && n.prefix_bits == 8;
  });
  EXPECT_TRUE(has_lo);
}

}  // namespace
}  // namespace holdfast::server
