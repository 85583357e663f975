// The setup error counter family and its exposer.
#include "node/setup_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

namespace holdfast::node {

SetupMetrics::SetupMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& family = prometheus::BuildCounter()
                     .Name("coredns_nodecache_setup_errors_total")
                     .Help("The number of errors during periodic network setup for node-cache")
                     .Register(*registry_);
  for (std::size_t i = 0; i < std::size(kAllSetupErrors); ++i) {
    counters_[i] = &family.Add({{"errortype", std::string(setup_error_label(kAllSetupErrors[i]))}});
  }
}

SetupMetrics::~SetupMetrics() = default;

Result<void> SetupMetrics::serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return fail("metrics on " + address + ": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
  return {};
}

void SetupMetrics::count(SetupError error) {
  counters_[static_cast<std::size_t>(error)]->Increment();
}

}  // namespace holdfast::node
