// What a listener hands each query to: the owner loop's QueryPipeline, or a worker loop's
// HitPath (server/hit_path.h).
#pragma once

#include "dns/wire.h"
#include "server/client.h"

namespace holdfast::server {

class QueryHandler {
 public:
  // Handles one query; the reply goes to client.sink now or later. `packet` is only read during
  // the call.
  virtual void handle(dns::Bytes packet, const ClientRef& client) noexcept = 0;

 protected:
  ~QueryHandler() = default;
};

}  // namespace holdfast::server
