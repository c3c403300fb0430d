#include "api_feedback.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

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

// The API refuses timestamps more than 5 minutes off; warn well before, once per episode.
void WarnAboutClockSkew(const ApiResult& result, double wall_now) {
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

// The answers that say the key itself is refused (esim_api_credentials_refused): a wrong or
// revoked key, a wrong secret, a clock the API does not accept. Narrower than
// IsCredentialRefusal, which also counts malformed request ids (a bug, not a key problem).
bool RefusesCredentials(std::string_view code) {
  return code == "INVALID_API_KEY" || code == "INVALID_SIGNATURE" || code == "INVALID_TIMESTAMP" ||
         code == "HMAC_REQUIRED" || code == "INVALID_USER";
}

// One pause the API asked for: why, the end it asked for (Unix seconds; none for backoff), and
// whether it is new (RateBudget::PauseUntil) rather than a repeat of the one in force.
struct PauseRequest {
  std::string reason;
  std::optional<double> requested_until;
  bool is_new = false;
};

// Applies the API's word on rate limits to the budget. Returns the pause this answer asked
// for, if any.
std::optional<PauseRequest> ApplyRateLimits(const ApiResult& result, RateBudget& budget,
                                            double wall_now, SteadyClock::time_point steady_now) {
  // Limits are per API key: the API's word slows every caller down, not just this one.
  if (result.code == "RATE_LIMIT_EXCEEDED" || result.http_status == 429) {
    const std::string refused = result.code == "RATE_LIMIT_EXCEEDED"
                                    ? "the API refused a request with RATE_LIMIT_EXCEEDED"
                                    : "the API refused a request with HTTP 429";
    if (result.retry_after_time) {
      const double until = *result.retry_after_time;
      const bool is_new =
          budget.PauseUntil(steady_now, SteadyFromWall(until, wall_now, steady_now));
      return PauseRequest{refused + " and Retry-After", until, is_new};
    }
    if (result.rate_limit.reset_time) {
      const double until = *result.rate_limit.reset_time;
      const bool is_new =
          budget.PauseUntil(steady_now, SteadyFromWall(until, wall_now, steady_now));
      return PauseRequest{refused + "; waiting for the window's X-RateLimit-Reset", until, is_new};
    }
    const bool is_new = budget.PauseWithBackoff(steady_now);
    return PauseRequest{refused + " without Retry-After or X-RateLimit-Reset; backing off",
                        std::nullopt, is_new};
  }
  if (result.api_up) budget.ResetBackoff();
  if (result.rate_limit.remaining && *result.rate_limit.remaining <= 0) {
    const bool has_reset = result.rate_limit.reset_time.has_value();
    const double until = result.rate_limit.reset_time.value_or(wall_now + 60);
    const bool is_new = budget.PauseUntil(steady_now, SteadyFromWall(until, wall_now, steady_now));
    return PauseRequest{has_reset ? "X-RateLimit-Remaining: 0; waiting for X-RateLimit-Reset"
                                  : "X-RateLimit-Remaining: 0 without X-RateLimit-Reset; "
                                    "waiting a minute",
                        until, is_new};
  }
  return {};
}

}  // namespace

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatIso8601Utc(double unix_seconds) {
  // Years 0001 to 9999 only: a hostile header must not overflow time_t.
  if (!(unix_seconds > -62135596800.0 && unix_seconds < 253402300800.0)) return "out of range";
  const auto seconds = static_cast<time_t>(std::floor(unix_seconds));
  struct tm utc;
  if (gmtime_r(&seconds, &utc) == nullptr) return "";
  char text[32];
  const size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics) {
  RecordApiOutcome(result, budget, store, metrics, WallNow(), SteadyClock::now());
}

void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics, double wall_now, SteadyClock::time_point steady_now) {
  WarnAboutClockSkew(result, wall_now);
  metrics.Observe(result.code, result.duration_seconds);
  store.RecordApiAnswer(result, wall_now);
  // Only an answer says anything about the credentials; a timeout does not.
  if (result.http_status != 0) store.SetCredentialsRefused(RefusesCredentials(result.code));

  const std::optional<PauseRequest> pause = ApplyRateLimits(result, budget, wall_now, steady_now);
  const std::optional<SteadyClock::time_point> until = budget.paused_until(steady_now);
  if (!until) {
    store.SetApiPause(std::nullopt, "");
    return;
  }
  if (!pause) return;  // a pause imposed by an earlier answer
  const double wall_until = wall_now + std::chrono::duration<double>(*until - steady_now).count();
  store.SetApiPause(wall_until, pause->reason);
  if (!pause->is_new) return;  // one more answer of the pause in force: reported already
  const bool clamped =
      pause->requested_until && *pause->requested_until > wall_until + 1;  // beyond kMaxPause
  const std::string seconds = std::to_string(std::lround(wall_until - wall_now));
  if (clamped) {
    LogWarn(
        "the API imposed a pause: no requests until then (the API asked for longer; a pause "
        "is capped at 24 h)",
        {{"until", FormatIso8601Utc(wall_until)},
         {"pause_seconds", seconds},
         {"reason", pause->reason},
         {"requested_until", FormatIso8601Utc(*pause->requested_until)}});
  } else {
    LogWarn("the API imposed a pause: no requests until then",
            {{"until", FormatIso8601Utc(wall_until)},
             {"pause_seconds", seconds},
             {"reason", pause->reason}});
  }
}

}  // namespace esim
