// The drill's side channel to the fault proxy, on its own thread: plays the schedule through
// the control API (PUT /rules at each offset) and reads GET /stats at every whole second, so
// that the upstream rate can be charted beside the client's view.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control_client.h"
#include "schedule.h"

namespace holdfast::dnsfault {

struct SwitchRecord {
  std::uint64_t planned_ms = 0;
  std::uint64_t actual_ms = 0;
  std::string label;
  std::string error;  // empty when the proxy took the rules
};

struct StatsSample {
  std::uint64_t received = 0;   // queries_received
  std::uint64_t forwarded = 0;  // forwarded_upstream
};

class DrillControl {
 public:
  // `schedule` may be null (measure only); when set it must outlive this object.
  DrillControl(ControlClient client, const Schedule* schedule, std::uint64_t duration_ms);
  DrillControl(const DrillControl&) = delete;
  DrillControl& operator=(const DrillControl&) = delete;
  ~DrillControl();

  // Starts the thread; `t0_ns` is uv_hrtime() at time 0 of the run.
  void start(std::uint64_t t0_ns);
  // Stops and joins; then, if a schedule was played, puts the proxy back to pass-through.
  void stop();

  // After stop(). samples()[k] is the proxy's counters at second k (nullopt when unread).
  const std::vector<SwitchRecord>& switches() const noexcept { return switches_; }
  const std::vector<std::optional<StatsSample>>& samples() const noexcept { return samples_; }

 private:
  void run() noexcept;

  ControlClient client_;
  const Schedule* schedule_;
  std::uint64_t duration_ms_;
  std::uint64_t t0_ns_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<SwitchRecord> switches_;
  std::vector<std::optional<StatsSample>> samples_;
};

}  // namespace holdfast::dnsfault
