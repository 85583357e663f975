// Replays the fuzz seed corpus (tests/fuzz/dns_seeds.h) through both DNS fuzz targets, compiled
// here under other names, so they build and run with every g++ test run too.
#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>

#include "dns/message.h"
#include "dns/response.h"
#include "fuzz/dns_seeds.h"

extern "C" int holdfast_dns_query_fuzz_one(const std::uint8_t* data, std::size_t size);
extern "C" int holdfast_dns_response_fuzz_one(const std::uint8_t* data, std::size_t size);

namespace holdfast::dns {
namespace {

using fuzz::Seed;

void replay_with_prefixes(const Seed& seed) {
  // Every prefix too: each one ends inside some field, an error path of its own.
  for (std::size_t len = 0; len <= seed.bytes.size(); ++len) {
    const std::vector<std::uint8_t> input(seed.bytes.begin(), seed.bytes.begin() + len);
    holdfast_dns_query_fuzz_one(input.data(), input.size());
    holdfast_dns_response_fuzz_one(input.data(), input.size());
  }
}

TEST(FuzzSeeds, QuerySeedsRunThroughBothTargets) {
  for (const Seed& seed : fuzz::query_seeds()) {
    SCOPED_TRACE(seed.name);
    replay_with_prefixes(seed);
  }
}

TEST(FuzzSeeds, ResponseSeedsRunThroughBothTargets) {
  for (const Seed& seed : fuzz::response_seeds()) {
    SCOPED_TRACE(seed.name);
    replay_with_prefixes(seed);
  }
}

TEST(FuzzSeeds, QuerySeedsAreWellFormedQueries) {
  for (const Seed& seed : fuzz::query_seeds()) {
    const QueryError expected = std::string_view(seed.name).starts_with("notify")
                                    ? QueryError::kNotImplemented
                                    : QueryError::kNone;
    EXPECT_EQ(parse_query(seed.bytes).error, expected) << seed.name;
  }
}

TEST(FuzzSeeds, ResponseSeedsAreWellFormedResponses) {
  for (const Seed& seed : fuzz::response_seeds()) {
    if (std::string_view(seed.name) == "presentation-text") continue;
    EXPECT_TRUE(parse_response(seed.bytes, [](std::size_t) {})) << seed.name;
  }
}

}  // namespace
}  // namespace holdfast::dns
