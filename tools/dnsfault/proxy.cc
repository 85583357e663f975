// Start-up and shutdown of the proxy: options -> objects -> uv_run -> close everything.
#include "proxy.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>

#include "base/uv_util.h"
#include "control_api.h"
#include "proxy_tcp.h"
#include "proxy_udp.h"
#include "schedule.h"
#include "schedule_player.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

struct Shutdown {
  uv_signal_t sigint;
  uv_signal_t sigterm;
  std::function<void()> stop;
};

void on_signal(uv_signal_t* handle, int signum) noexcept {
  spdlog::info("signal {}: stopping", signum);
  static_cast<Shutdown*>(handle->data)->stop();
}

// The options, read and checked: everything that can be wrong with them fails here.
struct ProxyConfig {
  sockaddr_storage listen{};
  sockaddr_storage upstream{};
  std::optional<HostPort> control;
  RuleSet initial;
  std::optional<Schedule> schedule;
  std::uint64_t seed = 0;
};

Result<ProxyConfig> load_config(const ProxyOptions& options) {
  ProxyConfig config;
  auto listen = parse_socket_address(options.listen);
  if (!listen) return fail("--listen: " + listen.error().message);
  config.listen = *listen;
  auto upstream = parse_socket_address(options.upstream);
  if (!upstream) return fail("--upstream: " + upstream.error().message);
  config.upstream = *upstream;
  if (!options.control.empty()) {
    auto addr = parse_socket_address(options.control);
    if (!addr) return fail("--control: " + addr.error().message);
    config.control = parse_host_port(options.control).value();
  }
  if (!options.rules_file.empty()) {
    auto text = read_file(options.rules_file);
    if (!text) return fail("--rules: " + text.error().message);
    auto rules = parse_rules_file(*text, options.rules_file);
    if (!rules) return fail("invalid rules: " + rules.error().message);
    config.initial = std::move(*rules);
  }
  if (!options.schedule_file.empty()) {
    auto text = read_file(options.schedule_file);
    if (!text) return fail("--schedule: " + text.error().message);
    auto parsed = parse_schedule(*text, options.schedule_file);
    if (!parsed) return fail("invalid schedule: " + parsed.error().message);
    config.schedule = std::move(*parsed);
  }
  config.seed = options.seed.value_or(std::random_device{}());
  return config;
}

}  // namespace

int run_proxy(const ProxyOptions& options) {
  auto loaded = load_config(options);
  if (!loaded) return spdlog::error("{}", loaded.error().message), 2;
  ProxyConfig& config = *loaded;
  const auto* listen_addr = reinterpret_cast<const sockaddr*>(&config.listen);

  uv_loop_t loop;
  uv_loop_init(&loop);
  Stats stats(monotonic_ms());
  RuleStore store(std::move(config.initial));
  RuleView view(store);
  FaultEngine engine(config.seed);
  IcmpRefuser icmp;
  if (auto ok = icmp.open(listen_addr->sa_family); !ok) {
    spdlog::warn("refuse-connection over UDP will drop instead of sending ICMP: {}",
                 ok.error().message);
  }
  ProxyContext context{
      &loop, view, engine, stats, icmp, config.upstream, options.upstream_timeout_ms};
  auto udp = std::make_unique<UdpProxy>(context);
  auto tcp = std::make_unique<TcpProxy>(context);
  std::unique_ptr<ControlApi> api;
  std::unique_ptr<SchedulePlayer> player;
  Shutdown shutdown;
  bool stopped = false;
  shutdown.stop = [&] {
    if (stopped) return;
    stopped = true;
    if (api) api->stop();
    if (player) player->close();
    udp->close();
    tcp->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown.sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown.sigterm), nullptr);
  };
  uv_signal_init(&loop, &shutdown.sigint);
  uv_signal_init(&loop, &shutdown.sigterm);
  shutdown.sigint.data = shutdown.sigterm.data = &shutdown;

  int status = 0;
  auto started = udp->start(listen_addr);
  if (started) started = tcp->start(listen_addr);
  if (started && config.control) {
    const ControlInfo info{format_address(listen_addr),
                           format_address(reinterpret_cast<const sockaddr*>(&config.upstream)),
                           config.seed};
    api = std::make_unique<ControlApi>(store, stats, info);
    started = api->start(*config.control);
  }
  if (!started) {
    spdlog::error("{}", started.error().message);
    status = 1;
  } else {
    uv_signal_start(&shutdown.sigint, &on_signal, SIGINT);
    uv_signal_start(&shutdown.sigterm, &on_signal, SIGTERM);
    spdlog::info("dnsfault proxy: listening on {} (udp, tcp), upstream {}, control {}, seed {}",
                 options.listen, options.upstream, config.control ? options.control : "off",
                 config.seed);
    spdlog::info("rules: {}", rule_set_to_text(*store.get().rules));
    if (config.schedule) {
      player = std::make_unique<SchedulePlayer>(&loop, *config.schedule, store, stats);
      player->start();
    }
    spdlog::info("ready");
  }
  if (status != 0) shutdown.stop();
  uv_run(&loop, UV_RUN_DEFAULT);
  shutdown.stop();
  uv_run(&loop, UV_RUN_DEFAULT);  // the close callbacks
  if (uv_loop_close(&loop) != 0) spdlog::warn("loop closed with handles still open");
  return status;
}

}  // namespace holdfast::dnsfault
