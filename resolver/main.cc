// holdfast: flags → config → server → uv_run(). Nothing else lives here.
#include <ares.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/json_log.h"
#include "base/pidfile.h"
#include "base/service_notify.h"
#include "config/config.h"
#include "config/node_cache.h"
#include "node/node_setup.h"
#include "observe/admin_protocol.h"
#include "observe/admin_socket.h"
#include "server/admin_commands.h"
#include "server/reloader.h"
#include "server/server.h"

namespace {

constexpr int kExitConfigError = 2;
constexpr int kExitStartError = 1;

// node-cache and CoreDNS take Go-style flags (-conf FILE). node-cache's own flags are taken out
// first (config/node_cache.h: Go's boolean forms need a parser CLI11 does not have); CLI11 wants
// long options with two dashes, so single-dash spellings of our long options are rewritten.
std::vector<std::string> normalise_flags(const std::vector<std::string>& rest) {
  static const char* const kLong[] = {"conf",
                                      "check-config",
                                      "version",
                                      "help",
                                      "log-level",
                                      "log-format",
                                      "tcp-idle-timeout",
                                      "tcp-max-connections",
                                      "state-dir",
                                      "takeover",
                                      "tcp-max-connections-per-client"};
  std::vector<std::string> args;
  for (std::string arg : rest) {
    for (const char* name : kLong) {
      const std::string single = std::string("-") + name;
      if (arg == single || arg.rfind(single + "=", 0) == 0) arg.insert(0, 1, '-');
    }
    args.push_back(arg);
  }
  return args;
}

// systemd's STATUS=: what listens where, and the store (or why it is not ready).
std::string service_status(const holdfast::server::Server& server) {
  const holdfast::config::Config& config = server.config();
  std::vector<std::string> addresses;
  for (const auto& block : config.blocks) {
    const std::vector<std::string> binds =
        block.bind.empty() ? std::vector<std::string>{"*"} : block.bind;
    for (const std::string& host : binds) {
      const bool v6 = host.find(':') != std::string::npos;
      std::string address = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(block.port);
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
        addresses.push_back(std::move(address));
      }
    }
  }
  std::string line = std::to_string(config.blocks.size()) + " zone block(s) on";
  for (const std::string& address : addresses) line += " " + address;
  line += config.persist.enabled ? "; store " + config.persist.dir : "; no store";
  if (const std::string problem = server.readiness(); !problem.empty()) line += "; " + problem;
  return line;
}

// Signals whose default action would end the process and that mean nothing to holdfast: each is
// logged and ignored (SIGUSR2 stalls the loop under --test-hooks). SIGHUP and SIGUSR1 reload.
constexpr int kIgnoredUntilHandled[] = {SIGHUP,  SIGUSR1, SIGUSR2, SIGALRM, SIGPWR,   SIGVTALRM,
                                        SIGPROF, SIGIO,   SIGXFSZ, SIGXCPU, SIGSTKFLT};

// The daemon from flags to shutdown; main() adds the last catch.
int run(int argc, char** argv) {
  // Until the loop's handlers are in place (and again once they are closed at shutdown), the
  // signals that would kill a process by default are ignored: no signal stops holdfast by
  // surprise (README "Signals").
  for (int signum : kIgnoredUntilHandled) std::signal(signum, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"holdfast: a node-local DNS cache that keeps answering when its upstream is down"};
  std::string conf_path;
  bool check_config = false;
  bool show_version = false;
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--conf", conf_path, "Corefile to run (default: the embedded configuration)");
  app.add_flag("--check-config", check_config,
               "parse and validate the configuration, print the effective settings, exit");
  app.add_flag("--version", show_version, "print the version and exit");
  holdfast::server::ServerOptions server_options;
  unsigned tcp_idle_ms = static_cast<unsigned>(server_options.tcp.idle_timeout.count());
  app.add_option("--tcp-idle-timeout", tcp_idle_ms,
                 "close TCP connections idle this long, in milliseconds (RFC 7766 §6.2.3)")
      ->check(CLI::Range(100u, 600'000u))
      ->capture_default_str();
  app.add_option("--tcp-max-connections", server_options.tcp.max_connections,
                 "TCP connections accepted per listener; more are closed at once")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--tcp-max-connections-per-client", server_options.tcp.max_connections_per_client,
                 "TCP connections accepted per listener from one client address")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  holdfast::config::ParseOptions parse_options;
  app.add_option("--state-dir", parse_options.default_persist_dir,
                 "where the LMDB store lives when the Corefile names no `persist DIR` "
                 "(default /var/lib/holdfast as root, else $XDG_STATE_HOME/holdfast)");
  bool takeover = false;
  app.add_flag("--takeover", takeover,
               "hand-over: share the listening addresses with a running holdfast of the same user "
               "and take its traffic once started (then stop the old one); without it a held "
               "address is an error")
      ->envname("HOLDFAST_TAKEOVER");
  bool test_hooks = false;
  // Tests only (hidden): SIGUSR2 stalls the loop for 3 s, as a wedged daemon would.
  app.add_flag("--test-hooks", test_hooks)->group("");
  app.add_option("--log-format", log_format, "text, or json (one object per line, UTC)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  auto node_cache =
      holdfast::config::split_node_cache_flags(std::vector<std::string>(argv, argv + argc));
  if (!node_cache) {
    std::fprintf(stderr, "%s\n", node_cache.error().message.c_str());
    return kExitConfigError;
  }
  parse_options.default_port = node_cache->flags.dns_port;
  std::vector<std::string> args = normalise_flags(node_cache->rest);
  std::vector<char*> arg_ptrs;
  arg_ptrs.reserve(args.size());
  for (std::string& arg : args) arg_ptrs.push_back(arg.data());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (show_version) {
    std::printf("holdfast %s\n", HOLDFAST_VERSION);
    return 0;
  }

  auto logger = spdlog::stderr_color_mt("holdfast");
  spdlog::set_default_logger(logger);
  if (log_format == "json") {
    holdfast::use_json_log_format();
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  spdlog::set_level(spdlog::level::from_str(log_level));

  // node-cache mode: fill the base Corefile (-basecorefile) and run the result, written to -conf
  // (else -corefile); --check-config checks the filled text without writing it.
  const std::string conf_flag = conf_path;
  std::optional<std::string> node_cache_text;
  if (node_cache->node_cache_mode) {
    auto built = holdfast::config::build_node_cache_corefile(node_cache->flags, conf_path);
    if (!built) {
      std::fprintf(stderr, "%s\n", built.error().message.c_str());
      return kExitConfigError;
    }
    for (const std::string& warning : built->warnings) spdlog::warn("{}", warning);
    conf_path = built->path;
    node_cache_text = built->text;
  }
  auto config =
      node_cache_text
          ? holdfast::config::parse_corefile_text(*node_cache_text, conf_path, parse_options)
      : conf_path.empty() ? holdfast::config::embedded_default(parse_options)
                          : holdfast::config::parse_corefile_file(conf_path, parse_options);
  if (!config) {
    // Locations point into the filled template, which is only written once it parses.
    const std::string filled =
        node_cache_text ? "filled from " + node_cache->flags.base_corefile + ", not written: " : "";
    std::fprintf(stderr, "%s%s\n", filled.c_str(), config.error().message.c_str());
    return kExitConfigError;
  }
  for (const std::string& warning : config->warnings) spdlog::warn("{}", warning);
  // Written only once it parses, so a bad template never replaces a good Corefile.
  if (node_cache_text && !check_config) {
    if (auto written = holdfast::config::write_corefile(conf_path, *node_cache_text); !written) {
      std::fprintf(stderr, "%s\n", written.error().message.c_str());
      return kExitConfigError;
    }
  }
  // CoreDNS's -pidfile and -dns.port alone do not mean node-cache mode, but are listed too.
  const holdfast::config::NodeCacheFlags& nc_flags = node_cache->flags;
  std::vector<std::string> node_cache_lines;
  if (node_cache->node_cache_mode || !nc_flags.pidfile.empty() || nc_flags.dns_port != 53) {
    node_cache_lines = holdfast::config::node_cache_flag_summary(nc_flags);
  }
  if (check_config) {
    std::printf("%s", holdfast::config::summary(*config).c_str());
    if (!node_cache_lines.empty()) std::printf("node-cache flags\n");
    for (const std::string& line : node_cache_lines) std::printf("  %s\n", line.c_str());
    return 0;
  }
  for (const std::string& line : node_cache_lines) spdlog::info("node-cache flag {}", line);

  // node-cache's node setup (interface, guardian, lock); it forks, so it comes before any thread.
  std::unique_ptr<holdfast::node::NodeSetup> node;
  if (node_cache->node_cache_mode) {
    auto prepared = holdfast::node::NodeSetup::prepare(nc_flags, config->persist.dir);
    if (!prepared) {
      spdlog::error("{}", prepared.error().message);
      return kExitStartError;
    }
    node = std::move(*prepared);
  }

  // What the `reload` directive compares the file against: the text that runs now.
  std::string loaded_text;
  if (node_cache_text) {
    loaded_text = *node_cache_text;
  } else if (!conf_path.empty()) {
    std::FILE* file = std::fopen(conf_path.c_str(), "rb");
    if (file != nullptr) {
      char chunk[4096];
      for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, file)) > 0;) {
        loaded_text.append(chunk, n);
      }
      std::fclose(file);
    }
  }

  ares_library_init(ARES_LIB_INIT_ALL);
  uv_loop_t* loop = uv_default_loop();
  holdfast::SystemClock clock;
  server_options.tcp.idle_timeout = std::chrono::milliseconds(tcp_idle_ms);
  server_options.version = HOLDFAST_VERSION;
  server_options.revision = HOLDFAST_REVISION;
  if (takeover) server_options.listen_mode = holdfast::server::ListenMode::kTakeOver;
  auto running = std::make_shared<const holdfast::config::Config>(std::move(*config));
  holdfast::server::Server server(loop, running, clock, server_options);
  spdlog::info("holdfast {} starting with {}", HOLDFAST_VERSION, running->source);
  if (auto ok = server.start(); !ok) {
    spdlog::error("{}", ok.error().message);
    return kExitStartError;
  }
  if (node) node->start(loop);  // the iptables rules only once the listeners are bound
  holdfast::server::ReloadSource reload_source;
  reload_source.conf_path = conf_path;
  reload_source.parse_options = parse_options;
  reload_source.conf_flag = conf_flag;
  if (node_cache->node_cache_mode) reload_source.node_cache = node_cache->flags;
  holdfast::server::Reloader reloader(loop, server, std::move(reload_source),
                                      std::move(loaded_text));
  reloader.start();

  // CoreDNS's -pidfile: written once the listeners are bound, removed at a clean exit.
  if (!nc_flags.pidfile.empty()) {
    if (auto written = holdfast::write_pidfile(nc_flags.pidfile); !written) {
      spdlog::error("{}", written.error().message);
      return kExitStartError;
    }
  }

  // The break-glass admin socket: the Corefile's `admin unix:PATH`, else STATE_DIR/admin.sock
  // with --state-dir, else the default (/run/holdfast/admin.sock as root).
  std::optional<std::string> admin_path;
  for (const auto& block : running->blocks) {
    if (block.admin && !admin_path) admin_path = block.admin;
  }
  const bool admin_explicit = admin_path.has_value();
  if (!admin_path) {
    admin_path = !parse_options.default_persist_dir.empty()
                     ? parse_options.default_persist_dir + "/" +
                           std::string(holdfast::observe::kSocketFileName)
                     : holdfast::observe::default_socket_path(running->persist.dir);
  }
  holdfast::server::AdminCommands admin_commands(loop, server, running->persist.dir);
  std::unique_ptr<holdfast::observe::AdminSocket> admin;
  holdfast::observe::AdminSocketOptions admin_options;
  if (takeover) admin_options.path_mode = holdfast::observe::SocketPathMode::kTakeOver;
  if (auto opened =
          holdfast::observe::AdminSocket::open(loop, *admin_path, admin_commands, admin_options)) {
    admin = std::move(*opened);
    spdlog::info("admin socket {}", *admin_path);
  } else if (admin_explicit) {
    spdlog::error("{}", opened.error().message);
    return kExitStartError;
  } else {
    spdlog::error("admin socket: {}; running without it", opened.error().message);
  }

  // systemd (Type=notify): READY=1 below, once the signal handlers are in place too.
  holdfast::ServiceNotifier notifier(loop);

  // Signals (README "Signals"): SIGTERM/SIGINT stop accepting, drain, close everything, and
  // uv_run then returns; SIGHUP and SIGUSR1 reload; SIGUSR2 and SIGALRM are logged and ignored
  // (with --test-hooks, SIGUSR2 stalls the loop for 3 s, as a wedged daemon would); SIGPIPE is
  // ignored.
  struct Signals {
    std::vector<uv_signal_t*> handles;
    holdfast::ServiceNotifier* notifier = nullptr;
    holdfast::server::Server* server = nullptr;
    holdfast::server::Reloader* reloader = nullptr;
    holdfast::observe::AdminSocket* admin = nullptr;
    holdfast::server::AdminCommands* commands = nullptr;
    bool test_hooks = false;
  } signals;
  signals.server = &server;
  signals.notifier = &notifier;
  signals.reloader = &reloader;
  signals.admin = admin.get();
  signals.commands = &admin_commands;
  signals.test_hooks = test_hooks;
  auto on_signal = [](uv_signal_t* handle, int signum) noexcept {
    auto* s = static_cast<Signals*>(handle->data);
    switch (signum) {
      case SIGHUP:
        // systemctl reload (ExecReload= sends SIGHUP) waits for RELOADING=1 ... READY=1.
        s->notifier->reloading("reloading the configuration");
        s->reloader->reload_now("SIGHUP");
        s->notifier->ready(service_status(*s->server));
        return;
      case SIGUSR1:
        s->reloader->reload_now("SIGUSR1");
        return;
      case SIGUSR2:
        if (s->test_hooks) {
          spdlog::warn("test hook: stalling the loop for 3 s");
          std::this_thread::sleep_for(std::chrono::seconds(3));
          return;
        }
        spdlog::info("received SIGUSR2; ignored");
        return;
      case SIGTERM:
      case SIGINT:
      case SIGQUIT:
        break;
      default:
        spdlog::info("received SIG{}; ignored", sigabbrev_np(signum));
        return;
    }
    spdlog::info("received SIG{}, shutting down", sigabbrev_np(signum));
    s->notifier->stopping("draining in-flight queries");
    s->notifier->close();
    if (s->admin != nullptr) s->admin->close();
    s->commands->close();
    s->reloader->close();
    s->server->shutdown();
    for (uv_signal_t* h : s->handles) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h))) {
        uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
      }
    }
    // libuv restores the default action when it stops watching a signal: ignore them instead,
    // so a SIGHUP during the drain does not kill us. A second SIGTERM/SIGINT still stops at once.
    for (int ignored : kIgnoredUntilHandled) std::signal(ignored, SIG_IGN);
  };
  // SIGQUIT stops as SIGTERM does (drain, flush the store), instead of dumping core.
  std::vector<int> kSignals = {SIGTERM, SIGINT, SIGQUIT};
  kSignals.insert(kSignals.end(), std::begin(kIgnoredUntilHandled), std::end(kIgnoredUntilHandled));
  std::vector<uv_signal_t> signal_handles(kSignals.size());
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    uv_signal_t* handle = &signal_handles[i];
    uv_signal_init(loop, handle);
    handle->data = &signals;
    uv_signal_start(handle, on_signal, kSignals[i]);
    // Only SIGTERM/SIGINT hold the loop open (as before); the rest never keep it running.
    if (kSignals[i] != SIGTERM && kSignals[i] != SIGINT) {
      uv_unref(reinterpret_cast<uv_handle_t*>(handle));
    }
    signals.handles.push_back(handle);
  }
  // Ready: listeners bound, store open, admin socket up, and a SIGTERM from systemd right after
  // READY=1 drains instead of killing. WATCHDOG=1 from the loop when the unit sets WatchdogSec=.
  notifier.ready(service_status(server));
  if (const std::uint64_t usec = notifier.start_watchdog(); usec > 0) {
    spdlog::info("systemd watchdog: keep-alive every {} ms", usec / 1000);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  for (uv_signal_t* h : signals.handles) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(h))) {
      uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    }
  }
  reloader.close();
  notifier.close();
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  ares_library_cleanup();
  if (node) node->finish();
  if (!nc_flags.pidfile.empty()) holdfast::remove_pidfile(nc_flags.pidfile);
  spdlog::info("stopped");
  return 0;
}

}  // namespace

// Start-up code throws (CLI11, allocation, the standard library): what escapes run() ends the
// process with one line on stderr and kExitStartError, not with std::terminate().
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "holdfast: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "holdfast: unknown exception\n");
  }
  return kExitStartError;
}
