// Queries, answers and a reply collector for the tests of the query paths (the owner loop's
// QueryPipeline, a worker loop's HitPath).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/memory_cache.h"
#include "dns/message.h"
#include "dns/packet_builder.h"
#include "server/client.h"
#include "server/router.h"

namespace holdfast::server::testing {

// Collects the replies sent to it.
class Replies final : public ReplySink {
 public:
  void send_reply(const ClientRef&, dns::Bytes reply) noexcept override {
    sent.emplace_back(reply.begin(), reply.end());
  }
  std::vector<std::vector<std::uint8_t>> sent;
};

// An A query for `name` with an OPT record (EDNS, 1232 bytes).
inline std::vector<std::uint8_t> query_for(std::uint16_t id, const char* name) {
  dns::testing::PacketBuilder b;
  b.header(id, 0x0100, 1, 0, 0, 1).question(name, dns::qtype::kA).opt(1232);
  return b.bytes();
}

// The answer to `query`: one A record 192.0.2.`last_octet` with `ttl`.
inline std::vector<std::uint8_t> answer_for(const std::vector<std::uint8_t>& query,
                                            const char* name, std::uint8_t last_octet,
                                            std::uint32_t ttl = 300) {
  dns::testing::PacketBuilder b;
  b.header(static_cast<std::uint16_t>((query[0] << 8) | query[1]), 0x8180, 1, 1, 0, 0)
      .question(name, dns::qtype::kA)
      .pointer(12)
      .rr_fixed(dns::qtype::kA, dns::kClassIn, ttl, 4)
      .raw({192, 0, 2, last_octet});
  return b.bytes();
}

// Puts answer_for(name, octet, ttl) in `zone`'s cache as stored `ago` seconds before `clock`'s
// now (stale once ago >= ttl).
inline void cache_answer(Zone& zone, const Clock& clock, const char* name, std::uint8_t octet,
                         std::uint32_t ttl, std::int64_t ago) {
  const auto q = query_for(1, name);
  auto entry = cache::make_entry(answer_for(q, name, octet, ttl), zone.ttl_policy,
                                 clock.wall_seconds() - ago);
  ASSERT_TRUE(entry);
  const dns::ParsedQuery parsed = dns::parse_query(q);
  ASSERT_EQ(parsed.error, dns::QueryError::kNone);
  zone.cache->insert(cache::CacheKey(q, parsed.query.question, {false, false}), *entry);
}

// A zone with a cache, routed for "example.", and a way to put answers in it.
class CachedZone {
 public:
  explicit CachedZone(const Clock& clock) : clock_(clock), router_("dns://127.0.0.1:53") {
    block_.zones = {"example."};
    cache::MemoryCacheOptions options;
    options.max_stale_seconds = 86'400;
    zone_.block = &block_;
    zone_.name = "example.:53";
    zone_.cache = std::make_shared<cache::MemoryCache>(options, clock_);
    router_.add(&zone_);
  }
  // An answer for `name` stored `ago` seconds ago with `ttl`.
  void put(const char* name, std::uint32_t ttl, std::int64_t ago = 0) {
    cache_answer(zone_, clock_, name, 7, ttl, ago);
  }
  config::ServerBlock& block() { return block_; }
  Zone& zone() { return zone_; }
  const Router& router() const { return router_; }

 private:
  const Clock& clock_;
  config::ServerBlock block_;
  Zone zone_;
  Router router_;
};

// Runs `loop` until `done()` or `ms` pass.
template <class Done>
void run_loop_until(uv_loop_t& loop, Done done, int ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done() && std::chrono::steady_clock::now() < until) {
    uv_run(&loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// A UDP client on 127.0.0.1 whose replies go to `sink`, routed by `router`.
inline ClientRef loopback_client(ReplySink& sink, const Router& router) {
  ClientRef client;
  client.sink = &sink;
  client.router = &router;
  auto& peer = reinterpret_cast<sockaddr_in&>(client.peer);
  peer.sin_family = AF_INET;
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return client;
}

}  // namespace holdfast::server::testing
