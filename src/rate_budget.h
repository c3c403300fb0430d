// The request budget of one API key, shared by everything that calls the API: sliding
// per-minute / per-hour / per-day windows, an even pace (no bursts), and pauses ordered by the
// API itself (RATE_LIMIT_EXCEEDED, X-RateLimit-Remaining: 0). Thread safe.
//
// With a durable ledger attached (--storage.path), requests are reserved a block at a time and
// the ledger (sends so far plus the reservation, and any pause) is written before the first
// request of the block is sent. After a crash, a reservation that the ledger does not show as
// sent counts as sent at the restart: a loop of restarts can never send more than the limits.
// A clean stop releases the unused reservation, so an ordinary restart costs nothing.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

  // What the durable ledger holds; times are wall-clock Unix seconds.
  struct Ledger {
    std::vector<double> sent;  // send times within the last day, oldest first
    int reserved = 0;          // reserved by the writer and not in `sent`: maybe sent
    double paused_until = 0;   // 0: no pause
    double backoff_seconds = 0;
  };
  // Writes the ledger durably; false when it could not (the request is then sent anyway: the
  // running process keeps to the limits, only a crash loop would not).
  using LedgerWriter = std::function<bool(const Ledger&)>;
  // From now on every block of requests is reserved in the ledger before it is sent.
  // `wall_minus_steady`: Unix seconds minus steady-clock seconds (converts the two clocks).
  // `block`: requests per reservation; 0 picks one from the limits.
  void AttachLedger(LedgerWriter writer, double wall_minus_steady, int block = 0);
  // Continues the windows and pause of a ledger read at startup (before any request): its sends
  // count where they were, its unused reservation counts as sent at `now`.
  void RestoreLedger(const Ledger& ledger, TimePoint now);
  // A clean stop (no request in flight, none to follow): writes the ledger with the unused part
  // of the reservation released, so the next start counts only what was really sent. False when
  // the write failed; a no-op returning true without a ledger.
  bool ReleaseReservation();
  // Requests per reservation for `limits`: a tenth of the smallest window, 1 to 1,000.
  static int ReservationBlock(const RateLimitConfig& limits);

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
  bool WriteLedgerLocked(int reserved);
  double WallOf(TimePoint time) const;
  TimePoint SteadyOf(double wall) const;

  mutable std::mutex mutex_;
  RateLimitConfig limits_;      // guarded by mutex_
  std::deque<TimePoint> sent_;  // send times within the last day, oldest first
  TimePoint paused_until_{};    // guarded by mutex_
  Clock::duration backoff_{};   // guarded by mutex_
  // The durable ledger, when attached; guarded by mutex_.
  LedgerWriter ledger_writer_;
  double wall_minus_steady_ = 0;
  int block_ = 0;          // 0: from the limits
  int reserved_left_ = 0;  // requests of the written reservation not sent yet
};

}  // namespace esim
