// coredns_nodecache_setup_errors_total{errortype}, served on -metrics-listen-address with its own
// registry and exposer, as node-cache serves it (cmd/node-cache/app/metrics.go): every label
// value starts at 0. Counting is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "node/iptables_rules.h"

namespace prometheus {
class Counter;
class Exposer;
class Registry;
}  // namespace prometheus

namespace holdfast::node {

class SetupMetrics {
 public:
  // Counters only, nothing served (when the address cannot be bound the caller logs it).
  SetupMetrics();
  ~SetupMetrics();
  SetupMetrics(const SetupMetrics&) = delete;
  SetupMetrics& operator=(const SetupMetrics&) = delete;

  // Serves /metrics on HOST:PORT (civetweb syntax; node-cache's default is 0.0.0.0:9353). May be
  // called again after a failure (the address was taken).
  Result<void> serve(const std::string& address);
  bool serving() const { return exposer_ != nullptr; }

  void count(SetupError error);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* counters_[std::size(kAllSetupErrors)]{};
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace holdfast::node
