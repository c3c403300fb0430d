// The request budget of one API key, shared by everything that calls the API: sliding
// per-minute / per-hour / per-day windows, an even pace (no bursts), and pauses ordered by the
// API itself (RATE_LIMIT_EXCEEDED, X-RateLimit-Remaining: 0). Thread safe.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>

#include "config.h"

namespace esim {

class RateBudget {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  explicit RateBudget(RateLimitConfig limits);

  void SetLimits(RateLimitConfig limits);

  // The earliest time at or after `now` when a request may be sent.
  TimePoint NextAllowed(TimePoint now) const;

  // Takes one request from the budget if one may be sent at `now`; otherwise returns false
  // and leaves the budget unchanged.
  bool TryAcquire(TimePoint now);

  // The API said the key's window is spent: send nothing before `until`. Pauses beyond a day
  // are clamped (a hostile or broken header must not stop the exporter for good).
  // Returns true when this is a pause to report: none held at `now`, or it moves the end of the
  // one in force by more than kPauseSlack (answers repeating the same pause return false).
  bool PauseUntil(TimePoint now, TimePoint until);

  // A RATE_LIMIT_EXCEEDED without any hint of when to retry: exponential backoff from 30 s,
  // doubling up to 15 min; `ResetBackoff` after the next answer that was not refused.
  // Returns true when this started a pause (refusals arriving together are one pause).
  bool PauseWithBackoff(TimePoint now);

  // Answers of one pause give its end with some jitter (clocks, rounding, transit time).
  static constexpr std::chrono::seconds kPauseSlack{30};
  // The longest pause the API can impose.
  static constexpr std::chrono::hours kMaxPause{24};
  void ResetBackoff();

  std::optional<TimePoint> paused_until(TimePoint now) const;

  // Requests sent in the sliding minute, hour and day ending at `now`, and the limits in force
  // (for the landing page's "budget left").
  struct Usage {
    int minute = 0, hour = 0, day = 0;
    RateLimitConfig limits;
  };
  Usage UsageAt(TimePoint now) const;

  // The smallest spacing between two requests: one minute over the per-minute limit.
  Clock::duration MinimumSpacing() const;

 private:
  TimePoint NextAllowedLocked(TimePoint now) const;

  mutable std::mutex mutex_;
  RateLimitConfig limits_;      // guarded by mutex_
  std::deque<TimePoint> sent_;  // send times within the last day, oldest first
  TimePoint paused_until_{};    // guarded by mutex_
  Clock::duration backoff_{};   // guarded by mutex_
};

}  // namespace esim
