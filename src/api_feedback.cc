#include "api_feedback.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "log.h"

namespace esim {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Clamped to [0, 1 day] in seconds before converting: a header far in the future must not
// overflow the nanosecond clock (which would turn a pause into no pause at all).
SteadyClock::time_point SteadyFromWall(double wall_time, double wall_now,
                                       SteadyClock::time_point steady_now) {
  const double delta = std::clamp(wall_time - wall_now, 0.0, 86400.0);
  return steady_now + std::chrono::duration_cast<SteadyClock::duration>(
                          std::chrono::duration<double>(std::isnan(delta) ? 0.0 : delta));
}

}  // namespace

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The API refuses timestamps more than 5 minutes off; warn well before, once per episode.
static void WarnAboutClockSkew(const ApiResult& result, double wall_now) {
  static std::atomic<bool> warned{false};
  if (!result.server_time) return;
  const double skew = *result.server_time - wall_now;
  if (std::fabs(skew) > 30) {
    if (!warned.exchange(true)) {
      LogWarn(
          "the host clock is off from the API's by more than 30 s; at 5 minutes every "
          "request is refused with INVALID_TIMESTAMP: check NTP",
          {{"skew_seconds", std::to_string(skew)}});
    }
  } else if (std::fabs(skew) < 10) {
    warned = false;
  }
}

void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics) {
  const double wall_now = WallNow();
  WarnAboutClockSkew(result, wall_now);
  const auto steady_now = SteadyClock::now();
  metrics.Observe(result.code, result.duration_seconds);
  store.RecordApiAnswer(result, wall_now);
  // Limits are per API key: the API's word slows every caller down, not just this one.
  if (result.code == "RATE_LIMIT_EXCEEDED" || result.http_status == 429) {
    if (result.retry_after_time) {
      budget.PauseUntil(steady_now, SteadyFromWall(*result.retry_after_time, wall_now, steady_now));
    } else if (result.rate_limit.reset_time) {
      budget.PauseUntil(steady_now,
                        SteadyFromWall(*result.rate_limit.reset_time, wall_now, steady_now));
    } else {
      budget.PauseWithBackoff(steady_now);
    }
    return;
  }
  if (result.api_up) budget.ResetBackoff();
  if (result.rate_limit.remaining && *result.rate_limit.remaining <= 0) {
    const double until = result.rate_limit.reset_time.value_or(wall_now + 60);
    budget.PauseUntil(steady_now, SteadyFromWall(until, wall_now, steady_now));
  }
}

}  // namespace esim
