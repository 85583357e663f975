// Metrics exposition and health/readiness over HTTP.
#include "observe/http_endpoints.h"

#include <httplib.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <charconv>

#include "observe/metrics.h"

namespace holdfast::observe {
namespace {

// A scrape or a health check waits this long for the loop; longer means the loop is stalled.
constexpr std::chrono::milliseconds kLoopTimeout{1000};

}  // namespace

Result<HttpAddress> parse_http_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return fail("address '" + text + "' has no :port");
  HttpAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  if (out.host == "localhost") out.host = "127.0.0.1";
  const std::string port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.port < 0 || out.port > 65535) {
    return fail("address '" + text + "' has no valid port");
  }
  return out;
}

// prometheus-cpp calls Collect() on its own threads: take a snapshot on the loop, render it.
class MetricsExporter::Collector final : public prometheus::Collectable {
 public:
  Collector(LoopBridge& bridge, Fill fill) : bridge_(bridge), fill_(std::move(fill)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    auto snapshot = std::make_shared<MetricsSnapshot>();
    const Fill& fill = fill_;
    // The lambda owns the snapshot: a stalled loop may run it after this scrape gave up.
    if (!bridge_.run([snapshot, &fill] { fill(*snapshot); }, kLoopTimeout)) return {};
    return render_families(*snapshot);
  }

 private:
  LoopBridge& bridge_;
  Fill fill_;
};

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::start(const std::string& address,
                                                                LoopBridge& bridge, Fill fill) {
  auto parsed = parse_http_address(address);
  if (!parsed) return fail("prometheus: " + parsed.error().message);
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  const bool v6 = parsed->host.find(':') != std::string::npos;
  const std::string bind =
      (v6 ? "[" + parsed->host + "]" : parsed->host) + ":" + std::to_string(parsed->port);
  try {
    exporter->exposer_ = std::make_unique<prometheus::Exposer>(bind, 2);
  } catch (const std::exception& e) {
    return fail("prometheus: cannot listen on " + address + ": " + e.what());
  }
  exporter->collector_ = std::make_shared<Collector>(bridge, std::move(fill));
  exporter->exposer_->RegisterCollectable(exporter->collector_);
  const auto ports = exporter->exposer_->GetListeningPorts();
  exporter->port_ = ports.empty() ? parsed->port : ports.front();
  return exporter;
}

MetricsExporter::~MetricsExporter() = default;  // the exposer stops and joins its threads

Result<std::unique_ptr<HealthServer>> HealthServer::start(const std::string& address,
                                                          LoopBridge& bridge, Readiness readiness) {
  auto parsed = parse_http_address(address);
  if (!parsed) return fail("health: " + parsed.error().message);
  std::unique_ptr<HealthServer> server(new HealthServer());
  server->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->http_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Liveness: the loop must run a no-op within a second; a wedged daemon fails and is restarted.
  http.Get("/health", [&bridge](const httplib::Request&, httplib::Response& res) {
    if (bridge.run([] {}, kLoopTimeout)) {
      res.set_content("OK", "text/plain");
    } else {
      res.status = 503;
      res.set_content("loop stalled", "text/plain");
    }
  });
  HealthServer* self = server.get();
  http.Get("/ready", [&bridge, self, readiness = std::move(readiness)](const httplib::Request&,
                                                                       httplib::Response& res) {
    if (self->lameduck_) {
      res.status = 503;
      res.set_content("lameduck", "text/plain");
      return;
    }
    auto why = std::make_shared<std::string>("loop stalled");
    if (!bridge.run([why, &readiness] { *why = readiness(); }, kLoopTimeout) || !why->empty()) {
      res.status = 503;
      res.set_content(*why, "text/plain");
      return;
    }
    res.set_content("OK", "text/plain");
  });
  if (parsed->port == 0) {
    server->port_ = http.bind_to_any_port(parsed->host);
    if (server->port_ <= 0) return fail("health: cannot listen on " + address);
  } else {
    if (!http.bind_to_port(parsed->host, parsed->port)) {
      return fail("health: cannot listen on " + address);
    }
    server->port_ = parsed->port;
  }
  server->thread_ = std::thread([self] { self->http_->listen_after_bind(); });
  return server;
}

void HealthServer::stop() noexcept {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

HealthServer::~HealthServer() {
  stop();
}

}  // namespace holdfast::observe
