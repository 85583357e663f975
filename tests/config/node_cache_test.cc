// Tests for node-cache compatibility: its Go-style flags and its Corefile template.
#include "config/node_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/text_file.h"
#include "test_support.h"

namespace holdfast::config {
namespace {

using testing::TempDir;

NodeCacheArguments split_ok(std::vector<std::string> args) {
  args.insert(args.begin(), "holdfast");
  Result<NodeCacheArguments> result = split_node_cache_flags(args);
  if (!result) {
    ADD_FAILURE() << result.error().message;
    return {};
  }
  return *result;
}

std::string split_error(std::vector<std::string> args) {
  args.insert(args.begin(), "holdfast");
  Result<NodeCacheArguments> result = split_node_cache_flags(args);
  return result ? std::string() : result.error().message;
}

NodeCacheEnvironment fake_environment(std::map<std::string, std::string> variables) {
  NodeCacheEnvironment environment;
  environment.getenv = [variables](const std::string& name) -> std::optional<std::string> {
    auto it = variables.find(name);
    return it == variables.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  environment.resolv_conf = "/test/resolv.conf";
  environment.default_kubedns_cm = "/nonexistent/kube-dns";
  return environment;
}

TEST(NodeCacheFlags, DefaultsAreNodeCachesDefaults) {
  const NodeCacheArguments parsed = split_ok({});
  const NodeCacheFlags& flags = parsed.flags;
  EXPECT_FALSE(parsed.node_cache_mode);
  EXPECT_TRUE(flags.local_ips.empty());
  EXPECT_EQ(flags.base_corefile, "/etc/coredns/Corefile.base");
  EXPECT_EQ(flags.corefile, "/etc/Corefile");
  EXPECT_EQ(flags.upstream_svc, "kube-dns");
  EXPECT_EQ(flags.kubedns_cm, "");
  EXPECT_TRUE(flags.setup_interface);
  EXPECT_TRUE(flags.setup_iptables);
  EXPECT_EQ(flags.interface_name, "nodelocaldns");
  EXPECT_EQ(flags.sync_interval, std::chrono::seconds(60));
  EXPECT_EQ(flags.health_port, 8080);
  EXPECT_EQ(flags.metrics_listen_address, "0.0.0.0:9353");
  EXPECT_FALSE(flags.skip_teardown);
  EXPECT_EQ(flags.pidfile, "");
  EXPECT_EQ(flags.dns_port, 53);
  EXPECT_FALSE(flags.reload_with_signal);
}

TEST(NodeCacheFlags, ParsesTheOfficialDaemonSetArgs) {
  const NodeCacheArguments parsed =
      split_ok({"-localip", "169.254.20.10,10.96.0.10", "-conf", "/etc/Corefile", "-upstreamsvc",
                "kube-dns-upstream", "-health-port", "8080", "--check-config"});
  EXPECT_TRUE(parsed.node_cache_mode);
  EXPECT_EQ(parsed.flags.local_ips, (std::vector<std::string>{"169.254.20.10", "10.96.0.10"}));
  EXPECT_EQ(parsed.flags.upstream_svc, "kube-dns-upstream");
  EXPECT_EQ(parsed.rest,
            (std::vector<std::string>{"holdfast", "-conf", "/etc/Corefile", "--check-config"}));
}

TEST(NodeCacheFlags, ParsesEveryValueFlagInBothSpellings) {
  const NodeCacheArguments parsed = split_ok(
      {"-localip=169.254.20.10,fd00::10", "-basecorefile", "/b", "--corefile=/c", "-kubednscm",
       "/k", "-interfacename=hf0", "-syncinterval", "5", "-health-port=9090",
       "-metrics-listen-address", "127.0.0.1:9999", "-pidfile", "/run/p", "-dns.port=5353"});
  const NodeCacheFlags& flags = parsed.flags;
  EXPECT_EQ(flags.local_ips, (std::vector<std::string>{"169.254.20.10", "fd00::10"}));
  EXPECT_EQ(flags.base_corefile, "/b");
  EXPECT_EQ(flags.corefile, "/c");
  EXPECT_EQ(flags.kubedns_cm, "/k");
  EXPECT_EQ(flags.interface_name, "hf0");
  EXPECT_EQ(flags.sync_interval, std::chrono::seconds(5));
  EXPECT_EQ(flags.health_port, 9090);
  EXPECT_EQ(flags.metrics_listen_address, "127.0.0.1:9999");
  EXPECT_EQ(flags.pidfile, "/run/p");
  EXPECT_EQ(flags.dns_port, 5353);
  EXPECT_EQ(parsed.rest, std::vector<std::string>{"holdfast"});
}

TEST(NodeCacheFlags, TakesASyncIntervalAsSecondsOrAGoDuration) {
  EXPECT_EQ(split_ok({"-localip=::1", "-syncinterval=2m"}).flags.sync_interval,
            std::chrono::minutes(2));
  EXPECT_NE(split_error({"-localip=::1", "-syncinterval=0"}), "");
  EXPECT_NE(split_error({"-localip=::1", "-syncinterval=500ms"}), "");
}

TEST(NodeCacheFlags, AcceptsGoBooleanForms) {
  EXPECT_FALSE(split_ok({"-localip=::1", "-setupinterface=false"}).flags.setup_interface);
  EXPECT_FALSE(split_ok({"-localip=::1", "-setupiptables=0"}).flags.setup_iptables);
  EXPECT_FALSE(split_ok({"-localip=::1", "--setupiptables=F"}).flags.setup_iptables);
  EXPECT_TRUE(split_ok({"-localip=::1", "-skipteardown"}).flags.skip_teardown);
  EXPECT_TRUE(split_ok({"-localip=::1", "-skipteardown=TRUE"}).flags.skip_teardown);
  EXPECT_TRUE(split_ok({"-localip=::1", "-reloadwithsignal=t"}).flags.reload_with_signal);
}

TEST(NodeCacheFlags, ABooleanNeverTakesTheNextArgument) {
  // Go's flag package: `-skipteardown false` is the flag alone, then an argument "false".
  const NodeCacheArguments parsed = split_ok({"-localip=::1", "-skipteardown", "false"});
  EXPECT_TRUE(parsed.flags.skip_teardown);
  EXPECT_EQ(parsed.rest, (std::vector<std::string>{"holdfast", "false"}));
}

TEST(NodeCacheFlags, OnlyCoreDnsFlagsDoNotMeanNodeCacheMode) {
  const NodeCacheArguments parsed = split_ok({"-conf", "X", "-dns.port", "53", "-pidfile", "p"});
  EXPECT_FALSE(parsed.node_cache_mode);
}

TEST(NodeCacheFlags, LeavesEverythingAfterADoubleDashAlone) {
  const NodeCacheArguments parsed = split_ok({"--", "-localip", "x"});
  EXPECT_FALSE(parsed.node_cache_mode);
  EXPECT_EQ(parsed.rest, (std::vector<std::string>{"holdfast", "--", "-localip", "x"}));
}

TEST(NodeCacheFlags, RejectsBadValuesNamingTheFlag) {
  EXPECT_EQ(split_error({"-localip", "169.254.20.10,nope"}),
            "-localip: \"nope\" is not an IPv4 or IPv6 address");
  EXPECT_EQ(split_error({"-localip", "169.254.20.10,"}),
            "-localip: \"\" is not an IPv4 or IPv6 address");
  EXPECT_EQ(split_error({"-localip=::1", "-setupiptables=yes"}),
            "-setupiptables: invalid boolean value \"yes\" (true, false, 1, 0, t, f)");
  EXPECT_EQ(split_error({"-localip=::1", "-health-port", "80a"}),
            "-health-port: \"80a\" is not a port (1-65535)");
  EXPECT_EQ(split_error({"-localip=::1", "-dns.port=0"}),
            "-dns.port: \"0\" is not a port (1-65535)");
  EXPECT_NE(split_error({"-localip=::1", "-interfacename=much-too-long-name"}), "");
  EXPECT_NE(split_error({"-localip=::1", "-metrics-listen-address=nowhere"}), "");
  EXPECT_NE(split_error({"-localip=::1", "-upstreamsvc="}), "");
  EXPECT_EQ(split_error({"-localip"}), "flag needs an argument: -localip");
}

TEST(NodeCacheFlags, RequiresALocalIpWithNodeCacheFlags) {
  EXPECT_EQ(split_error({"-setupiptables=false"}),
            "-localip: required with node-cache's flags (comma-separated IPs to listen on)");
}

TEST(NodeCacheFlags, SummaryMarksNodeSetupFlagsActive) {
  const std::vector<std::string> lines =
      node_cache_flag_summary(split_ok({"-localip=169.254.20.10"}).flags);
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(lines[5], "-setupinterface=true: active (an interface with the local IPs)");
  EXPECT_EQ(lines[7], "-setupiptables=true: active (node-cache's NOTRACK and ACCEPT rules)");
  EXPECT_EQ(lines[10],
            "-metrics-listen-address 0.0.0.0:9353: active (coredns_nodecache_setup_errors_total)");
  EXPECT_EQ(lines[11], "-skipteardown=false: active (removed at exit)");
  EXPECT_EQ(lines[13],
            "-dns.port 53: active (stubDomain blocks, the iptables rules and every server block "
            "key without a port)");
  EXPECT_EQ(lines[12], "-pidfile (none)");
  const std::vector<std::string> off = node_cache_flag_summary(
      split_ok({"-localip=::1", "-setupinterface=false", "-setupiptables=false"}).flags);
  EXPECT_EQ(off[5], "-setupinterface=false: active (nothing to set up)");
  EXPECT_EQ(off[11], "-skipteardown=false: active (nothing to set up)");
}

TEST(NodeCacheTemplate, NamesTheServiceVariable) {
  EXPECT_EQ(service_host_variable("kube-dns-upstream"), "KUBE_DNS_UPSTREAM_SERVICE_HOST");
  EXPECT_EQ(service_host_variable("kube-dns"), "KUBE_DNS_SERVICE_HOST");
}

TEST(NodeCacheTemplate, FillsEveryPlaceholder) {
  NodeCacheFlags flags;
  flags.local_ips = {"169.254.20.10", "10.96.0.10"};
  flags.upstream_svc = "kube-dns-upstream";
  const std::string base =
      "cluster.local:53 {\n    bind __PILLAR__LOCAL__DNS__ __PILLAR__DNS__SERVER__\n"
      "    forward . __PILLAR__CLUSTER__DNS__\n}\n"
      ".:53 {\n    bind __PILLAR__LOCAL__DNS__\n    forward . __PILLAR__UPSTREAM__SERVERS__\n}\n";
  Result<std::string> filled =
      fill_corefile_template(base, "Corefile.base", flags, {},
                             fake_environment({{"KUBE_DNS_UPSTREAM_SERVICE_HOST", "10.96.0.11"}}));
  ASSERT_TRUE(filled) << filled.error().message;
  EXPECT_EQ(*filled,
            "cluster.local:53 {\n    bind 169.254.20.10 10.96.0.10 \n    forward . 10.96.0.11\n}\n"
            ".:53 {\n    bind 169.254.20.10 10.96.0.10\n    forward . /test/resolv.conf\n}\n");
}

TEST(NodeCacheTemplate, FailsWhenTheServiceVariableIsMissing) {
  NodeCacheFlags flags;
  flags.upstream_svc = "kube-dns-upstream";
  Result<std::string> filled = fill_corefile_template(
      "forward . __PILLAR__CLUSTER__DNS__", "/b/Corefile.base", flags, {}, fake_environment({}));
  ASSERT_FALSE(filled);
  EXPECT_EQ(filled.error().message,
            "/b/Corefile.base: __PILLAR__CLUSTER__DNS__ needs $KUBE_DNS_UPSTREAM_SERVICE_HOST "
            "(the cluster IP of -upstreamsvc kube-dns-upstream), which is not set");
}

TEST(NodeCacheTemplate, FailsWhenTheServiceVariableIsNotAnIp) {
  Result<std::string> filled =
      fill_corefile_template("forward . __PILLAR__CLUSTER__DNS__", "b", NodeCacheFlags{}, {},
                             fake_environment({{"KUBE_DNS_SERVICE_HOST", "kube-dns"}}));
  ASSERT_FALSE(filled);
  EXPECT_NE(filled.error().message.find("which is \"kube-dns\", not an IP address"),
            std::string::npos);
}

TEST(NodeCacheTemplate, NeedsNoVariableWithoutTheClusterPlaceholder) {
  EXPECT_TRUE(
      fill_corefile_template(".:53 {\n}\n", "b", NodeCacheFlags{}, {}, fake_environment({})));
}

TEST(NodeCacheTemplate, UpstreamNameserversReplaceTheTcpBlockWithUdp) {
  const std::string base =
      ".:53 {\n    errors\n    forward . __PILLAR__UPSTREAM__SERVERS__ {\n"
      "            force_tcp\n    }\n}\n";
  KubeDnsConfig kube_dns;
  kube_dns.upstream_nameservers = {"8.8.8.8", "1.1.1.1:53"};
  Result<std::string> filled =
      fill_corefile_template(base, "b", NodeCacheFlags{}, kube_dns, fake_environment({}));
  ASSERT_TRUE(filled);
  EXPECT_EQ(*filled, ".:53 {\n    errors\n    forward . 8.8.8.8 1.1.1.1:53\n}\n");
}

TEST(NodeCacheTemplate, AppendsOneBlockPerStubDomainInNodeCachesFormat) {
  NodeCacheFlags flags;
  flags.local_ips = {"169.254.20.10", "fd00::10"};
  KubeDnsConfig kube_dns;
  kube_dns.stub_domains = {{"acme.local", {"1.2.3.4", "5.6.7.8"}}, {"b.example", {"::1"}}};
  Result<std::string> filled =
      fill_corefile_template("", "b", flags, kube_dns, fake_environment({}));
  ASSERT_TRUE(filled);
  EXPECT_EQ(*filled,
            "\nacme.local:53 {\n    errors\n    cache 30\n    bind 169.254.20.10 fd00::10\n"
            "    forward . 1.2.3.4 5.6.7.8\n}\n"
            "\nb.example:53 {\n    errors\n    cache 30\n    bind 169.254.20.10 fd00::10\n"
            "    forward . ::1\n}\n");
}

TEST(KubeDnsConfigDir, ReadsStubDomainsAndUpstreamNameservers) {
  TempDir dir;
  dir.write("stubDomains", R"({"acme.local": ["1.2.3.4"], "corp.example": ["[fd00::1]:5353"]})");
  dir.write("upstreamNameservers", R"(["8.8.8.8", "8.8.4.4"])");
  Result<KubeDnsConfig> config = read_kube_dns_config(dir.root());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->stub_domains.at("acme.local"), std::vector<std::string>{"1.2.3.4"});
  EXPECT_EQ(config->stub_domains.at("corp.example"), std::vector<std::string>{"[fd00::1]:5353"});
  EXPECT_EQ(config->upstream_nameservers, (std::vector<std::string>{"8.8.8.8", "8.8.4.4"}));
}

TEST(KubeDnsConfigDir, TreatsMissingFilesAsEmpty) {
  TempDir dir;
  Result<KubeDnsConfig> config = read_kube_dns_config(dir.root());
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->stub_domains.empty());
  EXPECT_TRUE(config->upstream_nameservers.empty());
}

TEST(KubeDnsConfigDir, RejectsBadJsonNamingTheFile) {
  TempDir dir;
  const std::string path = dir.write("stubDomains", R"({"acme.local": ["1.2.3.4"],)");
  Result<KubeDnsConfig> config = read_kube_dns_config(dir.root());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind(path + ": invalid JSON: ", 0), 0u)
      << config.error().message;
}

TEST(KubeDnsConfigDir, RejectsWrongShapesAndBadNameservers) {
  TempDir dir;
  const std::string stubs = dir.write("stubDomains", R"(["1.2.3.4"])");
  EXPECT_EQ(read_kube_dns_config(dir.root()).error().message,
            stubs + ": expected an object: zone → nameservers");
  dir.write("stubDomains", R"({"acme.local": ["ns.acme.local"]})");
  EXPECT_EQ(read_kube_dns_config(dir.root()).error().message,
            stubs + ": acme.local: \"ns.acme.local\" is not a nameserver IP or IP:PORT");
  dir.write("stubDomains", R"({"Bad_Domain": ["1.2.3.4"]})");
  EXPECT_EQ(read_kube_dns_config(dir.root()).error().message,
            stubs + ": \"Bad_Domain\" is not a valid domain name");
  dir.write("stubDomains", "{}");
  const std::string upstream =
      dir.write("upstreamNameservers", R"(["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"])");
  EXPECT_EQ(read_kube_dns_config(dir.root()).error().message,
            upstream + ": at most 3 nameservers, got 4");
}

TEST(NodeCacheCorefileBuild, FillsTheBaseFileAndTargetsConf) {
  TempDir dir;
  NodeCacheFlags flags;
  flags.local_ips = {"169.254.20.10"};
  flags.base_corefile = dir.write("Corefile.base", "__PILLAR__LOCAL__DNS__\n");
  flags.kubedns_cm = dir.root() + "/kube-dns";
  dir.write("kube-dns/stubDomains", R"({"acme.local": ["1.2.3.4"]})");
  Result<NodeCacheCorefile> built =
      build_node_cache_corefile(flags, dir.path("Corefile"), fake_environment({}));
  ASSERT_TRUE(built) << built.error().message;
  EXPECT_EQ(built->path, dir.path("Corefile"));
  ASSERT_TRUE(built->text);
  EXPECT_EQ(built->text->rfind("169.254.20.10\n\nacme.local:53 {", 0), 0u) << *built->text;
  ASSERT_TRUE(write_corefile(built->path, *built->text));
  EXPECT_EQ(*read_text_file(built->path), *built->text);
}

TEST(NodeCacheCorefileBuild, RunsTheCorefileAsItIsWithoutABaseFile) {
  NodeCacheFlags flags;
  flags.base_corefile = "/nonexistent/Corefile.base";
  Result<NodeCacheCorefile> built = build_node_cache_corefile(flags, "", fake_environment({}));
  ASSERT_TRUE(built);
  EXPECT_EQ(built->path, "/etc/Corefile");
  EXPECT_FALSE(built->text);
  ASSERT_EQ(built->warnings.size(), 1u);
}

TEST(NodeCacheCorefileBuild, TheFilledOfficialTemplateParses) {
  TempDir dir;
  NodeCacheFlags flags;
  flags.local_ips = {"169.254.20.10", "10.96.0.10"};
  flags.upstream_svc = "kube-dns-upstream";
  flags.base_corefile = dir.write("Corefile.base",
                                  "cluster.local:53 {\n    errors\n    cache {\n"
                                  "            success 9984 30\n            denial 9984 5\n    }\n"
                                  "    reload\n    loop\n    bind __PILLAR__LOCAL__DNS__\n"
                                  "    forward . __PILLAR__CLUSTER__DNS__ {\n"
                                  "            force_tcp\n    }\n"
                                  "    prometheus :9253\n    health 169.254.20.10:8080\n}\n"
                                  ".:53 {\n    errors\n    cache 30\n    reload\n    loop\n"
                                  "    bind __PILLAR__LOCAL__DNS__\n"
                                  "    forward . __PILLAR__UPSTREAM__SERVERS__\n"
                                  "    prometheus :9253\n}\n");
  NodeCacheEnvironment environment =
      fake_environment({{"KUBE_DNS_UPSTREAM_SERVICE_HOST", "10.96.0.11"}});
  environment.resolv_conf = "/etc/resolv.conf";
  Result<NodeCacheCorefile> built = build_node_cache_corefile(flags, "", environment);
  ASSERT_TRUE(built) << built.error().message;
  ParseOptions options;
  options.default_resolv_conf = dir.write("resolv.conf", "nameserver 192.0.2.53\n");
  options.default_persist_dir = dir.path("state");
  Result<Config> config = parse_corefile_text(*built->text, built->path, options);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->blocks.size(), 2u);
  EXPECT_EQ(config->blocks[0].forward->to[0].host, "10.96.0.11");
  EXPECT_EQ(config->blocks[1].forward->to[0].host, "192.0.2.53");
}

}  // namespace
}  // namespace holdfast::config
