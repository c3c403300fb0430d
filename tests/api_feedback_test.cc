#include "api_feedback.h"

#include <gtest/gtest.h>

namespace esim {
namespace {

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

TEST_F(ApiFeedbackTest, RefusalsArrivingTogetherDoubleTheBackoffOnce) {
  ApiResult limited;
  limited.code = "RATE_LIMIT_EXCEEDED";
  for (int i = 0; i < 4; ++i) RecordApiOutcome(limited, budget_, store_, metrics_);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_LE(*budget_.paused_until(now) - now, seconds(30));
}

}  // namespace
}  // namespace esim
