// Every default is defined once, in the Corefile's config structs (or dns/wire.h for the UDP
// payload); the option structs of the modules take their values from there. These checks fail
// when someone writes a number into an option struct again and it drifts from the Corefile's.
#include <gtest/gtest.h>

#include "cache/memory_cache.h"
#include "cache/persistent_store.h"
#include "config/config.h"
#include "dns/wire.h"
#include "server/query_pipeline.h"
#include "server/router.h"
#include "server/server.h"
#include "upstream/circuit.h"
#include "upstream/forwarder.h"
#include "upstream/rate_limit.h"

namespace holdfast {
namespace {

using server::StalePolicy;

TEST(Defaults, UpstreamOptionsFollowTheCorefile) {
  const config::UpstreamLimits limits;
  const upstream::LimitOptions limit_options;
  EXPECT_EQ(limit_options.max_inflight, limits.max_inflight);
  EXPECT_EQ(limit_options.qps, limits.qps);
  EXPECT_EQ(limit_options.burst, limits.burst);
  const upstream::ForwarderOptions forwarder;
  EXPECT_EQ(forwarder.queue, static_cast<std::size_t>(limits.queue));
  EXPECT_EQ(forwarder.queue_wait, limits.queue_wait);
  EXPECT_EQ(forwarder.probe_interval, limits.probe_interval);
  EXPECT_EQ(forwarder.probes, limits.probes);
  const upstream::CircuitOptions circuit;
  EXPECT_EQ(circuit.max_fails, config::ForwardConfig{}.max_fails);
  EXPECT_EQ(circuit.probe_interval_ms, limits.probe_interval.count());
  EXPECT_EQ(circuit.probes, limits.probes);
}

TEST(Defaults, CacheAndStoreOptionsFollowTheCorefile) {
  const config::CacheConfig cache;
  const cache::MemoryCacheOptions memory;
  EXPECT_EQ(memory.success_capacity, cache.success_capacity);
  EXPECT_EQ(memory.denial_capacity, cache.denial_capacity);
  const config::PrefetchConfig prefetch;
  EXPECT_EQ(memory.prefetch_amount, static_cast<std::uint32_t>(prefetch.amount));
  EXPECT_EQ(memory.prefetch_window_seconds, static_cast<std::uint32_t>(prefetch.duration.count()));
  EXPECT_EQ(memory.prefetch_percent, static_cast<std::uint32_t>(prefetch.percent));
  const cache::TtlPolicy ttl;
  EXPECT_EQ(ttl.success_min_ttl, cache.success_min_ttl);
  EXPECT_EQ(ttl.success_max_ttl, cache.success_max_ttl);
  EXPECT_EQ(ttl.denial_min_ttl, cache.denial_min_ttl);
  EXPECT_EQ(ttl.denial_max_ttl, cache.denial_max_ttl);
  EXPECT_EQ(ttl.servfail_ttl, cache.servfail_ttl);
  const config::PersistConfig persist;
  const cache::StoreOptions store;
  EXPECT_EQ(store.size_bytes, persist.size_bytes);
  EXPECT_EQ(store.flush_interval, persist.flush);
  EXPECT_EQ(store.sync_interval, persist.sync);
  EXPECT_EQ(store.max_stale_seconds,
            static_cast<std::uint32_t>(config::ServeStaleConfig{}.max_stale.count()));
}

TEST(Defaults, StalePolicyFollowsTheCorefile) {
  const config::ServeStaleConfig stale;
  const StalePolicy policy;
  EXPECT_EQ(policy.stale_ttl_seconds, static_cast<std::uint32_t>(stale.stale_ttl.count()));
  EXPECT_EQ(policy.client_timeout_ms, stale.client_timeout.count());
  EXPECT_EQ(policy.recheck_ms, stale.recheck.count());
}

TEST(Defaults, UdpPayloadIsTheFlagDayValueEverywhere) {
  EXPECT_EQ(dns::kDefaultMaxUdpPayload, 1232U);
  EXPECT_EQ(server::PipelineOptions{}.max_udp_payload, dns::kDefaultMaxUdpPayload);
  EXPECT_EQ(server::ServerOptions{}.max_udp_payload, dns::kDefaultMaxUdpPayload);
}

}  // namespace
}  // namespace holdfast
