// Drill orchestration: options -> names, schedule, loads, control thread -> run -> reports.
#include "drill.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/uv_util.h"
#include "drill_control.h"
#include "drill_load.h"
#include "names.h"
#include "report.h"
#include "scenario.h"
#include "stats.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

Result<void> write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail("cannot write " + path.string());
  return {};
}

struct Run {
  uv_loop_t loop;
  std::vector<std::unique_ptr<LoadGenerator>> loads;
  uv_signal_t sigint;
  bool finished = false;
};

void on_load_done(void* context) noexcept {
  auto* run = static_cast<Run*>(context);
  for (const auto& load : run->loads) {
    if (!load->done()) return;
  }
  run->finished = true;
  for (const auto& load : run->loads) load->close();
  uv_close(reinterpret_cast<uv_handle_t*>(&run->sigint), nullptr);
}

void on_sigint(uv_signal_t* handle, int) noexcept {
  spdlog::warn("drill: interrupted; waiting for the queries in flight, then writing the reports");
  for (const auto& load : static_cast<Run*>(handle->data)->loads) load->stop_sending();
}

// The upstream rate per second from the proxy's counters read at each whole second.
std::vector<UpstreamSecond> upstream_seconds(const std::vector<std::optional<StatsSample>>& samples,
                                             std::size_t seconds,
                                             const Series* baseline_via_proxy) {
  std::vector<UpstreamSecond> out(seconds);
  for (std::size_t k = 0; k < seconds && k + 1 < samples.size(); ++k) {
    if (!samples[k] || !samples[k + 1]) continue;
    UpstreamSecond& u = out[k];
    u.received = samples[k + 1]->received - samples[k]->received;
    u.forwarded = samples[k + 1]->forwarded - samples[k]->forwarded;
    std::uint64_t own = *u.received;
    if (baseline_via_proxy) {
      const std::uint64_t theirs = baseline_via_proxy->seconds[k].sent;
      own = own > theirs ? own - theirs : 0;
    }
    u.from_target = own;
  }
  return out;
}

Result<void> validate(const DrillOptions& o) {
  if (!(o.rate_qps > 0) || o.rate_qps > kMaxDrillRate) {
    return fail("--rate must be in (0, " + format_fixed(kMaxDrillRate, 0) + "] queries/s");
  }
  if (o.duration_s && (!(*o.duration_s > 0) || *o.duration_s > kMaxDrillSeconds)) {
    return fail("--duration must be in (0, 86400] seconds");
  }
  if (o.timeout_ms == 0 || o.timeout_ms > 60'000) return fail("--timeout-ms must be in [1, 60000]");
  if (!o.schedule_file.empty() && !o.scenario.empty())
    return fail("give --schedule or --scenario, not both");
  const bool scheduled = !o.schedule_file.empty() || !o.scenario.empty();
  if (scheduled && o.proxy_control.empty()) {
    return fail("a schedule plays on the fault proxy: --proxy-control ADDR:PORT is required");
  }
  if (!o.proxy_control.empty()) {
    if (auto hp = parse_host_port(o.proxy_control); !hp) {
      return fail("--proxy-control: " + hp.error().message);
    }
  }
  if (!o.duration_s && o.scenario.empty())
    return fail("--duration is required (without --scenario)");
  return {};
}

// Everything the run needs, read and checked before it starts. Failures here exit 2.
struct Plan {
  sockaddr_storage target{};
  std::optional<sockaddr_storage> baseline;
  std::vector<WireQuery> queries;
  std::optional<Schedule> schedule;
};

Result<Plan> make_plan(const DrillOptions& options, DrillReport& report) {
  if (auto ok = validate(options); !ok) return tl::unexpected(ok.error());
  Plan plan;
  auto target = parse_socket_address(options.target);
  if (!target) return fail("--target: " + target.error().message);
  plan.target = *target;
  if (!options.baseline.empty()) {
    auto baseline = parse_socket_address(options.baseline);
    if (!baseline) return fail("--baseline: " + baseline.error().message);
    plan.baseline = *baseline;
  }
  auto names_text = read_file(options.names_file);
  if (!names_text) return fail("--names: " + names_text.error().message);
  auto queries = parse_names(*names_text, options.names_file);
  if (!queries) return fail("invalid names file: " + queries.error().message);
  plan.queries = std::move(*queries);

  DrillConfig& config = report.config;
  if (!options.scenario.empty()) {
    const Scenario* scenario = find_scenario(options.scenario);
    if (!scenario) return fail("--scenario: unknown scenario '" + options.scenario + "'");
    auto parsed = parse_schedule(scenario->schedule, scenario->name);
    if (!parsed) return tl::unexpected(parsed.error());
    plan.schedule = std::move(*parsed);
    config.schedule = std::string(scenario->name);
    config.scenario_description = std::string(scenario->description);
    config.duration_ms = scenario->duration_ms;
  } else if (!options.schedule_file.empty()) {
    auto text = read_file(options.schedule_file);
    if (!text) return fail("--schedule: " + text.error().message);
    auto parsed = parse_schedule(*text, options.schedule_file);
    if (!parsed) return fail("invalid schedule: " + parsed.error().message);
    plan.schedule = std::move(*parsed);
    config.schedule = options.schedule_file;
  }
  if (options.duration_s) {
    config.duration_ms = static_cast<std::uint64_t>(std::llround(*options.duration_s * 1000));
  }
  config.target = options.target;
  config.baseline = options.baseline;
  config.proxy_control = options.proxy_control;
  config.names_file = options.names_file;
  config.names = plan.queries.size();
  config.rate_qps = options.rate_qps;
  config.timeout_ms = options.timeout_ms;
  if (plan.schedule) report.phases = schedule_phases(*plan.schedule, config.duration_ms);
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return fail("--out: cannot create " + options.out_dir + ": " + ec.message());
  return plan;
}

// Reaches the proxy before the run (so a typo fails now, not in the middle) and starts it in
// pass-through when the schedule does not begin at 0. Sets report.baseline_through_proxy.
Result<std::unique_ptr<DrillControl>> connect_control(const DrillOptions& options, const Plan& plan,
                                                      DrillReport& report) {
  auto client = ControlClient::create(options.proxy_control);
  if (!client) return fail("--proxy-control: " + client.error().message);
  auto stats = client->get_stats();
  if (!stats) return tl::unexpected(stats.error());
  const std::string proxy_listen = stats->value("listen", "");
  report.baseline_through_proxy =
      plan.baseline && !proxy_listen.empty() &&
      format_address(reinterpret_cast<const sockaddr*>(&*plan.baseline)) == proxy_listen;
  const Schedule* schedule = plan.schedule ? &*plan.schedule : nullptr;
  if (schedule && schedule->entries.front().offset_ms > 0) {
    if (auto ok = client->put_rules({}); !ok) return tl::unexpected(ok.error());
  }
  return std::make_unique<DrillControl>(std::move(*client), schedule, report.config.duration_ms);
}

// Runs the load(s) on a fresh loop until every query is answered or timed out.
Result<std::vector<Series>> run_loads(const DrillOptions& options, const Plan& plan,
                                      DrillControl* control, DrillReport& report) {
  Run run;
  uv_loop_init(&run.loop);
  LoadOptions load{plan.target, options.rate_qps, report.config.duration_ms, options.timeout_ms};
  run.loads.push_back(std::make_unique<LoadGenerator>(&run.loop, plan.queries, load,
                                                      Series{"target", options.target, {}, {}, 0}));
  if (plan.baseline) {
    load.target = *plan.baseline;
    run.loads.push_back(std::make_unique<LoadGenerator>(
        &run.loop, plan.queries, load, Series{"baseline", options.baseline, {}, {}, 0}));
  }
  uv_signal_init(&run.loop, &run.sigint);
  run.sigint.data = &run;
  uv_signal_start(&run.sigint, &on_sigint, SIGINT);
  spdlog::info("drill: {} queries/s for {} against {}{}, {} names, schedule {}", options.rate_qps,
               format_duration_ms(report.config.duration_ms), options.target,
               plan.baseline ? " and baseline " + options.baseline : "", plan.queries.size(),
               report.config.schedule.empty() ? "none" : report.config.schedule);
  report.config.started_unix_ms = unix_ms();
  const std::uint64_t t0 = uv_hrtime();
  if (control) control->start(t0);
  Result<void> started;
  for (auto& generator : run.loads) {
    started = generator->start(t0, &on_load_done, &run);
    if (!started) break;
  }
  if (started) uv_run(&run.loop, UV_RUN_DEFAULT);
  if (!run.finished) {  // a start failed: close what was opened
    for (const auto& g : run.loads) g->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&run.sigint), nullptr);
    uv_run(&run.loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&run.loop);
  if (control) control->stop();
  if (!started) return tl::unexpected(started.error());
  std::vector<Series> out;
  for (const auto& g : run.loads) out.push_back(g->series());
  return out;
}

void fill_report(std::vector<Series> series, const DrillControl* control, DrillReport& report) {
  report.target = std::move(series[0]);
  report.target_summary = summarize(report.target, report.phases);
  if (series.size() > 1) {
    report.baseline = std::move(series[1]);
    report.baseline_summary = summarize(*report.baseline, report.phases);
  }
  if (!control) return;
  report.switches = control->switches();
  report.upstream = upstream_seconds(control->samples(), report.target.seconds.size(),
                                     report.baseline_through_proxy ? &*report.baseline : nullptr);
  std::vector<std::optional<std::uint64_t>> qps;
  for (const UpstreamSecond& u : report.upstream) qps.push_back(u.from_target);
  report.recovery = find_recovery(report.phases, qps);
}

Result<void> write_reports(const DrillReport& report, const std::string& out_dir) {
  const std::filesystem::path out(out_dir);
  if (auto ok = write_file(out / "report.json", report_json(report).dump(1) + "\n"); !ok) return ok;
  if (auto ok = write_file(out / "report.md", report_markdown(report)); !ok) return ok;
  return write_file(out / "timeline.svg", timeline_svg(report));
}

void log_summary(const std::string& role, const Summary& s) {
  spdlog::info("drill: {}: sent {}, answered {} ({:.1f} %), stale {}, failed {}, timeouts {}", role,
               s.totals.sent, s.totals.answered(), s.availability_pct, s.totals.stale,
               s.totals.failed(), s.totals.timeouts);
}

}  // namespace

int run_drill(const DrillOptions& options) {
  DrillReport report;
  auto plan = make_plan(options, report);
  if (!plan) return spdlog::error("drill: {}", plan.error().message), 2;
  std::unique_ptr<DrillControl> control;
  if (!options.proxy_control.empty()) {
    auto connected = connect_control(options, *plan, report);
    if (!connected) return spdlog::error("drill: {}", connected.error().message), 1;
    control = std::move(*connected);
  }
  auto series = run_loads(options, *plan, control.get(), report);
  if (!series) return spdlog::error("drill: {}", series.error().message), 1;
  fill_report(std::move(*series), control.get(), report);
  if (auto ok = write_reports(report, options.out_dir); !ok) {
    return spdlog::error("drill: {}", ok.error().message), 1;
  }
  log_summary("target", report.target_summary);
  if (report.baseline_summary) log_summary("baseline", *report.baseline_summary);
  spdlog::info("drill: reports in {}", options.out_dir);
  return 0;
}

}  // namespace holdfast::dnsfault
