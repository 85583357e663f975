// Micro-benchmarks of the hot path and its neighbours (Google Benchmark): parsing a query,
// building its cache key, a memory-cache hit (render with aged TTLs), the reply rewrite a hit
// needs (ID, question case), the rrl verdict on a reply, a store get and put, and parsing a
// Corefile.
//   build/bin/bench_micro [--benchmark_filter=Hit]
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/memory_cache.h"
#include "cache/persistent_store.h"
#include "config/config.h"
#include "dns/header.h"
#include "dns/message.h"
#include "dns/wire.h"
#include "server/rrl.h"

namespace {

using namespace holdfast;

// "Svc-7.Ns-3.svc.cluster.local." A IN, RD, with an OPT (EDNS 1232), as a pod sends it.
std::vector<std::uint8_t> query_packet(const std::string& first_label = "Svc-7") {
  std::vector<std::uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
  for (const std::string& label : {first_label, std::string("Ns-3"), std::string("svc"),
                                   std::string("cluster"), std::string("local")}) {
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  q.insert(q.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});
  return q;
}

// The upstream's answer to `query`: one A record, TTL 30.
std::vector<std::uint8_t> answer_for(const std::vector<std::uint8_t>& query) {
  const dns::ParsedQuery parsed = dns::parse_query(query);
  std::vector<std::uint8_t> a(
      query.begin(), query.begin() + static_cast<std::ptrdiff_t>(parsed.query.question.end));
  a[2] = 0x81;
  a[3] = 0x80;
  a[7] = 1;   // ANCOUNT
  a[11] = 0;  // ARCOUNT
  a.insert(a.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 3, 7});
  return a;
}

cache::CacheKey key_of(const std::vector<std::uint8_t>& packet) {
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  return cache::CacheKey(packet, parsed.query.question, {false, false});
}

void BM_ParseQuery(benchmark::State& state) {
  const auto packet = query_packet();
  for (auto _ : state) benchmark::DoNotOptimize(dns::parse_query(packet));
}
BENCHMARK(BM_ParseQuery);

void BM_CacheKey(benchmark::State& state) {
  const auto packet = query_packet();
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache::CacheKey(packet, parsed.query.question, {false, false}));
  }
}
BENCHMARK(BM_CacheKey);

// A hit among `state.range(0)` cached names: lookup + render into the reply buffer.
void BM_MemoryCacheHit(benchmark::State& state) {
  ManualClock clock;
  cache::MemoryCacheOptions options;
  options.success_capacity = static_cast<std::size_t>(state.range(0)) + 16;
  cache::MemoryCache memory(options, clock);
  std::vector<cache::CacheKey> keys;
  for (long i = 0; i < state.range(0); ++i) {
    const auto packet = query_packet("svc-" + std::to_string(i));
    keys.push_back(key_of(packet));
    memory.insert(keys.back(),
                  *cache::make_entry(answer_for(packet), cache::TtlPolicy{}, clock.wall_seconds()));
  }
  std::vector<std::uint8_t> out(4096);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(memory.lookup(keys[i], out));
    i = (i + 1) % keys.size();
  }
}
BENCHMARK(BM_MemoryCacheHit)->Arg(1000)->Arg(100000);

// What a hit does to the rendered answer before it goes out: the client's ID and the client's
// spelling of the name.
void BM_ReplyRewrite(benchmark::State& state) {
  const auto packet = query_packet();
  auto reply = answer_for(query_packet("svc-7"));
  const dns::ParsedQuery parsed = dns::parse_query(packet);
  const std::size_t name_end = parsed.query.question.end - 4;
  for (auto _ : state) {
    dns::set_id(reply, parsed.query.header.id);
    std::copy(packet.begin() + dns::kHeaderSize,
              packet.begin() + static_cast<std::ptrdiff_t>(name_end),
              reply.begin() + dns::kHeaderSize);
    benchmark::DoNotOptimize(reply.data());
  }
}
BENCHMARK(BM_ReplyRewrite);

// The rrl verdict on a UDP reply (server/rrl.h): the reply read into its category and name, the
// account of one of `state.range(0)` client /24s found (or added) and debited.
void BM_RrlCheckResponse(benchmark::State& state) {
  config::RrlConfig config;
  config.responses_per_second = 100;
  config.max_table_size = static_cast<std::size_t>(state.range(0));
  server::ResponseRateLimiter rrl(config, {"."});
  const auto reply = answer_for(query_packet());
  std::vector<sockaddr_storage> peers(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < peers.size(); ++i) {
    auto& peer = reinterpret_cast<sockaddr_in&>(peers[i]);
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(0x0a000000u | static_cast<std::uint32_t>(i << 8));  // 10.x.y.0/24
  }
  std::int64_t now_ns = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rrl.check_response(reply, peers[i], now_ns += 1000));
    i = (i + 1) % peers.size();
  }
}
BENCHMARK(BM_RrlCheckResponse)->Arg(1000)->Arg(100000);

class StoreFixture : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State&) override {
    dir_ = std::filesystem::temp_directory_path() / "holdfast-bench-micro-store";
    std::filesystem::remove_all(dir_);
    cache::StoreOptions options;
    options.dir = dir_.string();
    options.size_bytes = 256u << 20;
    options.queue_capacity = 1'000'000;
    store_ = cache::PersistentStore::open(options, clock_);
    for (int i = 0; i < 10'000; ++i) {
      const auto packet = query_packet("svc-" + std::to_string(i));
      keys_.emplace_back(key_of(packet).view());
      entries_.push_back(
          *cache::make_entry(answer_for(packet), cache::TtlPolicy{}, clock_.wall_seconds()));
      store_->put(keys_.back(), entries_.back());
    }
    store_->flush();
  }
  void TearDown(const benchmark::State&) override {
    store_->close();
    store_.reset();
    keys_.clear();
    entries_.clear();
    std::filesystem::remove_all(dir_);
  }

 protected:
  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<cache::PersistentStore> store_;
  std::vector<std::string> keys_;
  std::vector<cache::Entry> entries_;
};

BENCHMARK_F(StoreFixture, StoreGet)(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store_->get(keys_[i]));
    i = (i + 1) % keys_.size();
  }
}

// Queueing a write (the loop's share of a put; the writer thread commits in batches).
BENCHMARK_F(StoreFixture, StorePut)(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    store_->put(keys_[i], entries_[i]);
    i = (i + 1) % keys_.size();
  }
  store_->flush();
}

void BM_CorefileParse(benchmark::State& state) {
  const std::string text =
      "cluster.local:53 {\n    errors\n    cache {\n        success 9984 30\n        denial 9984 "
      "5\n    }\n    reload\n    loop\n    bind 169.254.20.10 10.96.0.10\n    forward . "
      "10.96.0.11 {\n        force_tcp\n    }\n    prometheus :9253\n    health "
      "169.254.20.10:8080\n}\nin-addr.arpa:53 {\n    errors\n    cache 30\n    bind "
      "169.254.20.10\n    forward . 10.96.0.11 {\n        force_tcp\n    }\n}\n.:53 {\n    errors\n"
      "    cache 30\n    bind 169.254.20.10\n    forward . 192.0.2.53\n}\n";
  config::ParseOptions options;
  options.default_persist_dir = "/tmp/holdfast-bench";
  for (auto _ : state) {
    benchmark::DoNotOptimize(config::parse_corefile_text(text, "Corefile", options));
  }
}
BENCHMARK(BM_CorefileParse);

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // the store's open/close lines would drown the table
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
