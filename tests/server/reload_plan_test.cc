// plan_reload: which zones keep their cache, which listeners keep their sockets, what needs a
// restart; and the `reload` directive's timing.
#include "server/reload_plan.h"

#include <gtest/gtest.h>

#include <string>

namespace holdfast::server {
namespace {

config::Config parse(const std::string& text) {
  config::ParseOptions options;
  options.default_persist_dir = "/tmp/holdfast-reload-plan-test";
  auto parsed = config::parse_corefile_text(text, "Corefile", options);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return std::move(*parsed);
}

const char* const kOne =
    "cluster.local:5300 {\n"
    "    bind 127.0.0.1\n"
    "    forward . 127.0.0.1:5399\n"
    "    cache 30\n"
    "}\n"
    ".:5300 {\n"
    "    bind 127.0.0.1\n"
    "    forward . 127.0.0.1:5399\n"
    "}\n";

TEST(ReloadPlan, SameConfigKeepsEveryZoneAndListener) {
  const config::Config a = parse(kOne);
  const ReloadPlan plan = plan_reload(a, a);
  EXPECT_EQ(plan.zones_kept.size(), 2u);
  EXPECT_TRUE(plan.zones_added.empty());
  EXPECT_TRUE(plan.zones_removed.empty());
  ASSERT_EQ(plan.listeners_kept.size(), 1u);
  EXPECT_EQ(plan.listeners_kept[0], (ListenerKey{"127.0.0.1", 5300}));
  EXPECT_TRUE(plan.listeners_added.empty());
  EXPECT_TRUE(plan.needs_restart.empty());
  EXPECT_FALSE(plan.metrics_changed);
  EXPECT_EQ(plan.kept_from, (std::vector<std::optional<std::size_t>>{0, 1}));
}

TEST(ReloadPlan, ZonesMatchByNamesAndPortWhateverTheirOrderOrForward) {
  const config::Config a = parse(kOne);
  const config::Config b = parse(
      ".:5300 {\n    bind 127.0.0.1\n    forward . 127.0.0.1:5400\n}\n"
      "cluster.local:5300 {\n    bind 127.0.0.1\n    forward . 127.0.0.1:5401\n    cache 60\n}\n");
  const ReloadPlan plan = plan_reload(a, b);
  EXPECT_EQ(plan.kept_from, (std::vector<std::optional<std::size_t>>{1, 0}));
  EXPECT_TRUE(plan.zones_added.empty());
}

TEST(ReloadPlan, ANewPortIsANewZoneAndANewListener) {
  const config::Config a = parse(kOne);
  const config::Config b =
      parse(std::string(kOne) + "example.org:5301 {\n    bind 127.0.0.1 ::1\n    cache\n}\n");
  const ReloadPlan plan = plan_reload(a, b);
  EXPECT_EQ(plan.zones_added, (std::vector<std::string>{"example.org.:5301"}));
  EXPECT_EQ(plan.listeners_added, (std::vector<ListenerKey>{{"127.0.0.1", 5301}, {"::1", 5301}}));
  EXPECT_EQ(plan.listeners_kept.size(), 1u);
  EXPECT_FALSE(plan.kept_from[2].has_value());
}

TEST(ReloadPlan, ARemovedBlockRemovesItsZoneAndTheAddressesOnlyItUsed) {
  const config::Config a =
      parse(std::string(kOne) + "example.org:5301 {\n    bind 127.0.0.1\n    cache\n}\n");
  const config::Config b = parse(kOne);
  const ReloadPlan plan = plan_reload(a, b);
  EXPECT_EQ(plan.zones_removed, (std::vector<std::string>{"example.org.:5301"}));
  EXPECT_EQ(plan.listeners_removed, (std::vector<ListenerKey>{{"127.0.0.1", 5301}}));
}

TEST(ReloadPlan, AChangedBindMovesTheListenerButKeepsTheZone) {
  const config::Config a = parse("example.org:5302 {\n    bind 127.0.0.1\n    cache\n}\n");
  const config::Config b = parse("example.org:5302 {\n    bind 127.0.0.2\n    cache\n}\n");
  const ReloadPlan plan = plan_reload(a, b);
  EXPECT_EQ(plan.zones_kept.size(), 1u);
  EXPECT_EQ(plan.listeners_added, (std::vector<ListenerKey>{{"127.0.0.2", 5302}}));
  EXPECT_EQ(plan.listeners_removed, (std::vector<ListenerKey>{{"127.0.0.1", 5302}}));
}

TEST(ReloadPlan, PersistAndAdminChangesNeedARestart) {
  const config::Config a = parse("example.org:5302 {\n    bind 127.0.0.1\n    cache\n}\n");
  const config::Config b = parse(
      "example.org:5302 {\n    bind 127.0.0.1\n    cache\n    persist /tmp/elsewhere\n"
      "    admin unix:/tmp/holdfast-other.sock\n}\n");
  const ReloadPlan plan = plan_reload(a, b);
  ASSERT_EQ(plan.needs_restart.size(), 2u);
  EXPECT_NE(plan.needs_restart[0].find("persist"), std::string::npos);
  EXPECT_NE(plan.needs_restart[1].find("admin"), std::string::npos);
}

TEST(ReloadPlan, ANewPrometheusAddressRestartsTheEndpoints) {
  const config::Config a =
      parse("example.org:5302 {\n    bind 127.0.0.1\n    prometheus :9253\n}\n");
  const config::Config b =
      parse("example.org:5302 {\n    bind 127.0.0.1\n    prometheus :9254\n}\n");
  EXPECT_TRUE(plan_reload(a, b).metrics_changed);
  EXPECT_FALSE(plan_reload(a, a).metrics_changed);
  EXPECT_FALSE(plan_reload(a, b).health_changed);
}

TEST(ReloadPlan, CacheOptionsFollowTheBlock) {
  const config::Config a =
      parse("example.org:5302 {\n    cache {\n        success 100\n    }\n}\n");
  const config::Config b =
      parse("example.org:5302 {\n    cache {\n        success 200\n    }\n}\n");
  EXPECT_EQ(cache_options(a.blocks[0]).success_capacity, 100u);
  EXPECT_FALSE(same_cache_options(cache_options(a.blocks[0]), cache_options(b.blocks[0])));
  EXPECT_TRUE(same_cache_options(cache_options(a.blocks[0]), cache_options(a.blocks[0])));
}

TEST(ReloadPlan, DescribeNamesWhatWasAddedAndRemoved) {
  const config::Config a = parse(kOne);
  const config::Config b =
      parse("cluster.local:5300 {\n    bind 127.0.0.1 127.0.0.2\n    cache 30\n}\n");
  const std::string line = describe(plan_reload(a, b), std::chrono::microseconds(2500));
  EXPECT_EQ(line, "reload: zones +0 -1 =1 -.:5300, listeners +1 -0 =1 +127.0.0.2:5300 in 2.50 ms");
}

TEST(ReloadDirective, NextCheckStaysWithinIntervalPlusOrMinusJitter) {
  config::ReloadConfig reload;
  reload.interval = std::chrono::milliseconds(2000);
  reload.jitter = std::chrono::milliseconds(1000);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const auto delay = next_check_delay(reload, rng);
    EXPECT_GE(delay.count(), 1000);
    EXPECT_LE(delay.count(), 3000);
  }
  reload.jitter = std::chrono::milliseconds(0);
  EXPECT_EQ(next_check_delay(reload, rng).count(), 2000);
}

TEST(ReloadDirective, TheFirstBlockWithReloadGoverns) {
  EXPECT_FALSE(reload_settings(parse(kOne)).has_value());
  const auto settings = reload_settings(
      parse("a.example:5302 {\n    cache\n}\nb.example:5302 {\n    reload 2s\n}\n"));
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(settings->interval.count(), 2000);
  EXPECT_EQ(settings->jitter.count(), 1000);  // the 15 s default, clamped to interval / 2
}

}  // namespace
}  // namespace holdfast::server
