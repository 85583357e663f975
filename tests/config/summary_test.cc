// Tests for the --check-config summary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.h"

namespace holdfast::config {
namespace {

TEST(Summary, DescribesEachBlockAndMarksInactiveDirectives) {
  const Config config = testing::parse_ok(
      "cluster.local:53 {\n"
      "    errors\n"
      "    cache {\n"
      "        success 9984 30\n"
      "        denial 9984 5\n"
      "        prefetch 5\n"
      "    }\n"
      "    reload\n"
      "    bind 169.254.20.10\n"
      "    forward . 10.96.0.11 [::1]:5300 {\n"
      "        force_tcp\n"
      "    }\n"
      "    health 169.254.20.10:8080\n"
      "}\n"
      "example.org {\n"
      "    log\n"
      "}\n",
      ParseOptions{"/etc/resolv.conf", "/var/lib/holdfast-test"});
  EXPECT_EQ(
      summary(config),
      "configuration: Corefile\n"
      "persist: /var/lib/holdfast-test, size 1073741824 bytes, flush 100ms, sync 1s, "
      "negative_max 107374182 bytes\n"
      "workers: 1\n"
      "\n"
      "server block at Corefile:1:1\n"
      "  zones: cluster.local.\n"
      "  port: 53\n"
      "  bind: 169.254.20.10\n"
      "  forward: . to 10.96.0.11:53 [::1]:5300\n"
      "  forward options: force_tcp, policy random, max_fails 2, expire 10s, "
      "health_check 500ms, max_concurrent unlimited\n"
      "  cache: success capacity 9984, TTL 5s..30s; denial capacity 9984, TTL 5s..5s; "
      "servfail 5s\n"
      "  cache zones: the block's zones\n"
      "  serve_stale: up to 72h past expiry, verify, ttl 30s, client_timeout 400ms, "
      "recheck 30s\n"
      "  prefetch: amount 5 within 1m, below 10% of the TTL\n"
      "  upstream_limits: max_inflight 256, qps 5000, burst 1000, queue 10000, "
      "queue_wait 3s, probe_interval 1s, probes 2\n"
      "  health: 169.254.20.10:8080, lameduck 0s\n"
      "  log: off\n"
      "  errors: on\n"
      "  reload: the file's hash every 30s ± 15s\n"
      "\n"
      "server block at Corefile:15:1\n"
      "  zones: example.org.\n"
      "  port: 53\n"
      "  bind: all addresses (0.0.0.0 and ::), answering loopback and this node's subnets only\n"
      "  forward: none (queries are not forwarded)\n"
      "  cache: off\n"
      "  upstream_limits: max_inflight 256, qps 5000, burst 1000, queue 10000, "
      "queue_wait 3s, probe_interval 1s, probes 2\n"
      "  log: on\n"
      "  errors: off\n");
}

TEST(Summary, ShowsEachUpstreamLimitAsConfigured) {
  const Config config = testing::parse_ok(
      ". {\n"
      "    upstream_limits {\n"
      "        max_inflight 64\n"
      "        qps 300\n"
      "        burst 40\n"
      "        queue 0\n"
      "        queue_wait 1500ms\n"
      "        probe_interval 250ms\n"
      "        probes 1\n"
      "    }\n"
      "}\n",
      ParseOptions{"/etc/resolv.conf", "/var/lib/holdfast-test"});
  EXPECT_THAT(summary(config),
              ::testing::HasSubstr("\n  upstream_limits: max_inflight 64, qps 300, burst 40, "
                                   "queue 0, queue_wait 1500ms, probe_interval 250ms, probes 1\n"));
}

TEST(Summary, ListsWarnings) {
  Config config;
  config.source = "x";
  config.warnings = {"x:1:1: something"};
  config.persist.enabled = false;
  EXPECT_EQ(
      summary(config),
      "configuration: x\nwarning: x:1:1: something\npersist: off (memory only)\nworkers: 1\n");
}

}  // namespace
}  // namespace holdfast::config
