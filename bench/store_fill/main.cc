// bench_store_fill: writes N realistic answers into a Holdfast store through PersistentStore,
// the API the daemon uses, so that bench/persist can restart the daemon on a large store without
// asking N names at DNS speed. Each answer is what an upstream sends for a Kubernetes service:
// one A record of `svc-I.ns-(I % 1000).svc.cluster.local.`, name-compressed, a TTL between
// --ttl/2 and --ttl; it goes through make_entry() and the entry codec exactly like a real one.
// Optionally writes a shuffled random sample of the names as a dnsperf-format query file.
//   build/bin/bench_store_fill --dir DIR [--entries 1000000] [--sample 200000 --sample-out F]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/persistent_store.h"
#include "dns/message.h"

namespace {

using namespace holdfast;

constexpr std::size_t kNamespaces = 1000;
constexpr std::size_t kChunk = 10'000;  // entries queued before each flush (bounds the queue)

std::string service_name(std::uint64_t i) {
  return "svc-" + std::to_string(i) + ".ns-" + std::to_string(i % kNamespaces) +
         ".svc.cluster.local.";
}

// The query a pod sends for `name` (A IN, RD), without EDNS: the store keeps no OPT anyway.
std::vector<std::uint8_t> query_for(const std::string& name) {
  std::vector<std::uint8_t> q = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::size_t start = 0;
  while (start < name.size()) {
    const std::size_t dot = name.find('.', start);
    q.push_back(static_cast<std::uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
             name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

// The upstream's answer: QR RD RA, NOERROR, one A record (owner compressed to the question).
std::vector<std::uint8_t> answer_for(const std::vector<std::uint8_t>& query, std::uint64_t i,
                                     std::uint32_t ttl_seconds) {
  std::vector<std::uint8_t> a(query);
  a[2] = 0x81;
  a[3] = 0x80;
  a[7] = 1;  // ANCOUNT
  a.insert(a.end(), {0xc0, 12, 0, 1, 0, 1});
  for (int shift = 24; shift >= 0; shift -= 8)
    a.push_back(static_cast<std::uint8_t>(ttl_seconds >> shift));
  a.insert(a.end(), {0, 4, 10, static_cast<std::uint8_t>(i >> 16),
                     static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes N realistic cached answers into a Holdfast store (bench/persist)."};
  std::string dir;
  std::uint64_t entries = 1'000'000;
  std::size_t size_bytes = std::size_t{1} << 30;
  std::uint32_t ttl_seconds = 3600;
  std::uint64_t sample = 0;
  std::string sample_out;
  std::uint64_t seed = 1;
  std::string json_path;
  app.add_option("--dir", dir, "the store's directory (the Corefile's persist DIR)")->required();
  app.add_option("--entries", entries, "answers to write")
      ->capture_default_str()
      ->check(CLI::Range(1, 16'000'000));
  app.add_option("--size", size_bytes,
                 "the store's map size in bytes (the Corefile's persist size)")
      ->capture_default_str();
  app.add_option("--ttl", ttl_seconds, "largest record TTL; each is between TTL/2 and TTL")
      ->capture_default_str()
      ->check(CLI::Range(2, 86400));
  app.add_option("--sample", sample, "also write this many of the names, drawn at random")
      ->capture_default_str();
  app.add_option("--sample-out", sample_out, "the sample, as a query file (NAME A per line)");
  app.add_option("--seed", seed, "seed of the TTLs and the sample")->capture_default_str();
  app.add_option("--json", json_path, "write what was written (counts, bytes, time) as JSON");
  CLI11_PARSE(app, argc, argv);
  if (sample > entries || (sample > 0 && sample_out.empty())) {
    std::fprintf(stderr, "bench_store_fill: --sample needs --sample-out and at most --entries\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);

  SystemClock clock;
  cache::StoreOptions options;
  options.dir = dir;
  options.size_bytes = size_bytes;
  options.batch_max = kChunk;
  options.queue_capacity = 2 * kChunk;
  auto store = cache::PersistentStore::open(options, clock);
  if (store->state() != cache::StoreState::kOpen) {
    std::fprintf(stderr, "bench_store_fill: cannot open the store in %s: %s\n", dir.c_str(),
                 store->problem().c_str());
    return 1;
  }
  cache::TtlPolicy policy;
  policy.success_max_ttl = 86400;  // the record's own TTL is what is stored
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::uint32_t> ttl(ttl_seconds / 2, ttl_seconds);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t wire_bytes = 0;
  std::uint64_t key_bytes = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    const auto query = query_for(service_name(i));
    const dns::ParsedQuery parsed = dns::parse_query(query);
    if (parsed.error != dns::QueryError::kNone) {
      std::fprintf(stderr, "bench_store_fill: bad query for %s\n", service_name(i).c_str());
      return 1;
    }
    const cache::CacheKey key(query, parsed.query.question, cache::KeyBits{});
    auto entry = cache::make_entry(answer_for(query, i, ttl(random)), policy, clock.wall_seconds());
    if (!entry || entry->kind != cache::EntryKind::kSuccess) {
      std::fprintf(stderr, "bench_store_fill: no cacheable entry for %s\n",
                   service_name(i).c_str());
      return 1;
    }
    wire_bytes += entry->wire.size();
    key_bytes += key.view().size();
    store->put(key.view(), *entry);
    if ((i + 1) % kChunk == 0) store->flush();
  }
  store->flush();
  const auto& counters = store->counters();
  const std::uint64_t dropped = counters.dropped_queue_full.load();
  const std::size_t stored = store->entry_count();
  const std::size_t used_bytes = store->used_bytes();
  store->close();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (dropped > 0 || stored < entries) {
    std::fprintf(stderr, "bench_store_fill: %llu dropped, %zu stored of %llu (store too small?)\n",
                 static_cast<unsigned long long>(dropped), stored,
                 static_cast<unsigned long long>(entries));
    return 1;
  }

  if (sample > 0) {
    std::vector<std::uint64_t> all(entries);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), random);  // a random order too: no locality to exploit
    std::ofstream out(sample_out);
    for (std::uint64_t k = 0; k < sample; ++k) out << service_name(all[k]) << " A\n";
    if (!out) {
      std::fprintf(stderr, "bench_store_fill: cannot write %s\n", sample_out.c_str());
      return 1;
    }
  }
  nlohmann::json report = {
      {"entries", entries},
      {"stored", stored},
      {"wire_bytes", wire_bytes},
      {"key_bytes", key_bytes},
      {"store_used_bytes", used_bytes},
      {"elapsed_s", elapsed_s},
      {"avg_wire_bytes", static_cast<double>(wire_bytes) / static_cast<double>(entries)},
  };
  std::printf("%s\n", report.dump().c_str());
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << report.dump(1) << "\n";
    if (!out) {
      std::fprintf(stderr, "bench_store_fill: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}
