// dnsfault's entry point: command line -> options -> run_proxy / run_ctl / run_drill.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "ctl.h"
#include "drill.h"
#include "proxy.h"

namespace {

using namespace holdfast::dnsfault;

struct Commands {
  ProxyOptions proxy;
  std::uint64_t seed = 0;
  CtlOptions ctl;
  DrillOptions drill;
  double duration_s = 0;
  CLI::App* proxy_cmd = nullptr;
  CLI::Option* seed_opt = nullptr;
  CLI::App* ctl_cmd = nullptr;
  CLI::App* drill_cmd = nullptr;
  CLI::Option* duration_opt = nullptr;
};

void add_proxy(CLI::App& app, Commands& c) {
  c.proxy_cmd = app.add_subcommand("proxy", "proxy UDP and TCP DNS to an upstream, with faults");
  CLI::App& cmd = *c.proxy_cmd;
  cmd.add_option("--listen", c.proxy.listen, "ADDR:PORT to serve DNS on")->required();
  cmd.add_option("--upstream", c.proxy.upstream, "ADDR:PORT of the real server")->required();
  cmd.add_option("--control", c.proxy.control, "loopback ADDR:PORT for the HTTP control API");
  cmd.add_option("--rules", c.proxy.rules_file, "rules file: one rule per line");
  cmd.add_option("--schedule", c.proxy.schedule_file, "schedule file: 'at OFFSET RULES' lines");
  c.seed_opt = cmd.add_option("--seed", c.seed, "seed for reproducible random faults");
  cmd.add_option("--upstream-timeout-ms", c.proxy.upstream_timeout_ms,
                 "forget an unanswered upstream query after this long")
      ->capture_default_str();
}

void add_ctl(CLI::App& app, Commands& c) {
  c.ctl_cmd = app.add_subcommand("ctl", "change the rules of a running proxy, read its stats");
  c.ctl_cmd->add_option("--control", c.ctl.control, "ADDR:PORT of the proxy's control API");
  c.ctl_cmd->require_subcommand(1);
  // set/add take the rest of the line as the rule, options included: no CLI11 parsing there.
  c.ctl_cmd
      ->add_subcommand("set",
                       "replace the rules: ACTION [ARGS] [--match GLOB] [--qtype T] "
                       "[--transport udp|tcp] [--probability P]")
      ->prefix_command();
  c.ctl_cmd->add_subcommand("add", "append a rule (same grammar as set)")->prefix_command();
  c.ctl_cmd->add_subcommand("clear", "back to pass-through");
  c.ctl_cmd->add_subcommand("stats", "print the proxy's counters");
  c.ctl_cmd->add_subcommand("rules", "print the current rules");
}

void add_drill(CLI::App& app, Commands& c) {
  c.drill_cmd = app.add_subcommand("drill", "drive client load through an outage and report");
  CLI::App& cmd = *c.drill_cmd;
  DrillOptions& d = c.drill;
  cmd.add_option("--target", d.target, "ADDR:PORT of the resolver under test")->required();
  cmd.add_option("--names", d.names_file, "names file: NAME [TYPE] per line")->required();
  cmd.add_option("--rate", d.rate_qps, "queries per second (UDP)")->required();
  c.duration_opt = cmd.add_option("--duration", c.duration_s, "seconds of load");
  cmd.add_option("--schedule", d.schedule_file, "schedule to play on the fault proxy");
  cmd.add_option("--scenario", d.scenario, "built-in schedule: dec-2024");
  cmd.add_option("--proxy-control", d.proxy_control, "the fault proxy's control API");
  cmd.add_option("--baseline", d.baseline,
                 "ADDR:PORT: the same load straight at the upstream path, without Holdfast");
  cmd.add_option("--timeout-ms", d.timeout_ms, "per-query timeout")->capture_default_str();
  cmd.add_option("--out", d.out_dir, "directory for report.json, report.md, timeline.svg")
      ->required();
}

// `--control X` given after the verb belongs to ctl, not to the rule.
void take_control_flag(std::vector<std::string>& args, std::string& control) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto at = args.begin() + static_cast<std::ptrdiff_t>(i);
    if (args[i] == "--control" && i + 1 < args.size()) {
      control = args[i + 1];
      args.erase(at, at + 2);
      return;
    }
    if (args[i].starts_with("--control=")) {
      control = args[i].substr(10);
      args.erase(at);
      return;
    }
  }
}

int run_ctl_command(Commands& c) {
  for (CLI::App* verb : c.ctl_cmd->get_subcommands()) {
    c.ctl.verb = verb->get_name();
    c.ctl.args = verb->remaining();
  }
  take_control_flag(c.ctl.args, c.ctl.control);
  if (c.ctl.control.empty()) {
    std::fprintf(stderr, "dnsfault ctl: --control ADDR:PORT is required\n");
    return 2;
  }
  return run_ctl(c.ctl);
}

int run(int argc, char** argv) {
  CLI::App app{"dnsfault: a DNS fault-injection proxy and outage drill"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  Commands commands;
  add_proxy(app, commands);
  add_ctl(app, commands);
  add_drill(app, commands);
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_st("dnsfault"));  // stdout is for results
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (commands.proxy_cmd->parsed()) {
    if (*commands.seed_opt) commands.proxy.seed = commands.seed;
    return run_proxy(commands.proxy);
  }
  if (commands.ctl_cmd->parsed()) return run_ctl_command(commands);
  if (commands.drill_cmd->parsed()) {
    if (*commands.duration_opt) commands.drill.duration_s = commands.duration_s;
    return run_drill(commands.drill);
  }
  return 2;
}

}  // namespace

// What start-up code throws past run() (allocation, the standard library) ends the process with
// one line on stderr and exit 1, not with std::terminate().
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dnsfault: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "dnsfault: unknown exception\n");
  }
  return 1;
}
