#include "read_retry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace esim {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// The times (minutes after the first attempt) at which sweeps run over `span` while every sweep
// fails until `recovered_at`, with the default retry (1 min) and interval (10 min).
std::vector<int64_t> SweepTimes(minutes recovered_at, minutes span) {
  std::vector<int64_t> times;
  int failures = 0;
  for (ReadWait at{0}; at <= span;) {
    times.push_back(std::chrono::duration_cast<minutes>(at).count());
    const bool ok = at >= recovered_at;
    failures = ok ? 0 : failures + 1;
    at += NextSweepWait(ok, failures, minutes(1), minutes(10));
  }
  return times;
}

TEST(ReadRetryTest, FailedSweepsBackOffFromTheRetryToTheInterval) {
  // Failing throughout: 1, 2, 4, 8 minutes apart, then the interval (10).
  EXPECT_EQ(SweepTimes(hours(24), minutes(45)), (std::vector<int64_t>{0, 1, 3, 7, 15, 25, 35, 45}));
}

TEST(ReadRetryTest, ASuccessReturnsToTheIntervalAtOnce) {
  // The API is back at minute 5: the sweep at 7 succeeds, the next one is 10 minutes later.
  EXPECT_EQ(SweepTimes(minutes(5), minutes(30)), (std::vector<int64_t>{0, 1, 3, 7, 17, 27}));
}

TEST(ReadRetryTest, ManyFailuresNeverOverflowOrExceedTheInterval) {
  EXPECT_EQ(NextSweepWait(false, 1000, minutes(1), hours(1)), hours(1));
  EXPECT_EQ(NextSweepWait(false, 1, minutes(1), hours(1)), minutes(1));
  EXPECT_EQ(NextSweepWait(true, 7, minutes(1), hours(1)), hours(1));
}

TEST(ReadRetryTest, BalanceAndSubscriptionReadsRetryWithinFiveMinutes) {
  EXPECT_EQ(NextReadWait(true, hours(1)), hours(1));
  EXPECT_EQ(NextReadWait(false, hours(1)), minutes(5));
  EXPECT_EQ(NextReadWait(false, minutes(2)), minutes(2));  // never later than a success would
}

}  // namespace
}  // namespace esim
