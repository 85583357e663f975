// Internal to the query pipeline: one upstream flight, the question it asks and the clients
// waiting for its answer.
#pragma once

#include <string>
#include <vector>

#include "server/query_pipeline.h"
#include "upstream/answer_handler.h"

namespace holdfast::server {

// One question in the air upstream and the clients waiting for it.
class QueryPipeline::Flight final : public upstream::AnswerHandler {
 public:
  Flight(QueryPipeline* owner, const cache::CacheKey& key, Zone* zone,
         std::vector<std::uint8_t> query)
      : owner_(owner), key_(key), key_text_(key.view()), zone_(zone), query_(std::move(query)) {}

  void on_upstream_answer(upstream::UpstreamStatus status, dns::Bytes response) noexcept override {
    owner_->complete(this, static_cast<int>(status), response);
  }

  QueryPipeline* owner_;
  cache::CacheKey key_;
  std::string key_text_;
  Zone* zone_;
  std::vector<std::uint8_t> query_;  // what went upstream
  std::vector<Waiter> waiters_;
};

}  // namespace holdfast::server
