#include "rate_budget.h"

#include <algorithm>

namespace esim {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// The time when a window of `length` holding `limit` sends admits one more: when the send
// `limit` places from the newest leaves the window.
RateBudget::TimePoint WindowFree(const std::deque<RateBudget::TimePoint>& sent, int limit,
                                 RateBudget::Clock::duration length, RateBudget::TimePoint now) {
  if (limit <= 0 || sent.size() < static_cast<size_t>(limit)) return now;
  const auto oldest_counted = sent[sent.size() - static_cast<size_t>(limit)];
  return std::max(now, oldest_counted + length);
}

}  // namespace

RateBudget::RateBudget(RateLimitConfig limits) : limits_(limits) {}

void RateBudget::SetLimits(RateLimitConfig limits) {
  std::lock_guard<std::mutex> lock(mutex_);
  limits_ = limits;
}

RateBudget::Clock::duration RateBudget::MinimumSpacing() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::chrono::duration_cast<Clock::duration>(minutes(1)) / std::max(limits_.per_minute, 1);
}

RateBudget::TimePoint RateBudget::NextAllowedLocked(TimePoint now) const {
  TimePoint next = std::max(now, paused_until_);
  if (!sent_.empty()) {
    const auto spacing =
        std::chrono::duration_cast<Clock::duration>(minutes(1)) / std::max(limits_.per_minute, 1);
    next = std::max(next, sent_.back() + spacing);
  }
  next = std::max(next, WindowFree(sent_, limits_.per_minute, minutes(1), now));
  next = std::max(next, WindowFree(sent_, limits_.per_hour, hours(1), now));
  next = std::max(next, WindowFree(sent_, limits_.per_day, hours(24), now));
  return next;
}

RateBudget::TimePoint RateBudget::NextAllowed(TimePoint now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return NextAllowedLocked(now);
}

bool RateBudget::TryAcquire(TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (NextAllowedLocked(now) > now) return false;
  sent_.push_back(now);
  // Only the last day matters, and never more entries than the largest window counts.
  const size_t keep =
      static_cast<size_t>(std::max({limits_.per_minute, limits_.per_hour, limits_.per_day, 1}));
  while (!sent_.empty() && (sent_.front() + hours(24) <= now || sent_.size() > keep)) {
    sent_.pop_front();
  }
  return true;
}

bool RateBudget::PauseUntil(TimePoint now, TimePoint until) {
  std::lock_guard<std::mutex> lock(mutex_);
  const TimePoint previous = paused_until_;
  paused_until_ = std::max(previous, std::min(until, now + kMaxPause));
  if (previous <= now) return paused_until_ > now;
  return paused_until_ > previous + kPauseSlack;
}

bool RateBudget::PauseWithBackoff(TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Several requests in flight refused together are one event: double once.
  if (paused_until_ > now) return false;
  backoff_ = backoff_ == Clock::duration{}
                 ? std::chrono::duration_cast<Clock::duration>(seconds(30))
                 : std::min<Clock::duration>(backoff_ * 2, minutes(15));
  paused_until_ = std::max(paused_until_, now + backoff_);
  return true;
}

void RateBudget::ResetBackoff() {
  std::lock_guard<std::mutex> lock(mutex_);
  backoff_ = {};
}

std::optional<RateBudget::TimePoint> RateBudget::paused_until(TimePoint now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (paused_until_ > now) return paused_until_;
  return std::nullopt;
}

RateBudget::Usage RateBudget::UsageAt(TimePoint now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Usage usage;
  usage.limits = limits_;
  for (const TimePoint sent : sent_) {
    if (sent + hours(24) > now) ++usage.day;
    if (sent + hours(1) > now) ++usage.hour;
    if (sent + minutes(1) > now) ++usage.minute;
  }
  return usage;
}

}  // namespace esim
