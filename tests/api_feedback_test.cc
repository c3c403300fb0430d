#include "api_feedback.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "collector.h"
#include "log.h"

namespace esim {
namespace {

using ::testing::HasSubstr;

using std::chrono::hours;
using std::chrono::seconds;

class ApiFeedbackTest : public testing::Test {
 protected:
  RateBudget budget_{RateLimitConfig{1000, 100000, 1000000}};
  StateStore store_;
  ApiMetrics metrics_;
};

TEST_F(ApiFeedbackTest, RetryAfterPausesEveryCaller) {
  ApiResult limited;
  limited.code = "RATE_LIMIT_EXCEEDED";
  limited.api_up = true;
  limited.retry_after_time = WallNow() + 120;
  RecordApiOutcome(limited, budget_, store_, metrics_);
  const auto now = std::chrono::steady_clock::now();
  const auto until = budget_.paused_until(now);
  ASSERT_TRUE(until);
  EXPECT_GT(*until - now, seconds(110));
  EXPECT_LT(*until - now, seconds(130));
  EXPECT_EQ(store_.Snapshot()->api.up, true);
}

TEST_F(ApiFeedbackTest, AHeaderCenturiesAheadStillPausesForADayAtMost) {
  ApiResult limited;
  limited.code = "RATE_LIMIT_EXCEEDED";
  limited.retry_after_time = 1e20;  // would overflow a nanosecond clock
  RecordApiOutcome(limited, budget_, store_, metrics_);
  const auto now = std::chrono::steady_clock::now();
  const auto until = budget_.paused_until(now);
  ASSERT_TRUE(until) << "the pause must not vanish";
  EXPECT_GT(*until - now, hours(23));
  EXPECT_LE(*until - now, hours(24));
}

TEST_F(ApiFeedbackTest, ABare429WithAnotherCodeIsARateLimitToo) {
  ApiResult throttled;
  throttled.code = "THROTTLED";
  throttled.http_status = 429;
  RecordApiOutcome(throttled, budget_, store_, metrics_);
  EXPECT_TRUE(budget_.paused_until(std::chrono::steady_clock::now()).has_value());
}

TEST_F(ApiFeedbackTest, ExhaustedRemainingPausesUntilTheReset) {
  ApiResult ok;
  ok.code = "OK";
  ok.api_up = true;
  ok.rate_limit.remaining = 0;
  ok.rate_limit.reset_time = WallNow() + 30;
  RecordApiOutcome(ok, budget_, store_, metrics_);
  const auto now = std::chrono::steady_clock::now();
  const auto until = budget_.paused_until(now);
  ASSERT_TRUE(until);
  EXPECT_GT(*until - now, seconds(25));
}

size_t CountOf(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// The bug report: one answer with X-RateLimit-Remaining: 0 and a reset far away paused all
// polling for a day with no log line and no metric.
TEST_F(ApiFeedbackTest, AFarResetPausesForADayAtMostAndSaysSoOnceInTheLogAndTheMetrics) {
  const double wall_now = 1782500000;  // 2026-06-26T18:53:20Z
  const auto steady_now = std::chrono::steady_clock::time_point(hours(1000));
  ApiResult ok;
  ok.code = "OK";
  ok.api_up = true;
  ok.http_status = 200;
  ok.rate_limit.remaining = 0;
  ok.rate_limit.reset_time = wall_now + 30 * 86400;  // a month away
  std::string log;
  Logger::Get().CaptureInto(&log);
  RecordApiOutcome(ok, budget_, store_, metrics_, wall_now, steady_now);
  EXPECT_EQ(budget_.paused_until(steady_now), steady_now + hours(24)) << "clamped as before";
  const auto snapshot = store_.Snapshot();
  // The other answers of the same window (requests that were in flight) repeat it: still one
  // pause, one log line.
  for (int i = 1; i <= 3; ++i) {
    RecordApiOutcome(ok, budget_, store_, metrics_, wall_now + i, steady_now + seconds(i));
  }
  Logger::Get().CaptureInto(nullptr);

  EXPECT_EQ(CountOf(log, "the API imposed a pause"), 1u) << log;
  EXPECT_EQ(CountOf(log, "\n"), 1u) << log;
  EXPECT_THAT(log, HasSubstr("level=warn")) << log;
  EXPECT_THAT(log, HasSubstr("until=2026-06-27T18:53:20Z")) << log;
  EXPECT_THAT(log, HasSubstr("requested_until=2026-07-26T18:53:20Z")) << log;
  EXPECT_THAT(log, HasSubstr("X-RateLimit-Remaining: 0")) << log;

  EXPECT_EQ(snapshot->api.paused_until, wall_now + 86400);
  EXPECT_THAT(snapshot->api.pause_reason, HasSubstr("X-RateLimit-Remaining: 0"));
  // The repeats keep the store on the budget's end (each answer clamps from its own time).
  EXPECT_EQ(store_.Snapshot()->api.paused_until, wall_now + 3 + 86400);
  const std::string text = RenderMetrics(*snapshot, ExporterStatus{}, nullptr, wall_now + 10,
                                         {.process_metrics = false});
  EXPECT_THAT(text, HasSubstr("\nesim_api_paused_until_timestamp_seconds 1782586400\n")) << text;
  // Once it has ended, the metric says no pause holds.
  const std::string later = RenderMetrics(*snapshot, ExporterStatus{}, nullptr, wall_now + 86401,
                                          {.process_metrics = false});
  EXPECT_THAT(later, HasSubstr("\nesim_api_paused_until_timestamp_seconds 0\n"));
}

TEST_F(ApiFeedbackTest, EveryKindOfPauseIsLoggedWithItsCause) {
  const double wall_now = 1782500000;
  auto steady_now = std::chrono::steady_clock::time_point(hours(1000));
  ApiResult retry_after;
  retry_after.code = "RATE_LIMIT_EXCEEDED";
  retry_after.http_status = 429;
  retry_after.retry_after_time = wall_now + 120;
  ApiResult bare;
  bare.code = "RATE_LIMIT_EXCEEDED";
  bare.http_status = 200;
  ApiResult exhausted;
  exhausted.code = "OK";
  exhausted.api_up = true;
  exhausted.http_status = 200;
  exhausted.rate_limit.remaining = 0;
  struct Case {
    const ApiResult* answer;
    const char* cause;
    double seconds;
  };
  const Case cases[] = {{&retry_after, "RATE_LIMIT_EXCEEDED and Retry-After", 120},
                        {&bare, "without Retry-After or X-RateLimit-Reset; backing off", 30},
                        {&exhausted, "X-RateLimit-Remaining: 0 without X-RateLimit-Reset", 60}};
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.cause);
    // An hour apart: the previous pause has ended.
    steady_now += hours(1);
    const double wall = wall_now + 3600.0 * static_cast<double>(i);
    if (c.answer->retry_after_time) retry_after.retry_after_time = wall + 120;
    std::string log;
    Logger::Get().CaptureInto(&log);
    RecordApiOutcome(*c.answer, budget_, store_, metrics_, wall, steady_now);
    Logger::Get().CaptureInto(nullptr);
    EXPECT_EQ(CountOf(log, "the API imposed a pause"), 1u) << log;
    EXPECT_THAT(log, HasSubstr(c.cause)) << log;
    EXPECT_THAT(log, HasSubstr("pause_seconds=" + std::to_string(static_cast<int>(c.seconds))))
        << log;
    EXPECT_EQ(store_.Snapshot()->api.paused_until, wall + c.seconds);
    budget_.ResetBackoff();
  }
}

TEST_F(ApiFeedbackTest, CredentialsRefusedFollowsTheLatestAnswer) {
  ApiResult refused;
  refused.code = "INVALID_SIGNATURE";
  refused.http_status = 401;
  RecordApiOutcome(refused, budget_, store_, metrics_);
  EXPECT_TRUE(store_.Snapshot()->api.credentials_refused);
  // A timeout says nothing about the credentials.
  ApiResult timeout;
  timeout.code = "TIMEOUT";
  RecordApiOutcome(timeout, budget_, store_, metrics_);
  EXPECT_TRUE(store_.Snapshot()->api.credentials_refused);
  ApiResult ok;
  ok.code = "OK";
  ok.api_up = true;
  ok.http_status = 200;
  RecordApiOutcome(ok, budget_, store_, metrics_);
  EXPECT_FALSE(store_.Snapshot()->api.credentials_refused);
}

TEST_F(ApiFeedbackTest, NoPauseNoLogLine) {
  ApiResult ok;
  ok.code = "OK";
  ok.api_up = true;
  ok.http_status = 200;
  ok.rate_limit.remaining = 5;
  ok.rate_limit.reset_time = WallNow() + 30;
  std::string log;
  Logger::Get().CaptureInto(&log);
  RecordApiOutcome(ok, budget_, store_, metrics_);
  Logger::Get().CaptureInto(nullptr);
  EXPECT_EQ(log, "");
  EXPECT_FALSE(store_.Snapshot()->api.paused_until.has_value());
}

TEST(FormatIso8601UtcTest, Table) {
  EXPECT_EQ(FormatIso8601Utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601Utc(1782500000.75), "2026-06-26T18:53:20Z");
  EXPECT_EQ(FormatIso8601Utc(1e20), "out of range");
}

TEST_F(ApiFeedbackTest, RefusalsArrivingTogetherDoubleTheBackoffOnce) {
  ApiResult limited;
  limited.code = "RATE_LIMIT_EXCEEDED";
  for (int i = 0; i < 4; ++i) RecordApiOutcome(limited, budget_, store_, metrics_);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_LE(*budget_.paused_until(now) - now, seconds(30));
}

}  // namespace
}  // namespace esim
