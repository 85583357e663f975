// Whether a forwarder group's upstream is degraded: it answers SERVFAIL to many distinct
// questions in a row (its own backend is down — the December 2024 shape), as opposed to one
// broken name or one client repeating a question.
#pragma once

#include <array>
#include <cstdint>

namespace holdfast::upstream {

// Loop-bound. Questions are identified by a hash; a SERVFAIL for a question among the last
// kRemembered counts once, so one client cannot make the upstream look degraded by repetition.
class ServfailStreak {
 public:
  static constexpr int kDegradedAfter = 8;  // distinct questions answered SERVFAIL in a row
  static constexpr std::size_t kRemembered = 8;

  // Returns true when this answer makes the group degraded (the transition).
  bool on_servfail(std::uint64_t question_hash) noexcept;
  // A NOERROR or NXDOMAIN answer: the upstream resolves again. Returns true when this ends a
  // degraded period (the transition).
  bool on_data() noexcept;

  bool degraded() const noexcept { return streak_ >= kDegradedAfter; }
  int streak() const noexcept { return streak_; }

 private:
  int streak_ = 0;
  std::array<std::uint64_t, kRemembered> recent_{};
  std::size_t next_ = 0;
  std::size_t remembered_ = 0;
};

}  // namespace holdfast::upstream
