// The daemon's HTTP side (cpp-httplib): the Prometheus exposition (prometheus-cpp's text format)
// at `prometheus ADDR`, and /health and /ready at `health ADDR`. Each runs threads of
// its own and reaches the loop only through a LoopBridge.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "observe/loop_bridge.h"
#include "observe/metrics_snapshot.h"

namespace httplib {
class Server;
}

namespace holdfast::observe {

// "host:port" or ":port" (all addresses) as CoreDNS writes them → what a listener binds.
struct HttpAddress {
  std::string host;  // "0.0.0.0" for ":port"
  int port = 0;
};
Result<HttpAddress> parse_http_address(const std::string& text);

class MetricsExporter {
 public:
  // `fill` runs on the loop (through `bridge`) and copies the counters into the snapshot.
  using Fill = std::function<void(MetricsSnapshot&)>;
  static Result<std::unique_ptr<MetricsExporter>> start(const std::string& address,
                                                        LoopBridge& bridge, Fill fill);
  ~MetricsExporter();
  // Stops accepting connections now (closes the listening socket; does not wait): a removed
  // address refuses the next scrape. The destructor then joins the threads, which can take
  // seconds while a scrape in progress waits for the loop.
  void close() noexcept;
  int port() const noexcept { return port_; }

 private:
  class Collector;
  MetricsExporter() = default;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> closed_{false};
  int port_ = 0;
};

// Liveness and readiness. Both answer from any thread; the loop is asked only for /health.
class HealthServer {
 public:
  // Empty when ready; otherwise why not (the 503 body). Called on the loop.
  using Readiness = std::function<std::string()>;
  static Result<std::unique_ptr<HealthServer>> start(const std::string& address, LoopBridge& bridge,
                                                     Readiness readiness);
  ~HealthServer();
  // Shutting down: /ready says 503 "lameduck" from now on; /health keeps answering (CoreDNS).
  void set_lameduck() noexcept { lameduck_ = true; }
  // As MetricsExporter::close(): no new connection from now on; stop() also joins the threads.
  void close() noexcept;
  void stop() noexcept;
  int port() const noexcept { return port_; }

 private:
  HealthServer() = default;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> lameduck_{false};
  std::atomic<bool> closed_{false};
  int port_ = 0;
};

}  // namespace holdfast::observe
