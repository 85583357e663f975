// node-cache's rule list (kubernetes/dns cmd/node-cache/app/cache_app.go, initIptables) and the
// nft/legacy choice from what the *-save binaries print.
#include "node/iptables_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace holdfast::node {
namespace {

using Args = std::vector<std::string>;
const std::string kSkip = "NodeLocal DNS Cache: skip conntrack";
const std::string kAllow = "NodeLocal DNS Cache: allow DNS traffic";

TEST(NodeCacheRules, AreTwelvePerAddressInNodeCachesOrder) {
  const auto rules = node_cache_rules({"169.254.20.10"}, 53, 8080);
  const std::vector<IptablesRule> want = {
      {Family::kIpv4, "raw", "PREROUTING",
       Args{"-p", "tcp", "-d", "169.254.20.10", "--dport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "raw", "PREROUTING",
       Args{"-p", "udp", "-d", "169.254.20.10", "--dport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "filter", "INPUT",
       Args{"-p", "tcp", "-d", "169.254.20.10", "--dport", "53", "-j", "ACCEPT", "-m", "comment",
            "--comment", kAllow}},
      {Family::kIpv4, "filter", "INPUT",
       Args{"-p", "udp", "-d", "169.254.20.10", "--dport", "53", "-j", "ACCEPT", "-m", "comment",
            "--comment", kAllow}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "tcp", "-s", "169.254.20.10", "--sport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "udp", "-s", "169.254.20.10", "--sport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "filter", "OUTPUT",
       Args{"-p", "tcp", "-s", "169.254.20.10", "--sport", "53", "-j", "ACCEPT", "-m", "comment",
            "--comment", kAllow}},
      {Family::kIpv4, "filter", "OUTPUT",
       Args{"-p", "udp", "-s", "169.254.20.10", "--sport", "53", "-j", "ACCEPT", "-m", "comment",
            "--comment", kAllow}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "tcp", "-d", "169.254.20.10", "--dport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "udp", "-d", "169.254.20.10", "--dport", "53", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "tcp", "-d", "169.254.20.10", "--dport", "8080", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
      {Family::kIpv4, "raw", "OUTPUT",
       Args{"-p", "tcp", "-s", "169.254.20.10", "--sport", "8080", "-j", "NOTRACK", "-m", "comment",
            "--comment", kSkip}},
  };
  EXPECT_EQ(rules, want);
}

TEST(NodeCacheRules, UseIp6tablesForIpv6AddressesInOneList) {
  const auto rules = node_cache_rules({"169.254.20.10", "fd00::a", "10.96.0.10"}, 53, 8080);
  ASSERT_EQ(rules.size(), 36u);
  for (std::size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(rules[i].family, i / 12 == 1 ? Family::kIpv6 : Family::kIpv4) << i;
    EXPECT_EQ(rules[i].args[3], (i / 12 == 0   ? "169.254.20.10"
                                 : i / 12 == 1 ? "fd00::a"
                                               : "10.96.0.10"))
        << i;
  }
}

TEST(NodeCacheRules, FollowTheDnsAndHealthPorts) {
  const auto rules = node_cache_rules({"fd00::a"}, 1053, 9090);
  EXPECT_EQ(rules[0].args[5], "1053");
  EXPECT_EQ(rules[9].args[5], "1053");
  EXPECT_EQ(rules[10].args[5], "9090");
  EXPECT_EQ(rules[11].args[5], "9090");
}

TEST(NodeCacheRules, SkipWhatIsNotAnAddress) {
  EXPECT_TRUE(node_cache_rules({"nodelocaldns", ""}, 53, 8080).empty());
}

TEST(RuleArgv, ChecksInsertsAtTheTopAndDeletesWithTheLockWait) {
  const auto rule = node_cache_rules({"fd00::a"}, 53, 8080)[1];
  const Args tail{"-p", "udp",     "-d", "fd00::a", "--dport",   "53",
                  "-j", "NOTRACK", "-m", "comment", "--comment", kSkip};
  auto with = [&](Args head) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  EXPECT_EQ(rule_argv(rule, IptablesMode::kLegacy, RuleOp::kCheck),
            with({"ip6tables-legacy", "-w", "5", "-W", "100000", "-t", "raw", "-C", "PREROUTING"}));
  EXPECT_EQ(rule_argv(rule, IptablesMode::kNft, RuleOp::kInsert),
            with({"ip6tables-nft", "-w", "5", "-W", "100000", "-t", "raw", "-I", "PREROUTING"}));
  EXPECT_EQ(rule_argv(rule, IptablesMode::kNft, RuleOp::kDelete),
            with({"ip6tables-nft", "-w", "5", "-W", "100000", "-t", "raw", "-D", "PREROUTING"}));
}

TEST(IptablesBinaries, AreNamedByModeAndFamily) {
  EXPECT_EQ(iptables_binary(IptablesMode::kNft, Family::kIpv4), "iptables-nft");
  EXPECT_EQ(save_binary(IptablesMode::kLegacy, Family::kIpv6), "ip6tables-legacy-save");
  EXPECT_EQ(restore_binary(IptablesMode::kNft, Family::kIpv4), "iptables-nft-restore");
  EXPECT_EQ(parse_mode("legacy"), IptablesMode::kLegacy);
  EXPECT_EQ(parse_mode("nft"), IptablesMode::kNft);
  EXPECT_EQ(parse_mode("auto"), std::nullopt);
}

TEST(DeletionRestoreInput, DeletesEachRuleOfTheFamilyOnceByTable) {
  const auto rules = node_cache_rules({"169.254.20.10", "fd00::a"}, 53, 8080);
  const std::string skip = " -m comment --comment \"NodeLocal DNS Cache: skip conntrack\"\n";
  const std::string allow = " -m comment --comment \"NodeLocal DNS Cache: allow DNS traffic\"\n";
  // Tables in the order their first rule comes (raw, then filter), rules in node-cache's order.
  EXPECT_EQ(deletion_restore_input(rules, Family::kIpv6),
            "*raw\n"
            "-D PREROUTING -p tcp -d fd00::a --dport 53 -j NOTRACK" +
                skip + "-D PREROUTING -p udp -d fd00::a --dport 53 -j NOTRACK" + skip +
                "-D OUTPUT -p tcp -s fd00::a --sport 53 -j NOTRACK" + skip +
                "-D OUTPUT -p udp -s fd00::a --sport 53 -j NOTRACK" + skip +
                "-D OUTPUT -p tcp -d fd00::a --dport 53 -j NOTRACK" + skip +
                "-D OUTPUT -p udp -d fd00::a --dport 53 -j NOTRACK" + skip +
                "-D OUTPUT -p tcp -d fd00::a --dport 8080 -j NOTRACK" + skip +
                "-D OUTPUT -p tcp -s fd00::a --sport 8080 -j NOTRACK" + skip +
                "COMMIT\n"
                "*filter\n"
                "-D INPUT -p tcp -d fd00::a --dport 53 -j ACCEPT" +
                allow + "-D INPUT -p udp -d fd00::a --dport 53 -j ACCEPT" + allow +
                "-D OUTPUT -p tcp -s fd00::a --sport 53 -j ACCEPT" + allow +
                "-D OUTPUT -p udp -s fd00::a --sport 53 -j ACCEPT" + allow + "COMMIT\n");
  const std::string v4 = deletion_restore_input(rules, Family::kIpv4);
  EXPECT_NE(v4.find("-D PREROUTING -p tcp -d 169.254.20.10 --dport 53"), std::string::npos);
  EXPECT_EQ(v4.find("fd00::a"), std::string::npos);
  EXPECT_EQ(deletion_restore_input(node_cache_rules({"10.0.0.1"}, 53, 8080), Family::kIpv6), "");
}

TEST(SaveHoldsRulesOn, SeesNodeCachesCommentOnOneOfTheAddresses) {
  const auto rules = node_cache_rules({"169.254.20.10", "fd00:0:0::a"}, 53, 8080);
  EXPECT_TRUE(save_holds_rules_on(
      "*raw\n:OUTPUT ACCEPT [0:0]\n"
      "-A OUTPUT -s 169.254.20.10/32 -p tcp -m tcp --sport 53 -m comment --comment "
      "\"NodeLocal DNS Cache: skip conntrack\" -j NOTRACK\nCOMMIT\n",
      rules));
  // ip6tables-save prints the address compressed; a port node-cache's list does not have counts.
  EXPECT_TRUE(save_holds_rules_on(
      "-A INPUT -d fd00::a/128 -p udp -m udp --dport 5353 -m comment --comment \"NodeLocal DNS "
      "Cache: allow DNS traffic\" -j ACCEPT\n",
      rules));
  // Another address, or the address without node-cache's comment (kube-proxy's), is not ours.
  EXPECT_FALSE(save_holds_rules_on(
      "-A OUTPUT -s 169.254.20.100/32 -p tcp -m tcp --sport 53 -m comment --comment "
      "\"NodeLocal DNS Cache: skip conntrack\" -j NOTRACK\n",
      rules));
  EXPECT_FALSE(save_holds_rules_on(
      "-A KUBE-SERVICES -d 169.254.20.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-X\n", rules));
  EXPECT_FALSE(save_holds_rules_on("*raw\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", rules));
}

// What iptables-legacy-save prints on a node whose kube-proxy runs in legacy mode (trimmed).
constexpr const char* kLegacyKubeProxySave =
    R"(# Generated by iptables-save v1.8.9 on Tue Dec  1 17:50:07 2026
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y
COMMIT
)";
// What iptables-nft-save prints on the same node: nothing but the warning.
constexpr const char* kNftWarningOnly =
    "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n";

TEST(ModeChoice, PicksLegacyWhenItHoldsMoreRules) {
  const ModeChoice choice = choose_mode(kLegacyKubeProxySave, kNftWarningOnly);
  EXPECT_EQ(choice.mode, IptablesMode::kLegacy);
  EXPECT_EQ(choice.reason, "3 legacy rules, 0 nft rules");
}

TEST(ModeChoice, PicksNftWhenItHoldsMoreRules) {
  const ModeChoice choice = choose_mode("", kLegacyKubeProxySave);
  EXPECT_EQ(choice.mode, IptablesMode::kNft);
}

TEST(ModeChoice, PicksNftOnAnEmptyNode) {
  const ModeChoice choice = choose_mode("*raw\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", "");
  EXPECT_EQ(choice.mode, IptablesMode::kNft);
  EXPECT_EQ(choice.reason, "0 legacy rules, 0 nft rules (nft on a tie)");
}

TEST(ModeChoice, FollowsKubeletsHintChainBeforeCounting) {
  const std::string nft_hint = "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";
  EXPECT_EQ(choose_mode(kLegacyKubeProxySave, nft_hint).mode, IptablesMode::kNft);
  const std::string legacy_canary = "*mangle\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n";
  EXPECT_EQ(choose_mode(legacy_canary, kLegacyKubeProxySave).mode, IptablesMode::kLegacy);
}

TEST(SetupErrors, UseNodeCachesLabelValues) {
  std::vector<std::string> labels;
  for (SetupError error : kAllSetupErrors) labels.emplace_back(setup_error_label(error));
  EXPECT_EQ(labels, (std::vector<std::string>{"iptables", "iptables_lock", "interface_add",
                                              "interface_check", "configmap"}));
}

TEST(SetupErrors, CountALockTimeoutApart) {
  EXPECT_EQ(classify_iptables_failure("Another app is currently holding the xtables lock. Stopped "
                                      "waiting after 5s."),
            SetupError::kIptablesLock);
  EXPECT_EQ(classify_iptables_failure("iptables: No chain/target/match by that name."),
            SetupError::kIptables);
}

}  // namespace
}  // namespace holdfast::node
