#include "rate_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace esim {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = RateBudget::TimePoint;

// Counts, for every send, the sends in the window that ends at it.
int MaxInAnyWindow(const std::vector<TimePoint>& sends, RateBudget::Clock::duration window) {
  int worst = 0;
  size_t first = 0;
  for (size_t last = 0; last < sends.size(); ++last) {
    while (sends[first] + window <= sends[last]) ++first;
    worst = std::max(worst, static_cast<int>(last - first + 1));
  }
  return worst;
}

// Sends as fast as the budget allows for `duration`, stepping simulated time.
std::vector<TimePoint> Drain(RateBudget& budget, TimePoint start,
                             RateBudget::Clock::duration duration) {
  std::vector<TimePoint> sends;
  TimePoint now = start;
  while (now < start + duration) {
    if (budget.TryAcquire(now)) {
      sends.push_back(now);
    } else {
      const TimePoint next = budget.NextAllowed(now);
      EXPECT_GT(next, now);
      now = next;
    }
  }
  return sends;
}

TEST(RateBudgetTest, NeverExceedsAnyWindowWhenDrainedFlatOut) {
  RateBudget budget(RateLimitConfig{50, 500, 5000});
  const TimePoint start{};
  const auto sends = Drain(budget, start, hours(26));
  EXPECT_LE(MaxInAnyWindow(sends, minutes(1)), 50);
  EXPECT_LE(MaxInAnyWindow(sends, hours(1)), 500);
  EXPECT_LE(MaxInAnyWindow(sends, hours(24)), 5000);
  // And it does use what it is given: the day's budget is spent within the first day.
  const auto in_first_day =
      std::count_if(sends.begin(), sends.end(), [&](TimePoint t) { return t < start + hours(24); });
  EXPECT_EQ(in_first_day, 5000);
}

TEST(RateBudgetTest, SpreadsRequestsEvenlyInsteadOfBursting) {
  RateBudget budget(RateLimitConfig{60, 100000, 1000000});
  const auto sends = Drain(budget, TimePoint{}, minutes(2));
  ASSERT_GE(sends.size(), 100u);
  for (size_t i = 1; i < sends.size(); ++i) {
    EXPECT_GE(sends[i] - sends[i - 1], seconds(1)) << "burst at send " << i;
  }
}

TEST(RateBudgetTest, PauseFromTheApiHoldsEveryRequest) {
  RateBudget budget(RateLimitConfig{50, 500, 5000});
  const TimePoint now{hours(1)};
  budget.PauseUntil(now, now + seconds(90));
  EXPECT_FALSE(budget.TryAcquire(now));
  EXPECT_EQ(budget.NextAllowed(now), now + seconds(90));
  EXPECT_TRUE(budget.paused_until(now).has_value());
  EXPECT_TRUE(budget.TryAcquire(now + seconds(90)));
}

TEST(RateBudgetTest, AbsurdPausesAreClampedToADay) {
  RateBudget budget(RateLimitConfig{50, 500, 5000});
  const TimePoint now{hours(1)};
  budget.PauseUntil(now, now + hours(24 * 365));
  EXPECT_EQ(budget.NextAllowed(now), now + hours(24));
}

TEST(RateBudgetTest, BackoffDoublesUpToFifteenMinutesAndResets) {
  RateBudget budget(RateLimitConfig{50, 500, 5000});
  TimePoint now{hours(1)};
  std::vector<RateBudget::Clock::duration> pauses;
  for (int i = 0; i < 8; ++i) {
    budget.PauseWithBackoff(now);
    const TimePoint until = budget.NextAllowed(now);
    pauses.push_back(until - now);
    now = until;
  }
  EXPECT_EQ(pauses[0], seconds(30));
  EXPECT_EQ(pauses[1], seconds(60));
  EXPECT_EQ(pauses[2], seconds(120));
  EXPECT_EQ(pauses.back(), minutes(15));
  budget.ResetBackoff();
  budget.PauseWithBackoff(now);
  EXPECT_EQ(budget.NextAllowed(now) - now, seconds(30));
}

// Each answer of one pause says so again: only the first (or one that moves the end by more than
// the slack) is a pause to report.
TEST(RateBudgetTest, PauseUntilSaysWhetherItIsANewPause) {
  RateBudget budget(RateLimitConfig{30, 500, 5000});
  const TimePoint now{hours(1)};
  EXPECT_TRUE(budget.PauseUntil(now, now + minutes(10)));
  EXPECT_FALSE(budget.PauseUntil(now + seconds(1), now + minutes(10)));
  EXPECT_FALSE(budget.PauseUntil(now + seconds(2), now + minutes(10) + seconds(5)));  // jitter
  EXPECT_FALSE(budget.PauseUntil(now, now + minutes(5)));  // inside the one in force
  EXPECT_TRUE(budget.PauseUntil(now, now + minutes(30)));  // a longer one
  EXPECT_EQ(budget.paused_until(now), now + minutes(30));
  // A reset already past imposes nothing.
  EXPECT_FALSE(budget.PauseUntil(now + hours(1), now + minutes(40)));
  // After the pause ended, the next one is new again.
  EXPECT_TRUE(budget.PauseUntil(now + hours(1), now + hours(1) + seconds(30)));
}

TEST(RateBudgetTest, RefusalsArrivingTogetherStartOneBackoffPause) {
  RateBudget budget(RateLimitConfig{30, 500, 5000});
  const TimePoint now{hours(1)};
  EXPECT_TRUE(budget.PauseWithBackoff(now));
  EXPECT_FALSE(budget.PauseWithBackoff(now + seconds(1)));
  EXPECT_TRUE(budget.PauseWithBackoff(now + seconds(30)));  // the first one ended
}

TEST(RateBudgetTest, LoweredLimitsApplyToRequestsAlreadySent) {
  RateBudget budget(RateLimitConfig{1000, 1000, 1000});
  TimePoint now{};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(budget.TryAcquire(now));
    now += milliseconds(60);
  }
  budget.SetLimits(RateLimitConfig{5, 1000, 1000});
  EXPECT_FALSE(budget.TryAcquire(now));
  EXPECT_GE(budget.NextAllowed(now), now + seconds(12));
}

}  // namespace
}  // namespace esim
