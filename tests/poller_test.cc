#include "poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace esim {
namespace {

std::vector<EsimConfig> Fleet(size_t count) {
  std::vector<EsimConfig> esims(count);
  for (size_t i = 0; i < count; ++i) esims[i].esim_id = static_cast<int64_t>(i + 1);
  return esims;
}

ApiResult OkFor(const EsimConfig& esim) {
  ApiResult result;
  result.code = "OK";
  result.api_up = true;
  result.status = EsimStatus{};
  result.status->iccid = std::to_string(*esim.esim_id);
  result.status->status = "ACTIVE";
  return result;
}

// A generous budget so the tests run in milliseconds: 6,000/min is a 10 ms spacing.
constexpr RateLimitConfig kFastLimits{6000, 1000000, 10000000};

// A once-mode poller over `count` eSIMs on the fast budget, one request at a time.
struct OncePoller {
  explicit OncePoller(size_t count) : fleet(Fleet(count)) {
    settings.keys = KeysOf(fleet);
    settings.limits = kFastLimits;
    settings.max_concurrency = 1;
    store.SetEsims(fleet);
  }
  // Applies `settings` with a fetcher that answers OK and notes the order of the polls.
  void ReconfigureRecordingOrder() {
    poller.Reconfigure(settings, [this](const EsimConfig& esim) {
      std::lock_guard<std::mutex> lock(order_mutex);
      order.push_back(*esim.esim_id);
      return OkFor(esim);
    });
  }
  std::vector<int64_t> Order() {
    std::lock_guard<std::mutex> lock(order_mutex);
    return order;
  }
  StateStore store;
  RateBudget budget{kFastLimits};
  ApiMetrics metrics;
  Poller poller{store, budget, metrics, /*once=*/true};
  std::vector<EsimConfig> fleet;
  Poller::Settings settings;
  std::mutex order_mutex;
  std::vector<int64_t> order;  // guarded by order_mutex
};

TEST(PollerTest, OnceModePollsEveryEsimOnceWithBoundedConcurrency) {
  StateStore store;
  RateBudget budget(kFastLimits);
  ApiMetrics metrics;
  Poller poller(store, budget, metrics, /*once=*/true);
  std::atomic<int> in_flight{0}, max_in_flight{0}, calls{0};
  Poller::Settings settings;
  const std::vector<EsimConfig> fleet = Fleet(40);
  settings.keys = KeysOf(fleet);
  settings.limits = kFastLimits;
  settings.max_concurrency = 3;
  store.SetEsims(fleet);
  poller.Reconfigure(settings, [&](const EsimConfig& esim) {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --in_flight;
    ++calls;
    return OkFor(esim);
  });
  poller.Start();
  ASSERT_TRUE(poller.WaitUntilDone(std::chrono::seconds(30)));
  poller.Stop();
  EXPECT_EQ(calls.load(), 40);
  EXPECT_LE(max_in_flight.load(), 3);
  EXPECT_GE(max_in_flight.load(), 2);  // requests did overlap
  EXPECT_TRUE(store.AllPolled());
  const auto snapshot = store.Snapshot();
  for (const auto& record : snapshot->esims) EXPECT_TRUE(record->last_poll_ok);
}

// With sweeps on (priority mode), a page's re-rank decides which due eSIM is polled first.
TEST(PollerTest, RerankOrdersThePollsOfPriorityMode) {
  OncePoller rig(5);
  Poller& poller = rig.poller;
  rig.settings.priority = {true, std::chrono::milliseconds(10)};
  rig.ReconfigureRecordingOrder();
  // Sweeps told something about every eSIM but 5 (kNoData stays first); 3 is active.
  poller.Rerank({{"esim_id:1", PollSchedule::kOther},
                 {"esim_id:2", PollSchedule::kOther},
                 {"esim_id:3", PollSchedule::kActive},
                 {"esim_id:4", PollSchedule::kOther},
                 {"esim_id:99", PollSchedule::kActive}});  // not monitored: ignored
  poller.Start();
  ASSERT_TRUE(poller.WaitUntilDone(std::chrono::seconds(30)));
  poller.Stop();
  EXPECT_EQ(rig.Order(), (std::vector<int64_t>{5, 3, 1, 2, 4}));
}

// Discovery hands over the eSIMs a page added: they are polled, in their rank's order, after
// the ones already held; a key held already is not polled twice.
TEST(PollerTest, AddedEsimsArePolledInPriorityOrder) {
  OncePoller rig(2);
  Poller& poller = rig.poller;
  const PollSchedule::Priority priority{true, std::chrono::milliseconds(10)};
  rig.settings.priority = priority;
  rig.ReconfigureRecordingOrder();
  rig.store.SetEsims(Fleet(4));
  poller.AddEsims({{"esim_id:2", PollSchedule::kNoData},
                   {"esim_id:3", PollSchedule::kOther},
                   {"esim_id:4", PollSchedule::kActive}},
                  priority);
  poller.Start();
  ASSERT_TRUE(poller.WaitUntilDone(std::chrono::seconds(30)));
  poller.Stop();
  EXPECT_EQ(rig.Order(), (std::vector<int64_t>{1, 2, 4, 3}));
}

TEST(PollerTest, RateLimitedAnswerPausesEveryPoll) {
  OncePoller rig(5);
  Poller& poller = rig.poller;
  std::atomic<int> calls{0};
  poller.Reconfigure(rig.settings, [&](const EsimConfig& esim) {
    if (++calls == 1) {
      ApiResult limited;
      limited.code = "RATE_LIMIT_EXCEEDED";
      limited.api_up = true;
      // Retry-After far in the future (as Unix seconds): nothing may be sent meanwhile.
      limited.retry_after_time =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count() +
          3600;
      return limited;
    }
    return OkFor(esim);
  });
  poller.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(rig.budget.paused_until(std::chrono::steady_clock::now()).has_value());
  poller.Stop();
}

TEST(PollerTest, ExceptionsFromTheFetcherBecomeFailedPolls) {
  StateStore store;
  RateBudget budget(kFastLimits);
  ApiMetrics metrics;
  Poller poller(store, budget, metrics, /*once=*/true);
  Poller::Settings settings;
  const std::vector<EsimConfig> fleet = Fleet(2);
  settings.keys = KeysOf(fleet);
  settings.limits = kFastLimits;
  store.SetEsims(fleet);
  poller.Reconfigure(
      settings, [](const EsimConfig&) -> ApiResult { throw std::runtime_error("fetcher bug"); });
  poller.Start();
  ASSERT_TRUE(poller.WaitUntilDone(std::chrono::seconds(30)));
  poller.Stop();
  const auto snapshot = store.Snapshot();
  for (const auto& record : snapshot->esims) {
    EXPECT_TRUE(record->polled);
    EXPECT_FALSE(record->last_poll_ok);
    EXPECT_EQ(record->last_code, "INVALID_RESPONSE");
  }
}

TEST(PollerTest, StopReturnsWhileWorkersWaitForTheSchedule) {
  StateStore store;
  RateBudget budget(kFastLimits);
  ApiMetrics metrics;
  Poller poller(store, budget, metrics);
  Poller::Settings settings;
  const std::vector<EsimConfig> fleet = Fleet(3);
  settings.keys = KeysOf(fleet);
  settings.limits = kFastLimits;
  store.SetEsims(fleet);
  std::atomic<int> calls{0};
  poller.Reconfigure(settings, [&](const EsimConfig& esim) {
    ++calls;
    return OkFor(esim);
  });
  poller.Start();
  while (!store.AllPolled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  poller.Stop();  // workers now wait 15 minutes for the next slot: Stop must not
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace esim
