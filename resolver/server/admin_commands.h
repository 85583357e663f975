// What the break-glass admin socket can ask of a running server: stats, what the cache holds,
// flushing, pins, the stale mode, upstreams by hand, and store snapshots (observe/README.md has
// the protocol). Loop-bound: AdminSocket calls handle() on the server's loop.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "observe/admin_protocol.h"
#include "server/server.h"

namespace holdfast::server {

class AdminCommands final : public observe::AdminHandler {
 public:
  // Loads the pins and the stale mode the operator left in `state_dir` (they survive restarts)
  // and applies them. `server` must be started and outlive this object.
  AdminCommands(uv_loop_t* loop, Server& server, std::string state_dir);
  ~AdminCommands() override;
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

  nlohmann::json handle(const nlohmann::json& request) noexcept override;
  // Stops the q/s sampler (shutdown).
  void close() noexcept;

 private:
  struct Pin {
    std::string name;  // presentation form, lower-case, ending in '.'
    std::uint16_t type = 0;
  };
  nlohmann::json stats();
  nlohmann::json lookup(const nlohmann::json& request);
  nlohmann::json dump(const nlohmann::json& request);
  nlohmann::json flush(const nlohmann::json& request);
  nlohmann::json pin(const nlohmann::json& request, bool pinned);
  nlohmann::json stale_mode(const nlohmann::json& request);
  nlohmann::json upstream(const nlohmann::json& request);
  nlohmann::json snapshot(const nlohmann::json& request, bool import);
  void apply_pin(const Pin& pin, bool pinned);
  void save_pins() const;
  void save_stale_mode() const;
  void sample() noexcept;

  uv_loop_t* loop_;
  Server& server_;
  std::string state_dir_;
  std::vector<Pin> pins_;
  std::int64_t started_ms_ = 0;
  uv_timer_t sampler_{};
  std::array<std::uint64_t, 11> totals_{};  // queries answered, one per second, newest last
  std::size_t samples_ = 0;
};

}  // namespace holdfast::server
