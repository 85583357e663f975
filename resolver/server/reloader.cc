// Reload triggers: signals, the `reload` directive's hash check, node-cache's template sync.
#include "server/reloader.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include "base/uv_util.h"
#include "config/text_file.h"

namespace holdfast::server {
namespace {

constexpr std::uint64_t kFilesCheckMs = 1000;  // a changed resolv.conf is followed within ~1 s

std::uint64_t content_hash(const std::string& text) {
  return std::hash<std::string>{}(text);
}

}  // namespace

Reloader::Reloader(uv_loop_t* loop, Server& server, ReloadSource source, std::string loaded_text)
    : loop_(loop),
      server_(server),
      source_(std::move(source)),
      loaded_hash_(content_hash(loaded_text)) {
  if (source_.node_cache) filled_text_ = std::move(loaded_text);
  uv_timer_init(loop_, &watch_timer_);
  watch_timer_.data = this;
  uv_timer_init(loop_, &sync_timer_);
  sync_timer_.data = this;
  // Neither keeps the loop alive: the listeners do.
  uv_unref(reinterpret_cast<uv_handle_t*>(&watch_timer_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&sync_timer_));
  uv_timer_init(loop_, &files_timer_);
  files_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&files_timer_));
}

Reloader::~Reloader() = default;

void Reloader::start() {
  arm_watch();
  for (const std::string& path : server_.config().files_read) {
    auto text = config::read_text_file(path);
    file_hashes_[path] = text ? content_hash(*text) : 0;
  }
  uv_timer_start(
      &files_timer_, [](uv_timer_t* t) noexcept { static_cast<Reloader*>(t->data)->on_files(); },
      kFilesCheckMs, kFilesCheckMs);
  if (source_.node_cache) {
    const auto period = static_cast<std::uint64_t>(source_.sync_period.count());
    uv_timer_start(
        &sync_timer_, [](uv_timer_t* t) noexcept { static_cast<Reloader*>(t->data)->on_sync(); },
        period, period);
  }
}

void Reloader::close() noexcept {
  close_member(reinterpret_cast<uv_handle_t*>(&files_timer_));
  close_member(reinterpret_cast<uv_handle_t*>(&watch_timer_));
  close_member(reinterpret_cast<uv_handle_t*>(&sync_timer_));
}

void Reloader::arm_watch() noexcept {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&watch_timer_))) return;
  const std::optional<config::ReloadConfig> wanted = reload_settings(server_.config());
  if (source_.conf_path.empty() || !wanted) {
    if (watching_) spdlog::info("reload: the configuration has no `reload` any more");
    watching_.reset();
    uv_timer_stop(&watch_timer_);
    return;
  }
  if (!watching_ || watching_->interval != wanted->interval ||
      watching_->jitter != wanted->jitter) {
    spdlog::info("reload: checking {} every {} ms ± {} ms", source_.conf_path,
                 wanted->interval.count(), wanted->jitter.count());
  }
  watching_ = wanted;
  uv_timer_start(
      &watch_timer_, [](uv_timer_t* t) noexcept { static_cast<Reloader*>(t->data)->on_watch(); },
      static_cast<std::uint64_t>(next_check_delay(*watching_, rng_).count()), 0);
}

void Reloader::on_watch() noexcept {
  try {
    Result<std::string> text = config::read_text_file(source_.conf_path);
    if (!text) {
      spdlog::warn("reload: {}; the running configuration stays", text.error().message);
    } else if (content_hash(*text) != loaded_hash_) {
      apply(*text, "the `reload` directive: the file changed");
    }
  } catch (const std::exception& e) {
    spdlog::error("reload: {}", e.what());
  }
  arm_watch();
}

void Reloader::on_files() noexcept {
  try {
    std::string changed;
    std::map<std::string, std::uint64_t> now;
    for (const std::string& path : server_.config().files_read) {
      auto text = config::read_text_file(path);
      const std::uint64_t hash = text ? content_hash(*text) : 0;
      now[path] = hash;
      auto seen = file_hashes_.find(path);
      if (seen != file_hashes_.end() && seen->second != hash && changed.empty()) changed = path;
    }
    // The files as they are now are the baseline, whatever the reload's outcome: a refused change
    // is not retried every second, only when a file changes again. Files a new configuration
    // reads get their baseline at the next check.
    file_hashes_ = std::move(now);
    if (changed.empty()) return;
    const std::string why = "forward: " + changed + " changed";
    reload_config(why.c_str());
  } catch (const std::exception& e) {
    spdlog::error("reload: {}", e.what());
  }
}

bool Reloader::reload_config(const char* why) noexcept {
  try {
    if (!source_.conf_path.empty()) {
      Result<std::string> text = config::read_text_file(source_.conf_path);
      if (!text) {
        spdlog::error("{}: reload failed: {}; the running configuration stays", why,
                      text.error().message);
        return false;
      }
      return apply(*text, why);
    }
    spdlog::info("{}: reloading the embedded default configuration", why);
    auto parsed = config::embedded_default(source_.parse_options);
    if (!parsed) {
      spdlog::error("reload: {}; the running configuration stays", parsed.error().message);
      return false;
    }
    if (auto plan = server_.reload(std::make_shared<const config::Config>(std::move(*parsed)));
        !plan) {
      spdlog::error("{}; the running configuration stays", plan.error().message);
      return false;
    }
    ++reloads_;
    return true;
  } catch (const std::exception& e) {
    spdlog::error("{}: reload failed: {}", why, e.what());
    return false;
  }
}

void Reloader::reload_now(const char* why) noexcept {
  if (source_.conf_path.empty()) {
    spdlog::info("{}: running the embedded default configuration, nothing to re-read", why);
    return;
  }
  try {
    Result<std::string> text = config::read_text_file(source_.conf_path);
    if (!text) {
      spdlog::error("{}: reload failed: {}; the running configuration stays", why,
                    text.error().message);
      return;
    }
    apply(*text, why);
  } catch (const std::exception& e) {
    spdlog::error("{}: reload failed: {}", why, e.what());
  }
  arm_watch();
}

bool Reloader::apply(const std::string& text, const char* why) noexcept {
  try {
    loaded_hash_ = content_hash(text);  // a refused file is not retried until it changes
    spdlog::info("{}: reloading {}", why, source_.conf_path);
    auto parsed = config::parse_corefile_text(text, source_.conf_path, source_.parse_options);
    if (!parsed) {
      spdlog::error("reload: {}; the running configuration stays", parsed.error().message);
      return false;
    }
    for (const std::string& warning : parsed->warnings) spdlog::warn("{}", warning);
    auto config = std::make_shared<const config::Config>(std::move(*parsed));
    if (auto plan = server_.reload(std::move(config)); !plan) {
      spdlog::error("{}; the running configuration stays", plan.error().message);
      return false;
    }
    ++reloads_;
    return true;
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; the running configuration stays", e.what());
    return false;
  }
}

void Reloader::on_sync() noexcept {
  try {
    auto built = config::build_node_cache_corefile(*source_.node_cache, source_.conf_flag);
    if (!built) {
      // As node-cache: log, keep the Corefile that runs, try again next period.
      spdlog::error("node-cache sync: {}", built.error().message);
      return;
    }
    if (built->warnings != sync_warnings_) {
      for (const std::string& warning : built->warnings) spdlog::warn("{}", warning);
      sync_warnings_ = built->warnings;
    }
    if (!built->text || *built->text == filled_text_) return;
    filled_text_ = *built->text;
    // Written only once it parses, as at start: a bad template never replaces a good Corefile.
    auto parsed = config::parse_corefile_text(*built->text, built->path, source_.parse_options);
    if (!parsed) {
      spdlog::error("node-cache sync: filled from {}, not written: {}",
                    source_.node_cache->base_corefile, parsed.error().message);
      return;
    }
    if (auto written = config::write_corefile(built->path, *built->text); !written) {
      spdlog::error("node-cache sync: {}", written.error().message);
      return;
    }
    spdlog::info("node-cache sync: {} changed; wrote {}", source_.node_cache->base_corefile,
                 built->path);
    if (source_.node_cache->reload_with_signal) {
      // node-cache's -reloadwithsignal: the reload goes through SIGUSR1 to ourselves, as
      // node-cache signals its in-process CoreDNS, instead of through the `reload` directive.
      spdlog::info("node-cache sync: sending SIGUSR1 to pid {}", ::getpid());
      uv_kill(::getpid(), SIGUSR1);
      return;
    }
    apply(*built->text, "node-cache sync");
    arm_watch();
  } catch (const std::exception& e) {
    spdlog::error("node-cache sync: {}", e.what());
  }
}

}  // namespace holdfast::server
