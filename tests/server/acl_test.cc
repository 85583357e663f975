// acl rules at query time: the first matching rule wins, zones and networks and types filter.
#include "server/acl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

#include "dns/name.h"
#include "server/peers.h"

namespace holdfast::server {
namespace {

using config::AclAction;
using testing::net;
using testing::peer;

std::string wire(const char* name) {
  std::string out;
  dns::text_to_wire(name, out);
  return out;
}

AclAction decide(const Acl& acl, const char* name, std::uint16_t qtype, const char* from) {
  const std::string w = wire(name);
  return acl.decide(dns::Bytes(reinterpret_cast<const std::uint8_t*>(w.data()), w.size()), qtype,
                    peer(from));
}

TEST(NetworkContains, MatchesPrefixesOfBothFamiliesAndMappedAddresses) {
  EXPECT_TRUE(network_contains(net("10.0.0.0", 8), peer("10.200.3.4")));
  EXPECT_FALSE(network_contains(net("10.0.0.0", 8), peer("11.0.0.1")));
  EXPECT_TRUE(network_contains(net("192.168.4.0", 22), peer("192.168.7.255")));
  EXPECT_FALSE(network_contains(net("192.168.4.0", 22), peer("192.168.8.0")));
  EXPECT_TRUE(network_contains(net("fd00::", 8), peer("fd12::1")));
  EXPECT_FALSE(network_contains(net("fd00::", 8), peer("fe80::1")));
  EXPECT_TRUE(network_contains(net("10.0.0.0", 8), peer("::ffff:10.1.2.3")));
  EXPECT_FALSE(network_contains(net("fd00::", 8), peer("10.1.2.3")));
  EXPECT_TRUE(network_contains(net("0.0.0.0", 0), peer("203.0.113.9")));
}

TEST(Acl, FirstMatchingRuleWinsAndNoMatchAllows) {
  config::ServerBlock block;
  block.zones = {"cluster.local."};
  config::AclConfig acl;
  acl.rules.push_back({AclAction::kBlock, {255}, {}});                      // ANY from anyone
  acl.rules.push_back({AclAction::kAllow, {}, {net("10.244.0.0", 16)}});    // pods
  acl.rules.push_back({AclAction::kFilter, {28}, {net("192.0.2.0", 24)}});  // AAAA from there
  acl.rules.push_back({AclAction::kDrop, {}, {}});                          // the rest
  block.acl.push_back(acl);
  const Acl compiled(block);
  EXPECT_EQ(decide(compiled, "a.cluster.local.", 255, "10.244.1.1"), AclAction::kBlock);
  EXPECT_EQ(decide(compiled, "a.cluster.local.", 1, "10.244.1.1"), AclAction::kAllow);
  EXPECT_EQ(decide(compiled, "a.cluster.local.", 28, "192.0.2.9"), AclAction::kFilter);
  EXPECT_EQ(decide(compiled, "a.cluster.local.", 1, "192.0.2.9"), AclAction::kDrop);
  // Names outside the acl's zones are not its business.
  EXPECT_EQ(decide(compiled, "example.org.", 1, "192.0.2.9"), AclAction::kAllow);
}

TEST(Acl, ZonesOfTheDirectiveNarrowIt) {
  config::ServerBlock block;
  block.zones = {"."};
  config::AclConfig acl;
  acl.zones = {"internal.example."};
  acl.rules.push_back({AclAction::kBlock, {}, {}});
  block.acl.push_back(acl);
  const Acl compiled(block);
  EXPECT_EQ(decide(compiled, "db.internal.example.", 1, "10.0.0.1"), AclAction::kBlock);
  EXPECT_EQ(decide(compiled, "www.example.", 1, "10.0.0.1"), AclAction::kAllow);
  EXPECT_TRUE(Acl(config::ServerBlock{}).empty());
}

}  // namespace
}  // namespace holdfast::server
