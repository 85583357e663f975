// Every metric Holdfast exports, declared in one place (metrics.cc): CoreDNS's names and labels
// where Holdfast has the same thing (so node-local-dns dashboards and alerts keep working), and
// Holdfast's own under holdfast_.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "observe/metrics_snapshot.h"

namespace holdfast::observe {

// Any thread: a pure function of the snapshot.
std::vector<prometheus::MetricFamily> render_families(const MetricsSnapshot& snapshot);

}  // namespace holdfast::observe
