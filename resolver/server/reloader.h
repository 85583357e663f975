// What makes the server reload: a signal (SIGHUP, SIGUSR1), the Corefile's `reload` directive
// (the file's content hash checked every INTERVAL ± JITTER), and in node-cache mode the template
// sync (the -basecorefile and the kube-dns ConfigMap folder re-read every 10 s, as node-cache
// does). Loop-bound: every call on the server's loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/node_cache.h"
#include "server/server.h"

namespace holdfast::server {

struct ReloadSource {
  std::string conf_path;  // the Corefile that runs; empty = the embedded default
  config::ParseOptions parse_options;
  // node-cache mode: the template is filled again every `sync_period` and, when the result
  // changed, written to conf_path and reloaded.
  std::optional<config::NodeCacheFlags> node_cache;
  std::string conf_flag;  // -conf as given (node-cache: where the filled Corefile goes)
  std::chrono::milliseconds sync_period{10'000};  // node-cache's DefaultConfigSyncPeriod
};

class Reloader {
 public:
  // `loaded_text` is the Corefile text the server started with (its hash is the baseline of the
  // `reload` directive; node-cache mode: the filled template). `server` must outlive this.
  Reloader(uv_loop_t* loop, Server& server, ReloadSource source, std::string loaded_text);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Arms the `reload` directive's timer (when the config has one) and the node-cache sync.
  void start();
  // A signal: re-reads the Corefile and reloads, whether or not it changed. `why` names the
  // trigger in the log ("SIGHUP").
  void reload_now(const char* why) noexcept;
  // Stops the timers (shutdown). The object must outlive the loop run that follows.
  void close() noexcept;

  std::uint64_t reloads() const noexcept { return reloads_; }

 private:
  // Parses `text` and hands it to the server; logs the error and keeps the running config when
  // it does not parse or cannot run.
  bool apply(const std::string& text, const char* why) noexcept;
  void arm_watch() noexcept;
  void on_watch() noexcept;
  void on_sync() noexcept;
  // Every second: the resolv.conf files `forward` read; a change reloads the configuration so
  // the forwarders follow (the cache and the sockets stay).
  void on_files() noexcept;
  bool reload_config(const char* why) noexcept;  // the Corefile, or the embedded default

  uv_loop_t* loop_;
  Server& server_;
  ReloadSource source_;
  std::uint64_t loaded_hash_;               // of the text last tried (loaded, or refused)
  std::string filled_text_;                 // node-cache: the template as last filled
  std::vector<std::string> sync_warnings_;  // logged once, not every 10 s
  std::mt19937_64 rng_{std::random_device{}()};
  std::optional<config::ReloadConfig> watching_;
  uv_timer_t watch_timer_{};
  uv_timer_t sync_timer_{};
  uv_timer_t files_timer_{};
  std::map<std::string, std::uint64_t> file_hashes_;  // of the files_read last seen
  std::uint64_t reloads_ = 0;
};

}  // namespace holdfast::server
