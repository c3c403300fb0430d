// The durable budget ledger (RateBudget::AttachLedger / RestoreLedger): a loop of crashes,
// simulated with a fake clock, never sends more than the limits allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "rate_budget.h"
#include "state_file.h"

namespace esim {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = RateBudget::TimePoint;

int MaxInAnyWindow(std::vector<TimePoint> sends, RateBudget::Clock::duration window) {
  std::sort(sends.begin(), sends.end());
  int worst = 0;
  size_t first = 0;
  for (size_t last = 0; last < sends.size(); ++last) {
    while (sends[first] + window <= sends[last]) ++first;
    worst = std::max(worst, static_cast<int>(last - first + 1));
  }
  return worst;
}

// Wall clock = steady seconds + this offset in the simulated processes.
constexpr double kWallMinusSteady = 1.7e9;

struct Disk {
  std::optional<std::string> ledger;  // the encoded file, as a crash leaves it
};

enum class End { kKilled, kCleanStop };

// One simulated process: restores the ledger, sends as fast as the budget allows, and after
// `lifetime` is killed (nothing in memory survives; the disk does) or stops cleanly.
std::vector<TimePoint> RunProcess(Disk& disk, const RateLimitConfig& limits, TimePoint start,
                                  RateBudget::Clock::duration lifetime, End end = End::kKilled) {
  RateBudget budget(limits);
  if (disk.ledger) {
    std::string error;
    const auto file = DecodeLedger(*disk.ledger, error);
    EXPECT_TRUE(file) << error;
    if (file) {
      RateBudget::Ledger ledger;
      ledger.sent = file->sent;
      ledger.reserved = file->reserved;
      ledger.paused_until = file->paused_until;
      ledger.backoff_seconds = file->backoff_seconds;
      budget.RestoreLedger(ledger, start);
    }
  }
  budget.AttachLedger(
      [&disk](const RateBudget::Ledger& ledger) {
        PersistedLedger file;
        file.sent = ledger.sent;
        file.reserved = ledger.reserved;
        file.paused_until = ledger.paused_until;
        file.backoff_seconds = ledger.backoff_seconds;
        disk.ledger = EncodeLedger(file);
        return true;
      },
      kWallMinusSteady);
  std::vector<TimePoint> sends;
  TimePoint now = start;
  while (now < start + lifetime) {
    if (budget.TryAcquire(now)) {
      sends.push_back(now);
    } else {
      now = std::min(budget.NextAllowed(now), start + lifetime);
    }
  }
  if (end == End::kCleanStop) {
    EXPECT_TRUE(budget.ReleaseReservation());
  }
  return sends;
}

TEST(RateBudgetLedgerTest, CrashLoopEveryFewSecondsStaysWithinEveryWindow) {
  const RateLimitConfig limits{10, 20, 100};
  Disk disk;
  std::vector<TimePoint> sends;
  TimePoint now{hours(1000)};
  std::mt19937 random(7);
  // Two hours of a crash loop: each process lives 1 to 5 s, restarts 1 s later.
  const TimePoint end = now + hours(2);
  int processes = 0;
  while (now < end) {
    const auto lifetime = milliseconds(1000 + random() % 4000);
    const auto sent = RunProcess(disk, limits, now, lifetime);
    sends.insert(sends.end(), sent.begin(), sent.end());
    now += lifetime + seconds(1);
    ++processes;
  }
  EXPECT_GT(processes, 1000);
  EXPECT_GT(sends.size(), 0u);
  EXPECT_LE(MaxInAnyWindow(sends, minutes(1)), limits.per_minute);
  EXPECT_LE(MaxInAnyWindow(sends, hours(1)), limits.per_hour);
  EXPECT_LE(MaxInAnyWindow(sends, hours(24)), limits.per_day);
}

TEST(RateBudgetLedgerTest, FiveKillsOnASmallHourlyBudget) {
  // The measurement: 5 restarts in 55 s on 20 requests/hour used to send 55.
  const RateLimitConfig limits{60, 20, 1000};
  Disk disk;
  std::vector<TimePoint> sends;
  TimePoint now{hours(10)};
  for (int i = 0; i < 6; ++i) {
    const auto sent = RunProcess(disk, limits, now, seconds(10));
    sends.insert(sends.end(), sent.begin(), sent.end());
    now += seconds(11);
  }
  EXPECT_LE(sends.size(), 20u);
  EXPECT_LE(MaxInAnyWindow(sends, hours(1)), 20);
}

TEST(RateBudgetLedgerTest, WithoutCrashesTheReservationCostsNothing) {
  const RateLimitConfig limits{30, 500, 5000};
  Disk disk;
  const auto sends = RunProcess(disk, limits, TimePoint{hours(5)}, minutes(10));
  // The per-minute pace: 30 a minute for 10 minutes.
  EXPECT_GE(sends.size(), 299u);
}

TEST(RateBudgetLedgerTest, CleanStopReleasesTheUnusedReservation) {
  // Blocks of 2, a send a second: 3 sends in 2.5 s reserve 4, one of them unused.
  const RateLimitConfig limits{60, 20, 1000};
  ASSERT_EQ(RateBudget::ReservationBlock(limits), 2);
  Disk disk;
  const TimePoint start{hours(10)};
  ASSERT_EQ(RunProcess(disk, limits, start, milliseconds(2500), End::kCleanStop).size(), 3u);
  std::string error;
  const auto file = DecodeLedger(*disk.ledger, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->reserved, 0);
  EXPECT_EQ(file->sent.size(), 3u);

  // The restart counts the 3 sends, not the 4 reserved.
  RateBudget restarted(limits);
  RateBudget::Ledger ledger;
  ledger.sent = file->sent;
  ledger.reserved = file->reserved;
  restarted.RestoreLedger(ledger, start + seconds(5));
  EXPECT_EQ(restarted.UsageAt(start + seconds(5)).hour, 3);
}

TEST(RateBudgetLedgerTest, CleanRestartsSpendTheWholeBudgetOnRealRequests) {
  // Each life sends 3 and leaves 1 reserved: without the release every restart would lose one
  // request of the 20 an hour (15 sent in all).
  const RateLimitConfig limits{60, 20, 1000};
  Disk disk;
  std::vector<TimePoint> sends;
  TimePoint now{hours(10)};
  for (int i = 0; i < 10; ++i) {
    const auto sent = RunProcess(disk, limits, now, milliseconds(2500), End::kCleanStop);
    sends.insert(sends.end(), sent.begin(), sent.end());
    now += seconds(3);
  }
  EXPECT_EQ(sends.size(), 20u);
  EXPECT_LE(MaxInAnyWindow(sends, hours(1)), 20);
}

TEST(RateBudgetLedgerTest, ReleaseWithoutALedgerDoesNothing) {
  RateBudget budget({30, 500, 5000});
  EXPECT_TRUE(budget.ReleaseReservation());
  EXPECT_TRUE(budget.TryAcquire(TimePoint{hours(1)}));
}

TEST(RateBudgetLedgerTest, LedgerIsWrittenBeforeTheFirstRequestOfEachBlock) {
  RateBudget budget({30, 500, 5000});
  std::vector<RateBudget::Ledger> writes;
  budget.AttachLedger(
      [&](const RateBudget::Ledger& ledger) {
        writes.push_back(ledger);
        return true;
      },
      kWallMinusSteady, 3);
  TimePoint now{hours(1)};
  ASSERT_TRUE(budget.TryAcquire(now));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].reserved, 3);
  EXPECT_TRUE(writes[0].sent.empty());
  now += seconds(2);
  ASSERT_TRUE(budget.TryAcquire(now));
  now += seconds(2);
  ASSERT_TRUE(budget.TryAcquire(now));
  EXPECT_EQ(writes.size(), 1u);
  now += seconds(2);
  ASSERT_TRUE(budget.TryAcquire(now));
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[1].sent.size(), 3u);
  EXPECT_EQ(writes[1].reserved, 3);
}

TEST(RateBudgetLedgerTest, RestoredUnusedReservationCountsAsSentAtRestart) {
  const RateLimitConfig limits{5, 100, 1000};
  RateBudget budget(limits);
  budget.AttachLedger([](const RateBudget::Ledger&) { return true; }, kWallMinusSteady);
  RateBudget::Ledger ledger;
  const TimePoint now{hours(3)};
  const double wall_now =
      std::chrono::duration<double>(now.time_since_epoch()).count() + kWallMinusSteady;
  ledger.sent = {wall_now - 30, wall_now - 20};
  ledger.reserved = 3;
  budget.RestoreLedger(ledger, now);
  const auto usage = budget.UsageAt(now);
  EXPECT_EQ(usage.minute, 5);
  EXPECT_FALSE(budget.TryAcquire(now + seconds(20)));
  // The window frees when the oldest restored send (30 s before the restart) leaves it.
  EXPECT_GE(budget.NextAllowed(now), now + seconds(29));
}

TEST(RateBudgetLedgerTest, RestoredPauseHolds) {
  RateBudget budget({30, 500, 5000});
  budget.AttachLedger([](const RateBudget::Ledger&) { return true; }, kWallMinusSteady);
  const TimePoint now{hours(3)};
  const double wall_now =
      std::chrono::duration<double>(now.time_since_epoch()).count() + kWallMinusSteady;
  RateBudget::Ledger ledger;
  ledger.paused_until = wall_now + 600;
  budget.RestoreLedger(ledger, now);
  ASSERT_TRUE(budget.paused_until(now));
  EXPECT_NEAR(std::chrono::duration<double>(*budget.paused_until(now) - now).count(), 600, 1);
  EXPECT_FALSE(budget.TryAcquire(now));
}

TEST(RateBudgetLedgerTest, OldSendsAndHugeReservationsAreBounded) {
  RateBudget budget({30, 500, 5000});
  const TimePoint now{hours(50)};
  const double wall_now = std::chrono::duration<double>(now.time_since_epoch()).count();
  RateBudget::Ledger ledger;
  ledger.sent = {wall_now - 90000, wall_now + 5000};  // a day old; "in the future"
  ledger.reserved = 2000000000;
  budget.RestoreLedger(ledger, now);
  EXPECT_EQ(budget.UsageAt(now).day, 100001);
}

TEST(RateBudgetLedgerTest, ReservationBlockFollowsTheSmallestWindow) {
  EXPECT_EQ(RateBudget::ReservationBlock({30, 500, 5000}), 3);
  EXPECT_EQ(RateBudget::ReservationBlock({5, 20, 100}), 1);
  EXPECT_EQ(RateBudget::ReservationBlock({600, 6000, 60000}), 60);
  EXPECT_EQ(RateBudget::ReservationBlock({1000000000, 1000000000, 1000000000}), 1000);
}

}  // namespace
}  // namespace esim
