#include "poll_schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "rate_budget.h"

namespace esim {
namespace {

using ::testing::HasSubstr;

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = PollSchedule::TimePoint;

std::vector<EsimConfig> Fleet(size_t count, size_t first = 0) {
  std::vector<EsimConfig> esims(count);
  for (size_t i = 0; i < count; ++i) esims[i].esim_id = static_cast<int64_t>(first + i + 1);
  return esims;
}

TEST(EffectiveIntervalTest, KeepsTheConfiguredIntervalWhenTheBudgetSuffices) {
  // With the default budget, 46 eSIMs every 15 m (4,416 requests/day, 90 % of 5,000) fit.
  EXPECT_EQ(EffectiveInterval(minutes(15), 46, RateLimitConfig{50, 500, 5000}), minutes(15));
  EXPECT_EQ(DescribeStretch(minutes(15), 46, RateLimitConfig{50, 500, 5000}), "");
  EXPECT_GT(EffectiveInterval(minutes(15), 47, RateLimitConfig{50, 500, 5000}), minutes(15));
}

TEST(EffectiveIntervalTest, StretchesToTheTightestWindow) {
  // The contract's example: 300 eSIMs every 15 m need 1,200 requests/h against 500/h;
  // planned on 450/h, that is every 40 m.
  EXPECT_EQ(EffectiveInterval(minutes(15), 300, RateLimitConfig{50, 500, 100000}), seconds(2400));
  EXPECT_EQ(DescribeStretch(minutes(15), 300, RateLimitConfig{50, 500, 100000}),
            "the request budget is too small for the fleet: 300 eSIMs every 15m need 1200 "
            "requests/h but rate_limit.per_hour allows 500 (90 % planned, 10 % kept for "
            "retries); each eSIM is polled every 40m instead (raise rate_limit.per_hour within "
            "the API key's limits, lengthen poll.interval, or monitor fewer eSIMs)");
  // With the default day budget the day window binds first: 300 x 96 = 28,800/day > 5,000.
  EXPECT_EQ(EffectiveInterval(minutes(15), 300, RateLimitConfig{50, 500, 5000}), seconds(5760));
  EXPECT_THAT(DescribeStretch(minutes(15), 300, RateLimitConfig{50, 500, 5000}),
              HasSubstr("need 28800 requests/day but rate_limit.per_day allows 5000"));
}

TEST(EffectiveIntervalTest, NeverBelowSixtySeconds) {
  EXPECT_EQ(EffectiveInterval(seconds(10), 1, RateLimitConfig{1000, 100000, 1000000}), seconds(60));
}

// Runs schedule + budget in simulated time with instant answers; returns each eSIM's poll times.
std::map<std::string, std::vector<TimePoint>> Simulate(PollSchedule& schedule, RateBudget& budget,
                                                       TimePoint start, TimePoint end,
                                                       std::vector<TimePoint>* all_sends) {
  std::map<std::string, std::vector<TimePoint>> polls;
  TimePoint now = start;
  while (now < end) {
    const auto next = schedule.Next(start);
    if (!next) break;
    const TimePoint ready = std::max(next->at, budget.NextAllowed(now));
    if (ready > now) {
      now = ready;
      continue;
    }
    EXPECT_TRUE(budget.TryAcquire(now));
    const std::string key = next->esim.Key();
    schedule.Started(key, now);
    schedule.Finished(key, PollSchedule::Outcome::kSuccess, now, 0.5);
    polls[key].push_back(now);
    all_sends->push_back(now);
  }
  return polls;
}

TEST(PollScheduleTest, LargeFleetStaysInsideTheBudgetAndIsPolledAtTheStretchedInterval) {
  const RateLimitConfig limits{50, 500, 100000};
  const auto esims = Fleet(300);
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  RateBudget budget(limits);
  schedule.Update(esims, minutes(15), limits, start);
  ASSERT_EQ(schedule.interval(), seconds(2400));
  std::vector<TimePoint> sends;
  const auto polls = Simulate(schedule, budget, start, start + hours(12), &sends);

  // Every window of the budget holds.
  auto max_in_window = [&](RateBudget::Clock::duration window) {
    size_t first = 0, worst = 0;
    for (size_t last = 0; last < sends.size(); ++last) {
      while (sends[first] + window <= sends[last]) ++first;
      worst = std::max(worst, last - first + 1);
    }
    return worst;
  };
  EXPECT_LE(max_in_window(minutes(1)), 50u);
  EXPECT_LE(max_in_window(hours(1)), 500u);

  ASSERT_EQ(polls.size(), 300u);
  for (const auto& [key, times] : polls) {
    // First poll as soon as the budget allows: all 300 within 300 x 1.2 s of the start.
    EXPECT_LE(times.front() - start, seconds(360)) << key;
    for (size_t i = 1; i < times.size(); ++i) {
      EXPECT_GE(times[i] - times[i - 1], seconds(60)) << key;
      // Once the startup rush has drained (a few hours), each eSIM is polled every interval.
      if (times[i - 1] >= start + hours(6)) {
        EXPECT_GE(times[i] - times[i - 1], seconds(2400) - seconds(5)) << key;
        EXPECT_LE(times[i] - times[i - 1], seconds(2400) + seconds(5)) << key;
      }
    }
    EXPECT_GE(times.size(), 12u * 3600 / 2400) << key;
  }
}

TEST(PollScheduleTest, SpreadsPollsEvenlyOverTheInterval) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  RateBudget budget(limits);
  schedule.Update(Fleet(10), minutes(10), limits, start);
  std::vector<TimePoint> sends;
  Simulate(schedule, budget, start, start + hours(3), &sends);
  // After the first cycle, consecutive polls are one minute apart (10 eSIMs in 10 minutes).
  size_t checked = 0;
  for (size_t i = 1; i < sends.size(); ++i) {
    if (sends[i - 1] < start + minutes(30)) continue;
    EXPECT_GE(sends[i] - sends[i - 1], seconds(55));
    EXPECT_LE(sends[i] - sends[i - 1], seconds(65));
    ++checked;
  }
  EXPECT_GT(checked, 100u);
}

TEST(PollScheduleTest, FailuresBackOffExponentiallyUpToTheInterval) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(1), minutes(15), limits, start);
  TimePoint now = start;
  std::vector<RateBudget::Clock::duration> delays;
  for (int i = 0; i < 8; ++i) {
    const auto next = schedule.Next(start);
    ASSERT_TRUE(next);
    now = std::max(now, next->at);
    schedule.Started(next->esim.Key(), now);
    schedule.Finished(next->esim.Key(), PollSchedule::Outcome::kFailure, now, 0.5);
    delays.push_back(schedule.Next(start)->at - now);
  }
  EXPECT_EQ(delays[0], seconds(60));
  EXPECT_EQ(delays[1], seconds(120));
  EXPECT_EQ(delays[2], seconds(240));
  EXPECT_EQ(delays.back(), minutes(15));
  for (const auto delay : delays) EXPECT_GE(delay, seconds(60));
}

TEST(PollScheduleTest, RateLimitedPollsRetryAfterSixtySecondsWithoutBackoff) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(1), minutes(15), limits, start);
  const std::string key = schedule.Next(start)->esim.Key();
  schedule.Started(key, start);
  schedule.Finished(key, PollSchedule::Outcome::kRateLimited, start, 0.5);
  EXPECT_EQ(schedule.Next(start)->at, start + seconds(60));
}

TEST(PollScheduleTest, ReloadKeepsKnownEsimsAndPollsNewOnesAtOnce) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(3), minutes(15), limits, start);
  for (int i = 0; i < 3; ++i) {
    const auto next = schedule.Next(start);
    schedule.Started(next->esim.Key(), start + seconds(i));
    schedule.Finished(next->esim.Key(), PollSchedule::Outcome::kSuccess, start + seconds(i), 0.5);
  }
  // Drop eSIM 1, keep 2 and 3, add 4.
  const TimePoint reload = start + minutes(2);
  schedule.Update(Fleet(3, 1), minutes(15), limits, reload);
  EXPECT_EQ(schedule.size(), 3u);
  const auto next = schedule.Next(start);
  EXPECT_EQ(next->esim.Key(), "esim_id:4");
  EXPECT_EQ(next->at, reload);
  // An answer for the removed eSIM arriving after the reload is ignored.
  schedule.Finished("esim_id:1", PollSchedule::Outcome::kSuccess, reload, 0.5);
  EXPECT_EQ(schedule.size(), 3u);
}

// An eSIM removed by a reload while its request is in flight and added back before the answer
// arrives must not be polled again at once: that request still counts, and its answer
// schedules the next poll as usual.
TEST(PollScheduleTest, EsimReaddedWhileInFlightIsNotPolledTwice) {
  const RateLimitConfig limits{600, 100000, 1000000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(2), minutes(1), limits, start);
  ASSERT_EQ(schedule.Next(start)->esim.Key(), "esim_id:1");
  schedule.Started("esim_id:1", start);
  schedule.Update(Fleet(1, 1), minutes(1), limits, start + seconds(1));  // esim_id:1 removed
  EXPECT_EQ(schedule.in_flight(), 1u);                                   // its request is still out
  schedule.Update(Fleet(2), minutes(1), limits, start + seconds(2));     // and back
  EXPECT_EQ(schedule.in_flight(), 1u);
  for (TimePoint now = start + seconds(2); now < start + seconds(30); now += seconds(1)) {
    const auto next = schedule.Next(now);
    ASSERT_TRUE(next);
    EXPECT_NE(next->esim.Key(), "esim_id:1");
    if (next->at <= now && next->esim.Key() == "esim_id:2") {
      schedule.Started("esim_id:2", now);
      schedule.Finished("esim_id:2", PollSchedule::Outcome::kSuccess, now, 0.5);
    }
  }
  schedule.Finished("esim_id:1", PollSchedule::Outcome::kSuccess, start + seconds(30), 0.5);
  EXPECT_EQ(schedule.in_flight(), 0u);
  const auto next = schedule.Next(start + seconds(30));
  ASSERT_TRUE(next);
  EXPECT_GE(next->at, start + seconds(30));  // due again later, like any answered eSIM

  // Removed for good: its late answer is dropped and frees the slot.
  schedule.Started("esim_id:1", next->at);
  schedule.Update(Fleet(1, 1), minutes(1), limits, next->at);
  EXPECT_EQ(schedule.in_flight(), 1u);
  schedule.Finished("esim_id:1", PollSchedule::Outcome::kSuccess, next->at, 0.5);
  EXPECT_EQ(schedule.in_flight(), 0u);
}

TEST(PollScheduleTest, OnceModePollsEveryEsimExactlyOnce) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start, /*once=*/true);
  schedule.Update(Fleet(5), minutes(15), limits, start);
  int polls = 0;
  bool retried = false;
  while (const auto next = schedule.Next(start)) {
    schedule.Started(next->esim.Key(), next->at);
    // The first answer is rate limited: it must be retried, not counted as done.
    const auto outcome =
        !retried ? PollSchedule::Outcome::kRateLimited : PollSchedule::Outcome::kFailure;
    retried = true;
    schedule.Finished(next->esim.Key(), outcome, next->at, 0.5);
    ++polls;
    ASSERT_LT(polls, 100);
  }
  EXPECT_EQ(polls, 6);
  EXPECT_TRUE(schedule.AllDone());
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

TEST(LiveSpacingTest, LeavesTheBulkReadsTheirShare) {
  // 30/min planned at 27/min; sweeps take 6 pages every 10 min (0.01/s): 0.44/s remain.
  const auto spacing = LiveSpacing(RateLimitConfig{30, 100000, 1000000}, 6.0 / 600);
  ASSERT_TRUE(spacing);
  EXPECT_EQ(*spacing, std::chrono::microseconds(2272728));
  EXPECT_FALSE(LiveSpacing(RateLimitConfig{1, 10, 100}, 1.0).has_value());
}

// A large budget spaces live polls below a millisecond: rounded to whole milliseconds it would
// cap them at 1,000 a second, and a large fleet's first cycle would take minutes.
TEST(LiveSpacingTest, ALargeBudgetSpacesLivePollsBelowAMillisecond) {
  // 1,728,000,000/day planned at 18,000/s: one every 55.6 us, rounded up to 56.
  const RateLimitConfig limits{1000000000, 1000000000, 1728000000};
  const auto spacing = LiveSpacing(limits, 0.0);
  ASSERT_TRUE(spacing);
  EXPECT_EQ(*spacing, std::chrono::microseconds(56));

  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(3), minutes(1), limits, start, {true, *spacing});
  schedule.Started("esim_id:1", start);
  schedule.Finished("esim_id:1", PollSchedule::Outcome::kSuccess, start, 0.001);
  const auto next = schedule.Next(start);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->esim.Key(), "esim_id:2");
  EXPECT_EQ(next->at, start + std::chrono::microseconds(56));
}

TEST(PollSchedulePriorityTest, ActiveAndLeastRecentlyPolledFirstPacedByTheLiveSpacing) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(4), minutes(15), limits, start, {true, seconds(10)});
  EXPECT_EQ(schedule.interval(), minutes(15));
  for (const char* key : {"esim_id:1", "esim_id:2", "esim_id:4"}) {
    schedule.SetRank(key, PollSchedule::kOther);
  }
  schedule.SetRank("esim_id:3", PollSchedule::kActive);
  auto next = schedule.Next(start);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->esim.Key(), "esim_id:3");  // active first
  EXPECT_EQ(next->at, start);
  schedule.Started("esim_id:3", start);
  schedule.Finished("esim_id:3", PollSchedule::Outcome::kSuccess, start, 0.5);
  next = schedule.Next(start);
  EXPECT_EQ(next->esim.Key(), "esim_id:1");  // then config order among the never polled
  EXPECT_EQ(next->at, start + seconds(10));  // paced
  // The active one is not polled again before its interval.
  TimePoint now = start;
  for (int i = 0; i < 3; ++i) {
    now = schedule.Next(now)->at;
    const std::string key = schedule.Next(now)->esim.Key();
    EXPECT_NE(key, "esim_id:3");
    schedule.Started(key, now);
    schedule.Finished(key, PollSchedule::Outcome::kSuccess, now, 0.5);
  }
  next = schedule.Next(now);
  EXPECT_EQ(next->esim.Key(), "esim_id:3");
  EXPECT_EQ(next->at, start + minutes(15));
}

// The polls that follow, as (key, offset from start in ms), answering each at once.
std::vector<std::pair<std::string, int64_t>> PollsOf(PollSchedule& schedule, TimePoint start,
                                                     size_t count) {
  std::vector<std::pair<std::string, int64_t>> polls;
  TimePoint now = start;
  for (size_t i = 0; i < count; ++i) {
    const auto next = schedule.Next(now);
    if (!next) break;
    now = std::max(now, next->at);
    schedule.Started(next->key, now);
    schedule.Finished(next->key, PollSchedule::Outcome::kSuccess, now, 0.5);
    polls.emplace_back(next->key, std::chrono::duration_cast<milliseconds>(now - start).count());
  }
  return polls;
}

// Append (what discovery does per page) leaves the schedule as Update with every key would:
// same interval, same polls in the same order at the same times.
TEST(PollSchedulePriorityTest, AppendSchedulesAsAnUpdateWithEveryKey) {
  const RateLimitConfig limits{50, 500, 5000};
  const PollSchedule::Priority priority{true, seconds(2)};
  const TimePoint start{hours(1)};
  PollSchedule appended(start), updated(start);
  for (PollSchedule* schedule : {&appended, &updated}) {
    schedule->Update(Fleet(3), minutes(1), limits, start, priority);
    PollsOf(*schedule, start, 2);  // esim_id:1 and 2 polled, 3 still due
  }
  const TimePoint later = start + seconds(10);
  appended.Append({"esim_id:2", "esim_id:4", "esim_id:5"}, later, priority);  // 2: held
  updated.Update(Fleet(5), minutes(1), limits, later, priority);
  EXPECT_EQ(appended.size(), 5u);
  EXPECT_EQ(appended.interval(), updated.interval());
  EXPECT_EQ(PollsOf(appended, later, 12), PollsOf(updated, later, 12));
  EXPECT_THROW(appended.Append({"esim_id:6"}, later, {}), std::logic_error);
}

// Priority mode's interval follows the fleet: 40 eSIMs at one every 2 s need 80 s.
TEST(PollSchedulePriorityTest, AppendStretchesTheIntervalWithTheFleet) {
  const PollSchedule::Priority priority{true, seconds(2)};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(10), minutes(1), RateLimitConfig{50, 500, 5000}, start, priority);
  EXPECT_EQ(schedule.interval(), minutes(1));
  std::vector<std::string> keys;
  for (const EsimConfig& esim : Fleet(30, 10)) keys.push_back(esim.Key());
  schedule.Append(keys, start, priority);
  EXPECT_EQ(schedule.interval(), seconds(80));
}

TEST(PollSchedulePriorityTest, EsimsWithoutAnyDataComeFirst) {
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(3), minutes(15), RateLimitConfig{50, 500, 5000}, start, {true, seconds(1)});
  schedule.SetRank("esim_id:1", PollSchedule::kActive);
  schedule.SetRank("esim_id:2", PollSchedule::kActive);  // esim_id:3 keeps kNoData
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:3");
}

// Due eSIMs wait in priority order; a rank that changes while an eSIM waits moves it, and a
// reload or leaving priority mode puts every waiting eSIM back where it belongs.
TEST(PollSchedulePriorityTest, RankChangesOfWaitingEsimsAndReloadsKeepThePriorityOrder) {
  const RateLimitConfig limits{50, 500, 5000};
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(3), minutes(15), limits, start, {true, seconds(1)});
  for (const char* key : {"esim_id:1", "esim_id:2", "esim_id:3"}) {
    schedule.SetRank(key, PollSchedule::kOther);
  }
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:1");  // all due: config order
  schedule.SetRank("esim_id:3", PollSchedule::kActive);      // while waiting
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:3");
  schedule.SetRank("esim_id:3", PollSchedule::kOther);
  schedule.SetRank("esim_id:2", PollSchedule::kNoData);
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:2");

  // A reload that drops esim_id:2 and adds esim_id:4 (kNoData, due at once).
  std::vector<EsimConfig> reloaded = {Fleet(1)[0], Fleet(2, 2)[0], Fleet(2, 2)[1]};
  schedule.Update(reloaded, minutes(15), limits, start, {true, seconds(1)});
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:4");
  schedule.Started("esim_id:4", start);
  schedule.Finished("esim_id:4", PollSchedule::Outcome::kSuccess, start, 0.5);
  schedule.SetRank("esim_id:4", PollSchedule::kActive);  // polled: not due for 15 min
  EXPECT_EQ(schedule.Next(start)->esim.Key(), "esim_id:1");

  // Out of priority mode: plain due-time order, every eSIM still there exactly once.
  schedule.Update(reloaded, minutes(15), limits, start, {});
  std::vector<std::string> order;
  TimePoint now = start;
  while (order.size() < 3) {
    const auto next = schedule.Next(now);
    ASSERT_TRUE(next);
    now = std::max(now, next->at);
    order.push_back(next->esim.Key());
    schedule.Started(order.back(), now);
  }
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"esim_id:1", "esim_id:3", "esim_id:4"}));
  EXPECT_FALSE(schedule.Next(now));  // all in flight
}

TEST(PollSchedulePriorityTest, TheIntervalShowsWhatTheLiveBudgetAllows) {
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(Fleet(300), minutes(15), RateLimitConfig{30, 1000, 10000}, start,
                  {true, seconds(6)});
  EXPECT_EQ(schedule.interval(), seconds(1800));  // 300 eSIMs x 6 s
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

TEST(PollScheduleRestoreTest, RestoredEsimsContinueFromTheirLastPollNotAtOnce) {
  const TimePoint start{hours(100)};
  PollSchedule schedule(start);
  const auto fleet = Fleet(10);
  schedule.Update(fleet, minutes(15), RateLimitConfig{30, 500, 5000}, start);
  // All polled 5 minutes before the restart, one failing twice in a row.
  for (const EsimConfig& esim : fleet) {
    schedule.Restore(esim.Key(), start - minutes(5), esim.esim_id == 3 ? 2 : 0);
  }
  for (const EsimConfig& esim : fleet) ASSERT_TRUE(schedule.ProgressOf(esim.Key()));
  EXPECT_EQ(schedule.ProgressOf(fleet[2].Key())->failures, 2);
  // Nothing is due at the restart: the regular ones come at their slots at least half an
  // interval after their last poll; the failing one after its backoff (2 minutes, +-20 %).
  const auto next = schedule.Next(start);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->esim.Key(), fleet[2].Key());
  EXPECT_GE(next->at, start - minutes(5) + seconds(96));
  EXPECT_LE(next->at, start - minutes(5) + seconds(144));
  schedule.Started(fleet[2].Key(), next->at);
  const auto after = schedule.Next(start);
  ASSERT_TRUE(after);
  EXPECT_GE(after->at, start - minutes(5) + seconds(450));
}

TEST(PollScheduleRestoreTest, NeverPolledAndUnknownEsimsAreLeftAlone) {
  const TimePoint start{hours(100)};
  PollSchedule schedule(start);
  const auto fleet = Fleet(2);
  schedule.Update(fleet, minutes(15), RateLimitConfig{30, 500, 5000}, start);
  schedule.Restore("esim_id:999", start - minutes(1), 0);  // no longer configured
  schedule.Restore(fleet[0].Key(), start - minutes(1), 0);
  const auto next = schedule.Next(start);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->esim.Key(), fleet[1].Key());  // never polled: due at once
  EXPECT_EQ(next->at, start);
  ASSERT_TRUE(schedule.ProgressOf(fleet[1].Key()));
  EXPECT_FALSE(schedule.ProgressOf(fleet[1].Key())->last_start);
  EXPECT_FALSE(schedule.ProgressOf("esim_id:999"));
}

TEST(PollScheduleTest, PollSoonBringsOnePollForwardAtMostOncePerMinute) {
  const TimePoint t0{};
  PollSchedule schedule(t0);
  schedule.Update(Fleet(2), minutes(15), RateLimitConfig{}, t0);
  const std::string key = Fleet(2)[1].Key();
  // Unknown eSIMs and eSIMs already due now are left alone.
  EXPECT_FALSE(schedule.PollSoon("esim_id:999", t0));
  EXPECT_FALSE(schedule.PollSoon(key, t0));
  // Both polled once; the next regular polls are minutes away.
  for (int i = 0; i < 2; ++i) {
    const auto due = schedule.Next(t0);
    ASSERT_TRUE(due);
    schedule.Started(due->esim.Key(), t0);
    schedule.Finished(due->esim.Key(), PollSchedule::Outcome::kSuccess, t0, 0);
  }
  EXPECT_GT(schedule.Next(t0)->at, t0 + minutes(5));
  // An event 10 s after the poll: due 60 s after that poll, not sooner.
  EXPECT_TRUE(schedule.PollSoon(key, t0 + seconds(10)));
  auto due = schedule.Next(t0 + seconds(10));
  ASSERT_TRUE(due);
  EXPECT_EQ(due->esim.Key(), key);
  EXPECT_EQ(due->at, t0 + seconds(60));
  // A second event within the minute changes nothing.
  EXPECT_FALSE(schedule.PollSoon(key, t0 + seconds(30)));
  schedule.Started(key, t0 + seconds(60));
  EXPECT_FALSE(schedule.PollSoon(key, t0 + seconds(61)));  // in flight
  schedule.Finished(key, PollSchedule::Outcome::kSuccess, t0 + seconds(61), 0);
  // The next request is honoured 60 s after the last poll started.
  EXPECT_TRUE(schedule.PollSoon(key, t0 + seconds(100)));
  due = schedule.Next(t0 + seconds(100));
  EXPECT_EQ(due->esim.Key(), key);
  EXPECT_EQ(due->at, t0 + seconds(120));
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

// Keys are kept once, outside the entries: each one must still find its own entry.
TEST(PollScheduleKeysTest, EveryKeyOfALargeFleetFindsItsOwnEntry) {
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  const auto fleet = Fleet(2000);
  schedule.Update(fleet, minutes(15), RateLimitConfig{1000, 100000, 10000000}, start);
  // Never polled: all due at once, in config order.
  for (size_t i = 0; i < fleet.size(); ++i) {
    const auto next = schedule.Next(start);
    ASSERT_TRUE(next);
    ASSERT_EQ(next->key, fleet[i].Key());
    ASSERT_EQ(next->esim.esim_id, fleet[i].esim_id);
    schedule.Started(next->key, start + seconds(i));
    schedule.Finished(next->key,
                      i % 2 ? PollSchedule::Outcome::kFailure : PollSchedule::Outcome::kSuccess,
                      start + seconds(i), 0.5);
  }
  schedule.Started("esim_id:2001", start);  // unknown: ignored
  EXPECT_EQ(schedule.in_flight(), 0u);
  ASSERT_EQ(schedule.size(), fleet.size());
  for (size_t i = 0; i < fleet.size(); ++i) {
    const auto entry = schedule.ProgressOf(fleet[i].Key());
    ASSERT_TRUE(entry);
    ASSERT_EQ(entry->last_start, start + seconds(i));
    ASSERT_EQ(entry->failures, i % 2 ? 1 : 0);
  }
}

TEST(PollScheduleKeysTest, AKeyGivenTwiceIsScheduledOnceAtItsFirstPlace) {
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  schedule.Update(std::vector<std::string>{"esim_id:7", "esim_id:8", "esim_id:7"}, minutes(15),
                  RateLimitConfig{50, 500, 5000}, start);
  EXPECT_EQ(schedule.size(), 2u);
  EXPECT_EQ(schedule.Next(start)->key, "esim_id:7");
  schedule.Started("esim_id:7", start);
  EXPECT_EQ(schedule.Next(start)->key, "esim_id:8");
  schedule.Started("esim_id:8", start);
  EXPECT_FALSE(schedule.Next(start));
  EXPECT_TRUE(schedule.ProgressOf("esim_id:7")->last_start);
  EXPECT_TRUE(schedule.ProgressOf("esim_id:8")->last_start);
}

TEST(PollScheduleKeysTest, AReloadInAnotherOrderKeepsEachEsimsOwnHistory) {
  const TimePoint start{hours(1)};
  PollSchedule schedule(start);
  const RateLimitConfig limits{50, 500, 5000};
  schedule.Update(std::vector<std::string>{"esim_id:1", "esim_id:2", "esim_id:3"}, minutes(15),
                  limits, start);
  schedule.Started("esim_id:2", start);
  schedule.Finished("esim_id:2", PollSchedule::Outcome::kFailure, start, 0.5);
  schedule.Update(std::vector<std::string>{"esim_id:3", "esim_id:2", "esim_id:4"}, minutes(15),
                  limits, start + seconds(1));
  EXPECT_EQ(schedule.size(), 3u);
  ASSERT_TRUE(schedule.ProgressOf("esim_id:2"));
  EXPECT_EQ(schedule.ProgressOf("esim_id:2")->failures, 1);
  EXPECT_EQ(schedule.ProgressOf("esim_id:2")->last_start, start);
  ASSERT_TRUE(schedule.ProgressOf("esim_id:3"));
  EXPECT_FALSE(schedule.ProgressOf("esim_id:3")->last_start);
  EXPECT_FALSE(schedule.ProgressOf("esim_id:1"));
  // Never-polled ones first, in the new config order; the failing one after its backoff.
  EXPECT_EQ(schedule.Next(start + seconds(1))->key, "esim_id:3");
  schedule.Started("esim_id:3", start + seconds(1));
  EXPECT_EQ(schedule.Next(start + seconds(1))->key, "esim_id:4");
  schedule.Started("esim_id:4", start + seconds(1));
  const auto last = schedule.Next(start + seconds(1));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->key, "esim_id:2");
  EXPECT_GE(last->at, start + seconds(48));  // 60 s backoff, -20 % jitter at most
}

}  // namespace
}  // namespace esim
