// Who a block without `bind` and `acl` answers: loopback and the node's own subnets.
#include "server/local_clients.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>

#include "base/clock.h"
#include "server/peers.h"

namespace holdfast::server {
namespace {

using testing::net;
using testing::peer;

TEST(LocalClients, LoopbackIsAlwaysLocal) {
  LocalClients local;
  local.set_subnets({}, 0);
  const ManualClock clock;
  for (const char* address : {"127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(local.contains(peer(address), clock)) << address;
  }
}

TEST(LocalClients, OnlyTheNodesSubnetsAreLocal) {
  LocalClients local;
  local.set_subnets({net("10.1.0.0", 16), net("fd00:1::", 64)}, 0);
  const ManualClock clock(0, 1);
  EXPECT_TRUE(local.contains(peer("10.1.200.3"), clock));
  EXPECT_TRUE(local.contains(peer("::ffff:10.1.0.9"), clock));
  EXPECT_TRUE(local.contains(peer("fd00:1::42"), clock));
  EXPECT_FALSE(local.contains(peer("10.2.0.1"), clock));
  EXPECT_FALSE(local.contains(peer("203.0.113.5"), clock));
  EXPECT_FALSE(local.contains(peer("fd00:2::1"), clock));
  EXPECT_FALSE(local.contains(peer("2001:db8::1"), clock));
}

TEST(LocalClients, AStrangerRereadsTheInterfacesAtMostEveryRefreshPeriod) {
  LocalClients local;
  local.set_subnets({}, 0);
  // Within the period the injected (empty) list stands, so a non-loopback address is refused
  // without reading the interfaces again.
  const ManualClock before(0, LocalClients::kRefreshMs - 1);
  EXPECT_FALSE(local.contains(peer("203.0.113.5"), before));
  EXPECT_TRUE(local.subnets().empty());
  // After it, the real interfaces are read (lo is up here: 127.0.0.0/8 at least).
  const ManualClock after(0, LocalClients::kRefreshMs);
  local.contains(peer("203.0.113.5"), after);
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
