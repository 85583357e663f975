// A scripted upstream group for the query-path tests: it records what the pipeline asks, and
// the test answers the handlers when it likes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "upstream/upstream_group.h"

namespace holdfast::server::testing {

class ScriptedUpstream final : public upstream::UpstreamGroup {
 public:
  bool covers(dns::Bytes) const noexcept override { return true; }
  bool admit() noexcept override { return admits; }
  void resolve(dns::Bytes query, upstream::AnswerHandler* handler) override {
    asked.push_back({std::vector<std::uint8_t>(query.begin(), query.end()), handler, false});
  }
  void submit(dns::Bytes query, upstream::AnswerHandler* handler, std::uint64_t) override {
    asked.push_back({std::vector<std::uint8_t>(query.begin(), query.end()), handler, true});
  }
  bool circuit_open() const noexcept override { return open; }
  bool degraded() const noexcept override { return false; }
  std::int64_t stale_wait_ms(std::int64_t cap_ms) const noexcept override {
    return std::min<std::int64_t>(cap_ms, 30);
  }
  bool claim_degraded_refresh() noexcept override { return false; }

  struct Asked {
    std::vector<std::uint8_t> query;
    upstream::AnswerHandler* handler;
    bool as_miss;  // submit() (a miss) rather than resolve() (a refresh or a verify wait)
  };
  std::vector<Asked> asked;
  bool admits = true;
  bool open = false;
};

}  // namespace holdfast::server::testing
