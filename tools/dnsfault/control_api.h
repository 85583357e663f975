// The proxy's control API: HTTP/JSON on a loopback address, on its own thread (cpp-httplib).
//   GET /rules      the rule set (a JSON array, see rule_json.h)
//   PUT /rules      replace it        POST /rules   append to it      DELETE /rules  pass-through
//   GET /stats      counters, per-action counts, the upstream rate over the last 60 s, schedule
// Bodies are JSON (an array, one rule, or {"rules": [...]}) or, with Content-Type text/plain,
// the rule grammar ("blackhole; delay 800 200"). Bad input: 400 {"error": "..."}.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "rule_store.h"
#include "stats.h"
#include "text.h"

namespace httplib {
class Server;
}

namespace holdfast::dnsfault {

struct ControlInfo {
  std::string listen;  // the proxy's DNS address, reported in /stats
  std::string upstream;
  std::uint64_t seed = 0;
};

class ControlApi {
 public:
  ControlApi(RuleStore& store, const Stats& stats, ControlInfo info);
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;
  ~ControlApi();

  // Binds (loopback only) and starts serving on a new thread.
  Result<void> start(const HostPort& address);
  // Stops serving and joins the thread. Idempotent; any thread but the server's own.
  void stop();

 private:
  void routes();

  RuleStore& store_;
  const Stats& stats_;
  ControlInfo info_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace holdfast::dnsfault
