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
  if (ledger_writer_) {
    if (reserved_left_ <= 0) {
      // Durable before the request is sent: the next block is reserved first.
      const int block = block_ > 0 ? block_ : ReservationBlock(limits_);
      WriteLedgerLocked(block);
      reserved_left_ = block;
    }
    --reserved_left_;
  }
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
  if (ledger_writer_ && paused_until_ > previous + kPauseSlack) WriteLedgerLocked(reserved_left_);
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
  if (ledger_writer_) WriteLedgerLocked(reserved_left_);
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

int RateBudget::ReservationBlock(const RateLimitConfig& limits) {
  int smallest = 0;
  for (const int limit : {limits.per_minute, limits.per_hour, limits.per_day}) {
    if (limit > 0 && (smallest == 0 || limit < smallest)) smallest = limit;
  }
  // Up to 1,000: only budgets far beyond the vendor's 60/min reach it, where a write per 10
  // requests would cost more than the requests.
  return std::clamp(smallest / 10, 1, 1000);
}

double RateBudget::WallOf(TimePoint time) const {
  return std::chrono::duration<double>(time.time_since_epoch()).count() + wall_minus_steady_;
}

RateBudget::TimePoint RateBudget::SteadyOf(double wall) const {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(wall - wall_minus_steady_)));
}

bool RateBudget::WriteLedgerLocked(int reserved) {
  Ledger ledger;
  ledger.sent.reserve(sent_.size());
  for (const TimePoint sent : sent_) ledger.sent.push_back(WallOf(sent));
  ledger.reserved = reserved;
  if (paused_until_ != TimePoint{}) ledger.paused_until = WallOf(paused_until_);
  ledger.backoff_seconds = std::chrono::duration<double>(backoff_).count();
  return ledger_writer_(ledger);
}

void RateBudget::AttachLedger(LedgerWriter writer, double wall_minus_steady, int block) {
  std::lock_guard<std::mutex> lock(mutex_);
  ledger_writer_ = std::move(writer);
  wall_minus_steady_ = wall_minus_steady;
  block_ = block;
  reserved_left_ = 0;
}

bool RateBudget::ReleaseReservation() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!ledger_writer_) return true;
  // Left reserved on disk, the unused requests would count as sent at the next start: every
  // ordinary restart would spend up to a block that was never sent.
  reserved_left_ = 0;
  return WriteLedgerLocked(0);
}

void RateBudget::RestoreLedger(const Ledger& ledger, TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double wall_now = WallOf(now);
  std::deque<TimePoint> restored;
  for (const double wall : ledger.sent) {
    // Only the last day counts; a send "in the future" (the clock went back) counts as now.
    if (!(wall > wall_now - 86400.0)) continue;
    restored.push_back(wall >= wall_now ? now : SteadyOf(wall));
  }
  std::sort(restored.begin(), restored.end());
  for (int i = 0; i < std::min(ledger.reserved, 100000); ++i) restored.push_back(now);
  // What this process recorded before (none, normally) stays.
  for (const TimePoint sent : sent_) restored.push_back(sent);
  std::sort(restored.begin(), restored.end());
  sent_ = std::move(restored);
  if (ledger.paused_until > wall_now) {
    // Clamped before the conversion: a pause beyond a day is cut to a day anyway.
    const double until = std::min(ledger.paused_until, wall_now + 86400.0);
    paused_until_ = std::max(paused_until_, std::min(SteadyOf(until), now + kMaxPause));
  }
  if (ledger.backoff_seconds > 0) {
    backoff_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::min(ledger.backoff_seconds, 900.0)));
  }
}

}  // namespace esim
