// node-cache's node setup, for holdfast in node-cache mode: the guardian, the node lock, the
// interface before the listeners bind, node-cache's iptables rules once they are bound, the
// re-check every -syncinterval, the setup error metric, and the teardown at exit (unless
// -skipteardown or another instance still runs). main.cc makes three calls: prepare(), start(),
// finish().
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "config/node_cache.h"
#include "node/guardian.h"
#include "node/node_lock.h"
#include "node/node_plan.h"
#include "node/setup_metrics.h"

namespace holdfast::node {

// The plan for these flags; `state_dir` holds node.lock.
NodePlan make_plan(const config::NodeCacheFlags& flags, const std::string& state_dir);

class NodeSetup {
 public:
  // Call before any thread or loop handle exists (it forks the guardian). Lowers the OOM score,
  // takes node.lock shared, says what a dead predecessor left, picks the iptables mode, serves
  // the metric, and sets the interface up so the listeners can bind the local IPs (failures there
  // are logged and counted, not fatal). Errors: the lock file or the fork.
  static Result<std::unique_ptr<NodeSetup>> prepare(const config::NodeCacheFlags& flags,
                                                    const std::string& state_dir);

  ~NodeSetup();
  NodeSetup(const NodeSetup&) = delete;
  NodeSetup& operator=(const NodeSetup&) = delete;

  // After the listeners are bound and the store is open: installs the rules, then re-checks
  // everything every -syncinterval on a worker thread. SIGTERM/SIGINT stop the re-checks. The
  // handles are unreferenced: they never keep the loop alive. Loop thread only.
  void start(uv_loop_t* loop);

  // After uv_run returned: tears down unless -skipteardown or another instance holds node.lock,
  // then tells the guardian the exit was clean.
  void finish();

 private:
  NodeSetup(NodePlan plan, const config::NodeCacheFlags& flags);
  void begin_sync();
  void apply(const SetupReport& report);
  void stop();

  NodePlan plan_;
  std::chrono::milliseconds sync_interval_;
  static constexpr std::uint64_t kFirstResyncMs = 1000;  // then 2, 4, 8 … s up to sync_interval_
  std::uint64_t repeat_ms_ = kFirstResyncMs;
  std::string metrics_address_;
  bool skip_teardown_;
  IptablesMode mode_ = IptablesMode::kNft;
  std::optional<NodeLock> lock_;
  GuardianLink guardian_;
  SetupMetrics metrics_;

  struct Sync {
    uv_work_t work{};
    NodeSetup* owner = nullptr;
    bool rules = false;  // copies taken on the loop: the worker reads only these and plan_
    IptablesMode mode = IptablesMode::kNft;
    bool check_leftover_rules = false;
    SetupReport report;
  };
  std::unique_ptr<Sync> in_flight_;    // the worker's request; the loop never touches its report
  bool check_leftover_rules_ = false;  // alone at start, no interface: did rules survive?
  bool rules_active_ = false;          // after start(): before it, only the interface is ensured
  bool stopping_ = false;
  uv_timer_t timer_{};
  uv_signal_t term_{};
  uv_signal_t interrupt_{};
};

}  // namespace holdfast::node
