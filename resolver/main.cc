// holdfast: flags → config → server → uv_run(). Nothing else lives here.
#include <ares.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/json_log.h"
#include "config/config.h"
#include "observe/admin_protocol.h"
#include "observe/admin_socket.h"
#include "server/admin_commands.h"
#include "server/server.h"

namespace {

constexpr int kExitConfigError = 2;
constexpr int kExitStartError = 1;

// node-cache and CoreDNS take Go-style flags (-conf FILE). CLI11 wants long options with two
// dashes, so single-dash spellings of our long options are rewritten first.
std::vector<std::string> normalise_flags(int argc, char** argv) {
  static const char* const kLong[] = {
      "conf",      "check-config", "version",          "help",
      "log-level", "log-format",   "tcp-idle-timeout", "tcp-max-connections",
      "state-dir"};
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    for (const char* name : kLong) {
      const std::string single = std::string("-") + name;
      if (arg == single || arg.rfind(single + "=", 0) == 0) arg = "-" + arg;
    }
    args.push_back(arg);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
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
  holdfast::config::ParseOptions parse_options;
  app.add_option("--state-dir", parse_options.default_persist_dir,
                 "where the LMDB store lives when the Corefile names no `persist DIR` "
                 "(default /var/lib/holdfast as root, else $XDG_STATE_HOME/holdfast)");
  bool test_hooks = false;
  // Tests only (hidden): SIGUSR2 stalls the loop for 3 s, as a wedged daemon would.
  app.add_flag("--test-hooks", test_hooks)->group("");
  app.add_option("--log-format", log_format, "text, or json (one object per line, UTC)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  std::vector<std::string> args = normalise_flags(argc, argv);
  std::vector<char*> arg_ptrs;
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

  auto config = conf_path.empty() ? holdfast::config::embedded_default(parse_options)
                                  : holdfast::config::parse_corefile_file(conf_path, parse_options);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return kExitConfigError;
  }
  for (const std::string& warning : config->warnings) spdlog::warn("{}", warning);
  if (check_config) {
    std::printf("%s", holdfast::config::summary(*config).c_str());
    return 0;
  }

  ares_library_init(ARES_LIB_INIT_ALL);
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t* loop = uv_default_loop();
  holdfast::SystemClock clock;
  server_options.tcp.idle_timeout = std::chrono::milliseconds(tcp_idle_ms);
  server_options.version = HOLDFAST_VERSION;
  server_options.revision = HOLDFAST_REVISION;
  holdfast::server::Server server(loop, *config, clock, server_options);
  spdlog::info("holdfast {} starting with {}", HOLDFAST_VERSION, config->source);
  if (auto ok = server.start(); !ok) {
    spdlog::error("{}", ok.error().message);
    return kExitStartError;
  }

  // The break-glass admin socket: the Corefile's `admin unix:PATH`, else STATE_DIR/admin.sock
  // with --state-dir, else the default (/run/holdfast/admin.sock as root).
  std::optional<std::string> admin_path;
  for (const auto& block : config->blocks) {
    if (block.admin && !admin_path) admin_path = block.admin;
  }
  const bool admin_explicit = admin_path.has_value();
  if (!admin_path) {
    admin_path = !parse_options.default_persist_dir.empty()
                     ? parse_options.default_persist_dir + "/" +
                           std::string(holdfast::observe::kSocketFileName)
                     : holdfast::observe::default_socket_path(config->persist.dir);
  }
  holdfast::server::AdminCommands admin_commands(loop, server, config->persist.dir);
  std::unique_ptr<holdfast::observe::AdminSocket> admin;
  if (auto opened = holdfast::observe::AdminSocket::open(loop, *admin_path, admin_commands)) {
    admin = std::move(*opened);
    spdlog::info("admin socket {}", *admin_path);
  } else if (admin_explicit) {
    spdlog::error("{}", opened.error().message);
    return kExitStartError;
  } else {
    spdlog::error("admin socket: {}; running without it", opened.error().message);
  }

  // SIGTERM/SIGINT: stop accepting, drain, close everything; uv_run then returns.
  struct Signals {
    uv_signal_t term{};
    uv_signal_t interrupt{};
    holdfast::server::Server* server = nullptr;
    holdfast::observe::AdminSocket* admin = nullptr;
    holdfast::server::AdminCommands* commands = nullptr;
  } signals;
  signals.server = &server;
  signals.admin = admin.get();
  signals.commands = &admin_commands;
  auto on_signal = [](uv_signal_t* handle, int signum) noexcept {
    auto* s = static_cast<Signals*>(handle->data);
    spdlog::info("received {}, shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (s->admin != nullptr) s->admin->close();
    s->commands->close();
    s->server->shutdown();
    uv_close(reinterpret_cast<uv_handle_t*>(&s->term), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->interrupt), nullptr);
  };
  for (auto [handle, signum] :
       {std::pair{&signals.term, SIGTERM}, std::pair{&signals.interrupt, SIGINT}}) {
    uv_signal_init(loop, handle);
    handle->data = &signals;
    uv_signal_start(handle, on_signal, signum);
  }
  uv_signal_t stall{};
  if (test_hooks) {
    uv_signal_init(loop, &stall);
    uv_signal_start(
        &stall,
        [](uv_signal_t*, int) noexcept {
          spdlog::warn("test hook: stalling the loop for 3 s");
          std::this_thread::sleep_for(std::chrono::seconds(3));
        },
        SIGUSR2);
    uv_unref(reinterpret_cast<uv_handle_t*>(&stall));
  }
  uv_run(loop, UV_RUN_DEFAULT);
  if (test_hooks) {
    uv_close(reinterpret_cast<uv_handle_t*>(&stall), nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(loop);
  ares_library_cleanup();
  spdlog::info("stopped");
  return 0;
}
