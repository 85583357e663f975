// SERVFAIL answers to distinct questions in a row.
#include "upstream/servfail_streak.h"

#include <algorithm>
#include <span>

namespace holdfast::upstream {

bool ServfailStreak::on_servfail(std::uint64_t question_hash) noexcept {
  const std::span<const std::uint64_t> seen = std::span(recent_).first(remembered_);
  if (std::ranges::find(seen, question_hash) != seen.end()) return false;
  recent_[next_] = question_hash;
  next_ = (next_ + 1) % kRemembered;
  remembered_ = std::min(remembered_ + 1, kRemembered);
  ++streak_;
  return streak_ == kDegradedAfter;
}

bool ServfailStreak::on_data() noexcept {
  const bool was_degraded = degraded();
  streak_ = 0;
  remembered_ = 0;
  next_ = 0;
  return was_degraded;
}

}  // namespace holdfast::upstream
