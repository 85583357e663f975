// What a listener hands each query to: the owner loop's QueryPipeline, or a worker loop's
// HitPath (server/hit_path.h).
#pragma once

#include "dns/wire.h"
#include "server/client.h"

namespace holdfast::server {

struct LookupHint;

class QueryHandler {
 public:
  // Handles one query; the reply goes to client.sink now or later. `packet` is only read during
  // the call.
  virtual void handle(dns::Bytes packet, const ClientRef& client) noexcept = 0;
  // handle() given what the listener's prefetch read of the packet (server/lookup_prefetch.h;
  // null when it read nothing): a handler may take the key and zone from it instead of building
  // and routing them again. `hint` is only read during the call.
  virtual void handle_hinted(dns::Bytes packet, const ClientRef& client,
                             const LookupHint* /*hint*/) noexcept {
    handle(packet, client);
  }

 protected:
  ~QueryHandler() = default;
};

}  // namespace holdfast::server
