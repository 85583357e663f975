// Metrics exposition and health/readiness over HTTP.
#include "observe/http_endpoints.h"

#include <httplib.h>
#include <prometheus/text_serializer.h>

#include <charconv>
#include <optional>
#include <sstream>
#include <thread>

#include "observe/metrics.h"

namespace holdfast::observe {
namespace {

// A scrape or a health check waits this long for the loop; longer means the loop is stalled.
constexpr std::chrono::milliseconds kLoopTimeout{1000};

// Binds `http` to the address (port 0: any free port) and returns the port, or an error naming
// `what`. cpp-httplib sets SO_REUSEPORT, so a second Holdfast of the same user can bind the same
// port during a hand-over (the DNS listeners decide whether a second start is allowed).
Result<int> bind_http(httplib::Server& http, const HttpAddress& where, const std::string& what,
                      const std::string& address) {
  if (where.port == 0) {
    const int port = http.bind_to_any_port(where.host);
    if (port <= 0) return fail(what + ": cannot listen on " + address);
    return port;
  }
  if (!http.bind_to_port(where.host, where.port)) {
    return fail(what + ": cannot listen on " + address);
  }
  return where.port;
}

// Closes the listening socket once. cpp-httplib's stop() does nothing before its thread has
// entered listen_after_bind(), so it waits for that first (the thread is started right after the
// bind; 1 s bounds the wait should it never run).
void stop_accepting(httplib::Server& http, std::atomic<bool>& closed) noexcept {
  if (closed.exchange(true)) return;
  for (int i = 0; i < 1000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http.stop();
}

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

// The exposition: a snapshot taken on the loop, rendered in Prometheus's text format.
class MetricsExporter::Collector {
 public:
  Collector(LoopBridge& bridge, Fill fill) : bridge_(bridge), fill_(std::move(fill)) {}

  // Empty when the loop did not answer in time (the scrape then fails with 503).
  std::optional<std::string> render() const {
    auto snapshot = std::make_shared<MetricsSnapshot>();
    const Fill& fill = fill_;
    // The lambda owns the snapshot: a stalled loop may run it after this scrape gave up.
    if (!bridge_.run([snapshot, &fill] { fill(*snapshot); }, kLoopTimeout)) return std::nullopt;
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, render_families(*snapshot));
    return std::move(out).str();
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
  exporter->collector_ = std::make_shared<Collector>(bridge, std::move(fill));
  exporter->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *exporter->http_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  http.Get("/metrics",
           [collector = exporter->collector_](const httplib::Request&, httplib::Response& res) {
             if (auto text = collector->render()) {
               res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
             } else {
               res.status = 503;
               res.set_content("loop stalled", "text/plain");
             }
           });
  auto port = bind_http(http, *parsed, "prometheus", address);
  if (!port) return fail(port.error().message);
  exporter->port_ = *port;
  MetricsExporter* self = exporter.get();
  exporter->thread_ = std::thread([self] { self->http_->listen_after_bind(); });
  return exporter;
}

MetricsExporter::~MetricsExporter() {
  close();
  if (thread_.joinable()) thread_.join();
}

void MetricsExporter::close() noexcept {
  if (http_) stop_accepting(*http_, closed_);
}

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
  auto port = bind_http(http, *parsed, "health", address);
  if (!port) return fail(port.error().message);
  server->port_ = *port;
  server->thread_ = std::thread([self] { self->http_->listen_after_bind(); });
  return server;
}

void HealthServer::close() noexcept {
  if (http_) stop_accepting(*http_, closed_);
}

void HealthServer::stop() noexcept {
  close();
  if (thread_.joinable()) thread_.join();
}

HealthServer::~HealthServer() {
  stop();
}

}  // namespace holdfast::observe
