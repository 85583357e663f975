// The order of node setup (see node_setup.h) and the sync on a worker.
#include "node/node_setup.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <utility>

#include "node/iptables.h"
#include "node/link.h"

namespace holdfast::node {

namespace {

constexpr std::chrono::milliseconds kGuardianGrace{1000};
// Below kubelet's guaranteed pods (-997) and above the node's daemons (-999): the OOM killer
// picks almost anything else first.
constexpr int kOomScoreAdj = -998;

void lower_oom_score() {
  std::ofstream file("/proc/self/oom_score_adj");
  file << kOomScoreAdj << '\n';
  file.flush();
  if (!file) {
    spdlog::debug("cannot write {} to /proc/self/oom_score_adj (not permitted)", kOomScoreAdj);
  }
}

bool guardian_wanted(const config::NodeCacheFlags& flags) {
  const char* env = std::getenv("HOLDFAST_NODE_GUARDIAN");
  const bool disabled = env != nullptr && std::string(env) == "0";
  return (flags.setup_interface || flags.setup_iptables) && !flags.skip_teardown && !disabled;
}

}  // namespace

NodePlan make_plan(const config::NodeCacheFlags& flags, const std::string& state_dir) {
  NodePlan plan;
  plan.setup_interface = flags.setup_interface;
  plan.setup_iptables = flags.setup_iptables;
  plan.interface_name = flags.interface_name;
  plan.local_ips = flags.local_ips;
  plan.rules = node_cache_rules(flags.local_ips, flags.dns_port, flags.health_port);
  plan.lock_path = state_dir + "/" + kNodeLockFileName;
  return plan;
}

NodeSetup::NodeSetup(NodePlan plan, const config::NodeCacheFlags& flags)
    : plan_(std::move(plan)),
      sync_interval_(flags.sync_interval),
      metrics_address_(flags.metrics_listen_address),
      skip_teardown_(flags.skip_teardown) {}

NodeSetup::~NodeSetup() = default;

Result<std::unique_ptr<NodeSetup>> NodeSetup::prepare(const config::NodeCacheFlags& flags,
                                                      const std::string& state_dir) {
  std::unique_ptr<NodeSetup> setup(new NodeSetup(make_plan(flags, state_dir), flags));
  NodePlan& plan = setup->plan_;
  lower_oom_score();  // before the fork: the guardian is protected too
  if (guardian_wanted(flags)) {
    auto link = start_guardian(plan, kGuardianGrace);
    if (!link) return fail("node guardian: " + link.error().message);
    setup->guardian_ = std::move(*link);
  }
  auto lock = NodeLock::open(plan.lock_path);
  if (!lock) return fail("node lock: " + lock.error().message);
  const bool alone = lock->try_exclusive();
  if (plan.setup_iptables) {
    const ModeChoice choice = detect_iptables_mode();
    setup->mode_ = choice.mode;
    spdlog::info("iptables mode {} ({})", mode_name(choice.mode), choice.reason);
  }
  if (plan.setup_interface || plan.setup_iptables) {
    // The interface is checked here (netlink, quick); the rules by the first sync, on a worker:
    // iptables may wait seconds for the xtables lock, and the listeners should not.
    if (!alone) {
      spdlog::info("another holdfast runs on this node: sharing its interface and rules");
    } else if (plan.setup_interface && interface_exists(plan.interface_name)) {
      spdlog::warn("{}", kAdoptingLine);
    } else {
      setup->check_leftover_rules_ = true;
    }
  }
  // Waits while another process tears down (it holds the lock exclusively).
  if (auto shared = lock->share(); !shared) return fail("node lock: " + shared.error().message);
  setup->lock_.emplace(std::move(*lock));
  if (auto served = setup->metrics_.serve(flags.metrics_listen_address); !served) {
    // In a surge hand-over the old instance still has the address: retried at every sync.
    spdlog::error("{}; setup errors are counted, and served once the address is free",
                  served.error().message);
  }
  SetupReport report;
  ensure_interface_step(plan, report);
  setup->apply(report);
  return setup;
}

void NodeSetup::apply(const SetupReport& report) {
  for (const std::string& line : report.warnings) spdlog::warn("{}", line);
  for (const std::string& line : report.info) spdlog::info("{}", line);
  for (const auto& [kind, message] : report.errors) {
    metrics_.count(kind);
    spdlog::error("node setup ({}): {}", setup_error_label(kind), message);
  }
}

void NodeSetup::start(uv_loop_t* loop) {
  rules_active_ = true;
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  // The first re-checks come soon and then ever less often, up to -syncinterval: what a
  // predecessor's teardown removes just after we start (node-cache's SIGTERM, during the first
  // switch to Holdfast) comes back within seconds, not a minute.
  const auto interval = static_cast<std::uint64_t>(sync_interval_.count());
  repeat_ms_ = std::min<std::uint64_t>(kFirstResyncMs, interval);
  uv_timer_start(
      &timer_,
      [](uv_timer_t* handle) noexcept {
        auto* self = static_cast<NodeSetup*>(handle->data);
        const auto max_ms = static_cast<std::uint64_t>(self->sync_interval_.count());
        if (self->repeat_ms_ < max_ms) {
          self->repeat_ms_ = std::min(self->repeat_ms_ * 2, max_ms);
          uv_timer_set_repeat(handle, self->repeat_ms_);
        }
        self->begin_sync();
      },
      repeat_ms_, repeat_ms_);
  for (uv_signal_t* handle : {&term_, &interrupt_}) {
    uv_signal_init(loop, handle);
    handle->data = this;
    uv_signal_start(
        handle, [](uv_signal_t* h, int) noexcept { static_cast<NodeSetup*>(h->data)->stop(); },
        handle == &term_ ? SIGTERM : SIGINT);
    uv_unref(reinterpret_cast<uv_handle_t*>(handle));
  }
  begin_sync();  // the rules, now that the listeners are bound
}

void NodeSetup::begin_sync() {
  if (stopping_) return;
  if (!metrics_.serving() && metrics_.serve(metrics_address_)) {
    spdlog::info("serving coredns_nodecache_setup_errors_total on {}", metrics_address_);
  }
  if (in_flight_) return;
  in_flight_ = std::make_unique<Sync>();
  in_flight_->owner = this;
  in_flight_->rules = rules_active_;
  in_flight_->mode = mode_;
  in_flight_->check_leftover_rules = std::exchange(check_leftover_rules_, false);
  in_flight_->work.data = in_flight_.get();
  uv_queue_work(
      timer_.loop, &in_flight_->work,
      [](uv_work_t* work) noexcept {
        auto* sync = static_cast<Sync*>(work->data);
        if (sync->check_leftover_rules) {
          report_leftover_rules(sync->owner->plan_, sync->mode, sync->report);
        }
        ensure_interface_step(sync->owner->plan_, sync->report);
        if (sync->rules) ensure_rules_step(sync->owner->plan_, sync->mode, sync->report);
      },
      [](uv_work_t* work, int) noexcept {
        auto* sync = static_cast<Sync*>(work->data);
        NodeSetup* self = sync->owner;
        self->apply(sync->report);
        self->in_flight_.reset();
      });
}

void NodeSetup::stop() {
  if (stopping_) return;
  stopping_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&term_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&interrupt_), nullptr);
}

void NodeSetup::finish() {
  // The loop is closed by now: the handles were closed by stop() at SIGTERM/SIGINT (a loop that
  // ended any other way keeps them until exit; they are never touched again).
  if (skip_teardown_ || (!plan_.setup_interface && !plan_.setup_iptables)) {
    if (skip_teardown_) spdlog::info("-skipteardown: leaving the interface and rules in place");
    guardian_.clean_exit();
    return;
  }
  // Drop the shared lock, then ask for it alone on a fresh descriptor.
  lock_.reset();
  auto lock = NodeLock::open(plan_.lock_path);
  if (!lock || !lock->try_exclusive()) {
    spdlog::info(
        "another holdfast still runs on this node: leaving the interface and rules in "
        "place");
    guardian_.clean_exit();
    return;
  }
  spdlog::info("tearing down the node setup");
  SetupReport report;
  remove_rules_step(plan_, mode_, report);
  if (plan_.setup_interface) {
    if (auto removed = remove_interface(plan_.interface_name); !removed) {
      report.errors.emplace_back(SetupError::kInterfaceCheck, removed.error().message);
    } else {
      report.info.push_back("removed interface " + plan_.interface_name);
    }
  }
  apply(report);
  guardian_.clean_exit();
}

}  // namespace holdfast::node
