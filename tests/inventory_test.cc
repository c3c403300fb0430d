#include "inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "log.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using nlohmann::json;

// How a list page spells its page count: as the list endpoint does, as a general page of the
// vendor's docs does, or not at all (derived from total and limit).
enum class Pagination { kTotalPages, kCamelCase, kTotalOnly };

// Serves GET /esims from an in-memory account, 100 a page, optionally failing one page, with
// `odd_entries` added to the first page of every listing.
class AccountTransport : public HttpTransport {
 public:
  explicit AccountTransport(int active, int fresh) {
    for (int i = 0; i < active + fresh; ++i) {
      json item = {{"id", 1000 + i},
                   {"iccid", "89000000000000" + std::to_string(10000 + i)},
                   {"package_name", "Plan"},
                   {"package_code", "plan"},
                   {"countries", {"Sweden"}},
                   {"status", i < active ? "ACTIVE" : "NEW"},
                   {"data",
                    {{"total_mb", 1024},
                     {"used_mb", i},
                     {"remaining_mb", 1024 - i},
                     {"usage_percentage", 0},
                     {"is_unlimited", false}}},
                   {"validity", {{"activated_at", nullptr}, {"expires_at", nullptr}}},
                   {"qr_code", "SECRET-QR"}};
      by_status_[i < active ? "ACTIVE" : "NEW"].push_back(item);
    }
  }
  HttpResponse Send(const HttpRequest& request) override {
    ++requests;
    HttpResponse response;
    response.status = 200;
    if (request.path == "/api/v1/business/balance") {
      response.body = R"({"success":true,"data":{"balance":12.5,"currency":"EUR"}})";
      return response;
    }
    if (request.path == "/api/v1/business/webhooks") {
      ++webhook_requests;
      std::lock_guard<std::mutex> lock(mutex_);
      response.status = webhooks_status_;
      response.body = webhooks_body_;
      return response;
    }
    // /api/v1/business/esims?page=P&limit=100&status=S
    const auto query = request.path.substr(request.path.find('?') + 1);
    const int page = std::stoi(query.substr(query.find("page=") + 5));
    const std::string status = query.substr(query.find("status=") + 7);
    if (page == fail_page) {
      response.status = 502;
      response.body = R"({"success":false,"message":"down","code":"PROVIDER_ERROR"})";
      return response;
    }
    const auto& all = by_status_[status];
    json esims = json::array();
    if (page == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const json& odd : odd_entries_) esims.push_back(odd);
    }
    for (size_t i = static_cast<size_t>(page - 1) * 100; i < all.size() && i < page * 100u; ++i) {
      esims.push_back(all[i]);
    }
    const int64_t total = static_cast<int64_t>(all.size());
    json pagination = {{"page", page}, {"limit", 100}, {"total", total}};
    const int64_t pages = std::max<int64_t>(1, (total + 99) / 100);
    if (pagination_ == Pagination::kTotalPages) pagination["total_pages"] = pages;
    if (pagination_ == Pagination::kCamelCase) pagination["totalPages"] = pages;
    response.body =
        json{{"success", true}, {"data", {{"esims", esims}, {"pagination", pagination}}}}.dump();
    return response;
  }
  void AddOddEntries(std::vector<json> entries) {
    std::lock_guard<std::mutex> lock(mutex_);
    odd_entries_ = std::move(entries);
  }
  void SetWebhooksAnswer(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    webhooks_status_ = status;
    webhooks_body_ = std::move(body);
  }
  std::atomic<int> requests{0};
  std::atomic<int> webhook_requests{0};
  std::atomic<int> fail_page{0};
  std::atomic<Pagination> pagination_{Pagination::kTotalPages};

 private:
  std::map<std::string, std::vector<json>> by_status_;
  std::mutex mutex_;
  std::vector<json> odd_entries_;  // guarded by mutex_
  int webhooks_status_ = 200;      // guarded by mutex_
  std::string webhooks_body_ =     // guarded by mutex_
      R"({"success":true,"data":{"webhook_url":"https://orders.example.com/hook",)"
      R"("events":["esim.provisioned"],"recent_deliveries":[{"id":"d1","status":"failed"}]}})";
};

struct Fixture {
  explicit Fixture(int active, int fresh)
      : transport(std::make_shared<AccountTransport>(active, fresh)),
        client(std::make_shared<ApiClient>("esf", Secret("sk"), transport,
                                           [] { return 1782500000.0; })),
        budget(RateLimitConfig{100000, 1000000, 10000000}),
        inventory(store, budget, metrics, [this](const std::optional<Inventory::PageChange>& page) {
          std::lock_guard<std::mutex> lock(changes_mutex);
          changes.push_back(page);
        }) {}
  // What on_esims_changed was called with, in order.
  std::vector<std::optional<Inventory::PageChange>> Changes() {
    std::lock_guard<std::mutex> lock(changes_mutex);
    return changes;
  }
  void Configure(bool discover, Shard shard = {}) {
    Inventory::Settings settings;
    settings.inventory.enabled = true;
    settings.inventory.discover = discover;
    settings.inventory.statuses = {"NEW", "ACTIVE"};
    settings.shard = shard;
    inventory.Reconfigure(settings, client);
  }
  std::shared_ptr<AccountTransport> transport;
  std::shared_ptr<ApiClient> client;
  StateStore store;
  RateBudget budget;
  ApiMetrics metrics;
  std::mutex changes_mutex;
  std::vector<std::optional<Inventory::PageChange>> changes;  // guarded by changes_mutex
  Inventory inventory;
};

TEST(InventoryTest, SweepsEveryPageOfEveryStatusAndDiscovers) {
  Fixture f(250, 30);
  f.store.SetEsims({}, true);
  f.Configure(/*discover=*/true);
  f.inventory.RunOnce();
  // NEW: 1 page, ACTIVE: 3 pages, balance: 1.
  EXPECT_EQ(f.transport->requests.load(), 5);
  EXPECT_EQ(f.inventory.last_sweep_pages(), 4u);
  const auto snapshot = f.store.Snapshot();
  EXPECT_EQ(snapshot->esims.size(), 280u);
  EXPECT_EQ(snapshot->account.esims_by_status.at("ACTIVE"), 250);
  EXPECT_EQ(snapshot->account.esims_by_status.at("NEW"), 30);
  EXPECT_GT(snapshot->account.inventory_last_success_time, 0);
  EXPECT_EQ(snapshot->account.balance->currency, "EUR");
  // Each page hands the poller the eSIMs it added (all it listed, here), in the store's order;
  // the complete sweep, the whole set.
  const auto changes = f.Changes();
  ASSERT_EQ(changes.size(), 5u);
  std::vector<size_t> page_sizes;
  std::vector<std::string> added;
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(changes[i]);
    EXPECT_EQ(changes[i]->added_keys, changes[i]->listed_keys);
    page_sizes.push_back(changes[i]->added_keys.size());
    added.insert(added.end(), changes[i]->added_keys.begin(), changes[i]->added_keys.end());
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{30, 100, 100, 50}));
  EXPECT_EQ(added, f.store.MonitoredKeys());
  EXPECT_FALSE(changes[4]);
  for (const auto& record : snapshot->esims) {
    ASSERT_TRUE(record->status);
    EXPECT_TRUE(record->discovered);
  }
}

TEST(InventoryTest, APartialSweepKeepsWhatItMergedAndReportsNoSuccess) {
  Fixture f(250, 0);
  f.store.SetEsims({}, true);
  f.Configure(/*discover=*/true);
  f.transport->fail_page = 2;
  f.inventory.RunOnce();
  auto snapshot = f.store.Snapshot();
  EXPECT_EQ(snapshot->esims.size(), 100u);  // page 1 of ACTIVE only (NEW is empty: 1 page ok)
  EXPECT_EQ(snapshot->account.inventory_last_success_time, 0);
  EXPECT_FALSE(f.inventory.last_sweep_pages().has_value());
  // The next turn, with the API healthy again, completes and keeps the earlier values.
  f.transport->fail_page = 0;
  f.inventory.RunOnce();
  snapshot = f.store.Snapshot();
  EXPECT_EQ(snapshot->esims.size(), 250u);
  EXPECT_GT(snapshot->account.inventory_last_success_time, 0);
}

TEST(InventoryTest, WithoutDiscoveryOnlyConfiguredEsimsAreUpdated) {
  Fixture f(120, 0);
  EsimConfig configured;
  configured.iccid = "8900000000000010005";
  f.store.SetEsims({configured});
  f.Configure(/*discover=*/false);
  f.inventory.RunOnce();
  const auto snapshot = f.store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 1u);
  ASSERT_TRUE(snapshot->esims[0]->status);
  EXPECT_EQ(snapshot->esims[0]->status->used_bytes, 5 * 1024.0 * 1024.0);
  EXPECT_EQ(snapshot->esims[0]->EsimId(), 1005);
  // Page 1 listed the configured eSIM: the poller re-ranks it alone. Page 2 listed none of the
  // monitored eSIMs: no call. The complete sweep: the whole set (its cost sets the spacing).
  const std::vector<std::optional<Inventory::PageChange>> expected = {
      Inventory::PageChange{{"iccid:8900000000000010005"}, {}}, std::nullopt};
  EXPECT_EQ(f.Changes(), expected);
}

// With the API failing at startup, a fleet found by discovery would stay unknown for a whole
// sweep interval; failed sweeps are retried sooner, backing off, and the first success ends it.
TEST(InventoryTest, AFailedSweepIsRetriedSoonerWithBackoff) {
  Fixture f(30, 0);
  f.store.SetEsims({}, true);
  Inventory::Settings settings;
  settings.inventory.enabled = true;
  settings.inventory.discover = true;
  settings.inventory.statuses = {"ACTIVE"};
  settings.inventory.interval = std::chrono::minutes(10);
  settings.balance.interval = std::chrono::milliseconds(0);
  settings.sweep_retry = std::chrono::milliseconds(200);
  f.transport->fail_page = 1;
  f.inventory.Reconfigure(settings, f.client);
  f.inventory.Start();
  // Attempts at about 0, 0.2, 0.6 and 1.4 s: four in 1.2 s at most, not a tight loop.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const int failing_attempts = f.transport->requests.load();
  EXPECT_GE(failing_attempts, 2);
  EXPECT_LE(failing_attempts, 4);
  EXPECT_TRUE(f.store.Snapshot()->esims.empty());
  f.transport->fail_page = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.store.Snapshot()->account.inventory_last_success_time == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(f.store.Snapshot()->account.inventory_last_success_time, 0);
  EXPECT_EQ(f.store.Snapshot()->esims.size(), 30u);
  // Healthy again: the next sweep is a whole interval away.
  const int after_success = f.transport->requests.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(f.transport->requests.load(), after_success);
  f.inventory.Stop();
}

TEST(InventoryTest, EveryRequestTakesFromTheSharedBudget) {
  Fixture f(250, 30);
  f.store.SetEsims({}, true);
  RateBudget day_of_five(RateLimitConfig{1000, 1000, 5});
  Inventory inventory(f.store, day_of_five, f.metrics, [](const auto&) {});
  Inventory::Settings settings;
  settings.inventory.enabled = true;
  settings.inventory.discover = true;
  settings.inventory.statuses = {"NEW", "ACTIVE"};
  inventory.Reconfigure(settings, f.client);
  inventory.RunOnce();
  EXPECT_EQ(f.transport->requests.load(), 5);  // 4 pages and the balance
  EXPECT_FALSE(day_of_five.TryAcquire(std::chrono::steady_clock::now()));
}

// Two replicas (--shard.total=2) over one account: each monitors its half, together all of it,
// and one alone reads the account's figures.
TEST(InventoryTest, TwoShardsSplitTheDiscoveredFleetAndOneReadsTheAccount) {
  std::set<std::string> seen;
  for (int index = 0; index < 2; ++index) {
    SCOPED_TRACE("shard " + std::to_string(index));
    Fixture f(250, 30);
    f.store.SetEsims({}, true);
    f.Configure(/*discover=*/true, Shard{index, 2});
    f.inventory.RunOnce();
    const auto snapshot = f.store.Snapshot();
    EXPECT_GT(snapshot->esims.size(), 100u);
    EXPECT_LT(snapshot->esims.size(), 180u);
    for (const auto& record : snapshot->esims) {
      EXPECT_TRUE(seen.insert(record->config.Key()).second) << record->config.Key();
    }
    // Every replica sweeps every page (its eSIMs are spread over all of them).
    EXPECT_EQ(f.inventory.last_sweep_pages(), 4u);
    EXPECT_GT(snapshot->account.inventory_last_success_time, 0);
    EXPECT_EQ(snapshot->account.esims_by_status.empty(), index != 0);
    EXPECT_EQ(snapshot->account.balance.has_value(), index == 0);
    EXPECT_EQ(f.transport->requests.load(), index == 0 ? 5 : 4) << "the balance read";
  }
  EXPECT_EQ(seen.size(), 280u);
}

json PendingOrder(int id) {
  return {{"id", id},
          {"iccid", nullptr},
          {"status", "NEW"},
          {"data", nullptr},
          {"validity", nullptr},
          {"is_pending", true},
          {"package_name", "Plan"}};
}

// An order still being provisioned and a broken entry sit on the first page of each listing:
// the pages still count, every real eSIM is merged, and the odd ones are counted by reason.
TEST(InventoryTest, PendingAndMalformedEntriesAreSkippedNeverFailingAPage) {
  Fixture f(150, 10);
  f.store.SetEsims({}, true);
  f.transport->AddOddEntries({PendingOrder(1),
                              PendingOrder(2),
                              {{"id", "not-a-number"}, {"iccid", "8900000000000099999"}}});
  f.Configure(/*discover=*/true);
  std::string log;
  Logger::Get().CaptureInto(&log);
  f.inventory.RunOnce();
  f.inventory.RunOnce();
  Logger::Get().CaptureInto(nullptr);
  const auto snapshot = f.store.Snapshot();
  EXPECT_EQ(snapshot->esims.size(), 160u);
  EXPECT_GT(snapshot->account.inventory_last_success_time, 0);
  // Two listings (NEW, ACTIVE) per sweep, two sweeps.
  EXPECT_EQ(snapshot->inventory.skipped_pending, 8);
  EXPECT_EQ(snapshot->inventory.skipped_malformed, 4);
  // The same malformed entries again: one warning, not one per sweep.
  size_t warnings = 0;
  for (size_t at = log.find("do not parse"); at != std::string::npos;
       at = log.find("do not parse", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_THAT(log, HasSubstr("esims[].id is missing"));
}

TEST(InventoryTest, ReadsThePageCountInEverySpelling) {
  for (const Pagination pagination :
       {Pagination::kTotalPages, Pagination::kCamelCase, Pagination::kTotalOnly}) {
    SCOPED_TRACE(static_cast<int>(pagination));
    Fixture f(250, 30);
    f.store.SetEsims({}, true);
    f.transport->pagination_ = pagination;
    f.Configure(/*discover=*/true);
    f.inventory.RunOnce();
    EXPECT_EQ(f.inventory.last_sweep_pages(), 4u);
    EXPECT_EQ(f.store.Snapshot()->esims.size(), 280u);
  }
}

// A buggy or hostile API that invents new ICCIDs on every page, and claims ever more pages.
class InventingTransport : public HttpTransport {
 public:
  HttpResponse Send(const HttpRequest& request) override {
    HttpResponse response;
    response.status = 200;
    const auto query = request.path.substr(request.path.find('?') + 1);
    const int page = std::stoi(query.substr(query.find("page=") + 5));
    json esims = json::array();
    for (int i = 0; i < 100; ++i) {
      const int64_t n = next_id++;
      esims.push_back({{"id", n},
                       {"iccid", "8999" + std::to_string(100000000000000 + n)},
                       {"status", "ACTIVE"},
                       {"data", {{"total_mb", 1024}, {"used_mb", 1}, {"is_unlimited", false}}},
                       {"validity", {{"activated_at", nullptr}, {"expires_at", nullptr}}}});
    }
    response.body = json{{"success", true},
                         {"data",
                          {{"esims", esims},
                           {"pagination", {{"page", page}, {"total", 3000}, {"total_pages", 30}}}}}}
                        .dump();
    return response;
  }
  std::atomic<int64_t> next_id{1};
};

TEST(InventoryTest, DiscoveryStopsAtItsLimitWhateverTheApiInvents) {
  auto transport = std::make_shared<InventingTransport>();
  auto client =
      std::make_shared<ApiClient>("esf", Secret("sk"), transport, [] { return 1782500000.0; });
  StateStore store;
  store.SetEsims({}, true);
  RateBudget budget(RateLimitConfig{100000, 1000000, 10000000});
  ApiMetrics metrics;
  Inventory inventory(store, budget, metrics, [](const auto&) {});
  Inventory::Settings settings;
  settings.inventory.enabled = true;
  settings.inventory.discover = true;
  settings.inventory.statuses = {"ACTIVE"};
  settings.inventory.max_discovered = 250;
  settings.balance.interval = std::chrono::milliseconds(0);
  inventory.Reconfigure(settings, client);
  EXPECT_EQ(store.Snapshot()->inventory.discovery_limit, 250);
  std::string log;
  Logger::Get().CaptureInto(&log);
  for (int sweep = 0; sweep < 3; ++sweep) {
    inventory.RunOnce();
    const auto snapshot = store.Snapshot();
    EXPECT_EQ(snapshot->esims.size(), 250u);
    // The first sweep added 250 of its 3,000; every later one adds none of its 3,000 new ones.
    EXPECT_EQ(snapshot->inventory.discovery_over_limit, sweep == 0 ? 2750 : 3000);
  }
  Logger::Get().CaptureInto(nullptr);
  EXPECT_EQ(transport->next_id.load(), 9001);
  const size_t first = log.find("discovery limit reached");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_THAT(log.substr(first + 1), Not(HasSubstr("discovery limit reached"))) << "warned once";
  EXPECT_THAT(log, HasSubstr("max_discovered=250"));
  // Discovery switched off: no limit to export.
  settings.inventory.discover = false;
  inventory.Reconfigure(settings, client);
  EXPECT_FALSE(store.Snapshot()->inventory.discovery_limit.has_value());
}

// Subscription reads only, every `interval`, on the replica `shard`.
Inventory::Settings SubscriptionReadsOnly(std::chrono::milliseconds interval, Shard shard = {}) {
  Inventory::Settings settings;
  settings.inventory.enabled = false;
  settings.balance.interval = std::chrono::milliseconds(0);
  settings.webhook_check_interval = interval;
  settings.webhook_public_url = "https://esim.example.com/webhook";
  settings.shard = shard;
  return settings;
}

bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST(InventoryTest, ReadsTheWebhookSubscriptionEveryCheckInterval) {
  Fixture f(0, 0);
  f.inventory.Reconfigure(SubscriptionReadsOnly(std::chrono::milliseconds(400)), f.client);
  f.inventory.Start();
  ASSERT_TRUE(
      WaitUntil([&] { return f.store.Snapshot()->webhooks.subscription.last_ok.has_value(); }));
  const SubscriptionReads reads = f.store.Snapshot()->webhooks.subscription;
  EXPECT_EQ(reads.last_ok, true);
  EXPECT_GT(reads.last_success_time, 0);
  ASSERT_TRUE(reads.health);
  EXPECT_EQ(reads.health->url, "https://orders.example.com/hook");
  EXPECT_EQ(reads.health->failed, 1);
  EXPECT_EQ(reads.health->events.at("esim.provisioned"), true);
  // Then once per interval, not more.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_GE(f.transport->webhook_requests.load(), 2);
  EXPECT_LE(f.transport->webhook_requests.load(), 4);
  // A failed read says so and keeps what the previous one said.
  f.transport->SetWebhooksAnswer(502, "<html>bad gateway</html>");
  ASSERT_TRUE(
      WaitUntil([&] { return f.store.Snapshot()->webhooks.subscription.last_ok == false; }));
  EXPECT_EQ(f.store.Snapshot()->webhooks.subscription.health, reads.health);
  f.inventory.Stop();
  EXPECT_EQ(f.transport->requests.load(), f.transport->webhook_requests.load());
}

TEST(InventoryTest, OnlyTheAccountReplicaReadsTheSubscriptionAndZeroTurnsItOff) {
  for (const auto& [shard, interval] : {std::pair{Shard{1, 2}, std::chrono::milliseconds(50)},
                                        std::pair{Shard{}, std::chrono::milliseconds(0)}}) {
    Fixture f(0, 0);
    f.inventory.Reconfigure(SubscriptionReadsOnly(interval, shard), f.client);
    f.inventory.Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    f.inventory.Stop();
    EXPECT_EQ(f.transport->webhook_requests.load(), 0);
    EXPECT_FALSE(f.store.Snapshot()->webhooks.subscription.last_ok);
    EXPECT_EQ(f.inventory.NextDueAt(1000).webhook, 0);
  }
}

TEST(InventoryTest, SubscriptionReadKeepsItsRhythmAcrossARestart) {
  Fixture f(0, 0);
  f.inventory.Reconfigure(SubscriptionReadsOnly(std::chrono::hours(1)), f.client);
  const double wall_now = 1782500000;
  // Newly configured: due now.
  EXPECT_NEAR(f.inventory.NextDueAt(wall_now).webhook, wall_now, 1);
  // Restored: due when the earlier run planned it, never beyond one interval from now.
  f.inventory.RestoreNextDue({0, 0, wall_now + 1800}, wall_now);
  EXPECT_NEAR(f.inventory.NextDueAt(wall_now).webhook, wall_now + 1800, 1);
  f.inventory.RestoreNextDue({0, 0, wall_now + 86400}, wall_now);
  EXPECT_NEAR(f.inventory.NextDueAt(wall_now).webhook, wall_now + 3600, 1);
  f.inventory.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  f.inventory.Stop();
  EXPECT_EQ(f.transport->webhook_requests.load(), 0);  // nothing re-read at the restart
}

}  // namespace
}  // namespace esim
