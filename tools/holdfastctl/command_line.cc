// CLI11 definitions of holdfastctl's commands and the request each one sends.
#include "holdfastctl/command_line.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "holdfastctl/admin_client.h"
#include "observe/admin_protocol.h"

namespace holdfast::ctl {

const char* const kExitCodesHelp =
    "Exit codes: 0 ok; 1 the daemon answered an error; 2 usage error; 3 holdfast is not running\n"
    "(no socket, or nothing listening); 4 permission denied (only root and the user holdfast\n"
    "runs as may use the socket); 5 timeout or broken reply.";

namespace {

using nlohmann::json;
namespace cmd = observe::cmd;

// The daemon's default state directory (the same rule as config::default_persist_dir()).
std::string default_state_dir() {
  if (geteuid() == 0) return "/var/lib/holdfast";
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state == '/') {
    return std::string(state) + "/holdfast";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/state/holdfast";
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// Everything the subcommands write into, and the subcommands themselves.
struct Arguments {
  std::string socket, state_dir, name, type = "A", zone, mode, address, file;
  bool json_output = false, stale = false, all = false;
  double timeout_seconds = 5;
  CLI::App *stats, *lookup, *dump, *flush, *pin, *unpin, *stale_mode, *upstream, *up_list, *up_down,
      *up_up, *snapshot, *snap_export, *snap_import;
  CLI::Option *flush_name, *flush_zone, *flush_all, *dump_zone, *mode_opt;
};

void define(CLI::App& app, Arguments& a) {
  app.add_option("--socket", a.socket, "the admin socket (default: see below)");
  app.add_option("--state-dir", a.state_dir,
                 "the daemon's --state-dir: its socket is STATE_DIR/admin.sock");
  app.add_flag("--json", a.json_output, "print the result object as JSON");
  app.add_option("--timeout", a.timeout_seconds, "seconds to wait for the answer")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();

  a.stats = app.add_subcommand("stats", "rates, ratios, circuits, queues, upstreams, the store");
  a.lookup = app.add_subcommand("lookup", "what the caches hold for one name and type");
  a.lookup->add_option("NAME", a.name, "the name")->required();
  a.lookup->add_option("TYPE", a.type, "the record type")->capture_default_str();
  a.dump = app.add_subcommand("dump", "list cache entries");
  a.dump->add_flag("--stale", a.stale, "only stale entries");
  a.dump_zone = a.dump->add_option("--zone", a.zone, "only names in this zone");
  a.flush = app.add_subcommand("flush", "remove entries: one name, a zone, or all");
  a.flush_name = a.flush->add_option("NAME", a.name, "every type of this name");
  a.flush_zone = a.flush->add_option("--zone", a.zone, "the zone and everything below it");
  a.flush_all = a.flush->add_flag("--all", a.all, "everything");
  a.flush_name->excludes(a.flush_zone)->excludes(a.flush_all);
  a.flush_zone->excludes(a.flush_all);
  a.pin = app.add_subcommand("pin", "keep an entry through eviction");
  a.unpin = app.add_subcommand("unpin", "let an entry go again");
  for (CLI::App* sub : {a.pin, a.unpin}) {
    sub->add_option("NAME", a.name, "the name")->required();
    sub->add_option("TYPE", a.type, "the record type")->required();
  }
  a.stale_mode = app.add_subcommand("stale-mode", "show or set serving stale: auto, force, off");
  a.mode_opt = a.stale_mode->add_option("MODE", a.mode, "auto, force or off (none: show)")
                   ->check(CLI::IsMember({"auto", "force", "off"}));
  a.upstream = app.add_subcommand("upstream", "list upstreams, force one down or back up");
  a.upstream->require_subcommand(1);
  a.up_list = a.upstream->add_subcommand("list", "every upstream of every block");
  a.up_down = a.upstream->add_subcommand("down", "treat ADDR as down until 'up'");
  a.up_down->add_option("ADDR", a.address, "the upstream, as listed")->required();
  a.up_up = a.upstream->add_subcommand("up", "end a forced down");
  a.up_up->add_option("ADDR", a.address, "the upstream, as listed")->required();
  a.snapshot = app.add_subcommand("snapshot", "write the cache to a file, or load one");
  a.snapshot->require_subcommand(1);
  a.snap_export = a.snapshot->add_subcommand("export", "write every entry to FILE");
  a.snap_export->add_option("FILE", a.file, "written by the daemon")->required();
  a.snap_import = a.snapshot->add_subcommand("import", "load FILE; fresher entries win");
  a.snap_import->add_option("FILE", a.file, "read by the daemon")->required();
}

// {"cmd": command} plus `args`.
json with(std::string_view command, const json& args = json::object()) {
  json request = observe::make_request(command);
  request.update(args);
  return request;
}

json request_for(const Arguments& a) {
  if (a.stats->parsed()) return with(cmd::kStats);
  if (a.lookup->parsed()) return with(cmd::kLookup, {{"name", a.name}, {"type", upper(a.type)}});
  if (a.dump->parsed()) {
    json request = with(cmd::kDump);
    request["stale"] = a.stale;
    if (*a.dump_zone) request["zone"] = a.zone;
    return request;
  }
  if (a.flush->parsed()) {
    json request = with(cmd::kFlush);
    if (*a.flush_name) request["name"] = a.name;
    if (*a.flush_zone) request["zone"] = a.zone;
    if (a.all) request["all"] = true;
    return request;
  }
  for (auto [sub, command] : {std::pair{a.pin, cmd::kPin}, std::pair{a.unpin, cmd::kUnpin}}) {
    if (sub->parsed()) return with(command, {{"name", a.name}, {"type", upper(a.type)}});
  }
  if (a.stale_mode->parsed()) {
    json request = with(cmd::kStaleMode);
    if (*a.mode_opt) request["mode"] = a.mode;
    return request;
  }
  if (a.upstream->parsed()) {
    json request = with(cmd::kUpstream);
    request["action"] = a.up_list->parsed() ? "list" : a.up_down->parsed() ? "down" : "up";
    if (!a.up_list->parsed()) request["address"] = a.address;
    return request;
  }
  // The daemon resolves paths against its own working directory: send an absolute one.
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(a.file, error);
  const std::string file = error ? a.file : absolute.lexically_normal().string();
  return with(a.snap_export->parsed() ? cmd::kSnapshotExport : cmd::kSnapshotImport,
              {{"file", file}});
}

}  // namespace

std::variant<Invocation, int> parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"holdfastctl: talk to a running holdfast over its admin socket"};
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);
  app.footer(std::string("Socket: --socket, else STATE_DIR/admin.sock with --state-dir (as the\n"
                         "daemon does), else /run/holdfast/admin.sock as root, else\n"
                         "$XDG_RUNTIME_DIR/holdfast/admin.sock, else the default state dir's.\n") +
             kExitCodesHelp);
  Arguments a;
  define(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }
  if (a.flush->parsed() && !*a.flush_name && !*a.flush_zone && !a.all) {
    std::fprintf(stderr, "holdfastctl flush: give a NAME, --zone ZONE or --all\n");
    return static_cast<int>(ExitCode::kUsage);
  }
  Invocation invocation;
  invocation.socket_given = !a.socket.empty();
  invocation.socket_path = invocation.socket_given ? a.socket
                           : !a.state_dir.empty()
                               ? a.state_dir + "/" + std::string(observe::kSocketFileName)
                               : observe::default_socket_path(default_state_dir());
  invocation.json_output = a.json_output;
  invocation.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_seconds * 1000));
  invocation.request = request_for(a);
  return invocation;
}

}  // namespace holdfast::ctl
