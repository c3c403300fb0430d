// Whole fleets through the bulk list: the real exporter binary against the fake API's list and
// balance endpoints (docs/esimfly-api.md), as a new user with a few hundred eSIMs would run
// it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::seconds;

constexpr char kSecret[] = "sk_inventory_secret_0123456789";
constexpr char kAccessCode[] = "esf_inventory_access";

std::string Config(const TempDir& dir, const std::string& url, const std::string& esims,
                   const std::string& inventory) {
  dir.Write("secret_key", std::string(kSecret) + "\n");
  return dir.Write("config.yml", "api:\n  url: " + url + "\n  access_code: " + kAccessCode +
                                     "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                                     "  rate_limit:\n    per_minute: 30\n    per_hour: 1000\n"
                                     "    per_day: 10000\npoll:\n  interval: 15m\n" +
                                     inventory + "esims:" + esims);
}

TEST(InventoryIntegrationTest, AFleetOfThreeHundredIsFullyVisibleWithinAMinuteOnThirtyPerMinute) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  const auto fleet = fake_esimfly::GenerateFleet(300);
  FakeEsimflyApi api(options, fleet);
  api.Start();
  TempDir dir;
  const std::string config =
      Config(dir, api.BaseUrl(), " []\n",
             "inventory:\n  enabled: true\n  interval: 10m\n  discover: true\n");
  const auto started = std::chrono::steady_clock::now();
  ExporterProcess exporter({"--config.file=" + config, "--log.level=debug"});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  // Ready once every eSIM has been observed; the account's eSIMs are found by the sweep, and the
  // balance is read right after it.
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const auto ready = exporter.Get("/-/ready");
        const Samples m = exporter.Scrape();
        return ready && ready->status == 200 && m.count("esim_monitored_esims") &&
               m.at("esim_monitored_esims") == 300 &&
               m.count("esim_account_balance{currency=\"USD\"}");
      },
      seconds(60)))
      << exporter.Stderr();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("300 eSIMs and the balance fully visible after %.1f s\n", took);

  const std::string text = exporter.ScrapeText();
  const Samples m = ParseExposition(text);
  auto at = [&m](const std::string& key) {
    const auto it = m.find(key);
    if (it == m.end()) {
      ADD_FAILURE() << "no series " << key;
      return -1.0;
    }
    return it->second;
  };
  size_t unlimited = 0;
  for (const auto& esim : fleet) {
    const std::string labels = "{iccid=\"" + esim.iccid + "\",name=\"\"}";
    const auto& usage = esim.status_data["data_usage"];
    const double used_gb = usage["used_gb"].get<double>();
    // Listed (MB, rounded by the vendor) or live (GB): both are exported as binary bytes.
    const double listed = std::round(used_gb * 1024) * 1024 * 1024;
    const double live = used_gb * 1024 * 1024 * 1024;
    ASSERT_TRUE(m.count("esim_data_used_bytes" + labels)) << esim.iccid;
    const double exported = at("esim_data_used_bytes" + labels);
    EXPECT_TRUE(exported == listed || exported == live) << esim.iccid << " " << exported;
    const std::string status = esim.status_data["status"].get<std::string>();
    EXPECT_EQ(at("esim_status{iccid=\"" + esim.iccid + "\",name=\"\",status=\"" + status + "\"}"),
              1);
    if (usage["total_gb"].is_null()) {
      ++unlimited;
      EXPECT_FALSE(m.count("esim_data_total_bytes" + labels)) << "unlimited " << esim.iccid;
      EXPECT_EQ(at("esim_unlimited" + labels), 1);
    } else {
      EXPECT_EQ(at("esim_data_total_bytes" + labels),
                usage["total_gb"].get<double>() * 1024 * 1024 * 1024);
    }
    if (!esim.status_data["expiry_date"].is_null()) {
      EXPECT_TRUE(m.count("esim_expiry_timestamp_seconds" + labels)) << esim.iccid;
    }
  }
  EXPECT_GT(unlimited, 0u);
  double account_total = 0;
  for (const char* status : {"NEW", "ACTIVE", "DEPLETED", "EXPIRED"}) {
    account_total += at(std::string("esim_account_esims{status=\"") + status + "\"}");
  }
  EXPECT_EQ(account_total, 300);
  EXPECT_EQ(at("esim_account_balance{currency=\"USD\"}"), 1500);
  EXPECT_GT(at("esim_inventory_last_success_timestamp_seconds"), 0);
  EXPECT_THAT(text, HasSubstr("esim_package_info{iccid=\""));

  // The request budget (30 a minute) held, counting every request the API saw.
  std::vector<std::chrono::steady_clock::time_point> times;
  for (const auto& record : api.Requests()) times.push_back(record.at);
  size_t first = 0, worst = 0;
  for (size_t last = 0; last < times.size(); ++last) {
    while (times[first] + seconds(60) <= times[last]) ++first;
    worst = std::max(worst, last - first + 1);
  }
  EXPECT_LE(worst, 30u);
  std::printf("%zu requests, at most %zu in any 60 s\n", times.size(), worst);

  // The installation secrets of the listing appear nowhere.
  const auto landing = exporter.Get("/");
  ASSERT_TRUE(landing);
  EXPECT_THAT(text, Not(HasSubstr("SECRET")));
  EXPECT_THAT(landing->body, Not(HasSubstr("SECRET")));
  EXPECT_EQ(exporter.Terminate(), 0);
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr("SECRET")));
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr(kSecret)));
}

TEST(InventoryIntegrationTest, ConfiguredEsimsGetNamesAndOthersAreNotMonitoredWithoutDiscovery) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  const std::string config = Config(
      dir, api.BaseUrl(),
      std::string("\n  - iccid: \"") + fake_esimfly::kDepletedIccid + "\"\n    name: tracker\n",
      "inventory:\n  enabled: true\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const Samples m = exporter.Scrape();
        return m.count("esim_inventory_last_success_timestamp_seconds") &&
               m.at("esim_inventory_last_success_timestamp_seconds") > 0;
      },
      seconds(30)));
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_monitored_esims"), 1);
  EXPECT_EQ(m.at(std::string("esim_status{iccid=\"") + fake_esimfly::kDepletedIccid +
                 "\",name=\"tracker\",status=\"DEPLETED\"}"),
            1);
  // The whole account is counted even though one eSIM is monitored.
  double account_total = 0;
  for (const auto& [key, value] : m) {
    if (key.rfind("esim_account_esims{", 0) == 0) account_total += value;
  }
  EXPECT_GE(account_total, 8);
}

// The default fleet holds eSIMs in every documented status and two orders still being
// provisioned (is_pending, no ICCID, data or validity), and this API spells the page count
// totalPages: every complete eSIM is monitored, the orders are skipped and counted, and a live
// poll that keeps failing stays visible beside the sweeps that list the eSIM.
TEST(InventoryIntegrationTest, PendingOrdersAndEveryStatusThroughOneSweep) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  options.list_total_pages_key = "totalPages";
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  const std::string config =
      Config(dir, api.BaseUrl(), " []\n",
             "inventory:\n  enabled: true\n  interval: 10m\n  discover: true\n"
             "  statuses: [all]\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const std::string provider_error =
      std::string("{iccid=\"") + fake_esimfly::kProviderErrorIccid + "\",name=\"\",";
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const Samples m = exporter.Scrape();
        return m.count("esim_inventory_last_success_timestamp_seconds") &&
               m.at("esim_inventory_last_success_timestamp_seconds") > 0 &&
               m.count("esim_poll_success" + provider_error + "source=\"live\"}");
      },
      seconds(60)))
      << exporter.Stderr();
  const std::string text = exporter.ScrapeText();
  const Samples m = ParseExposition(text);
  // 15 on the account: 13 eSIMs (one of another account, not listed) and 2 pending orders.
  EXPECT_EQ(m.at("esim_monitored_esims"), 12);
  EXPECT_EQ(m.at("esim_account_esims{status=\"all\"}"), 14);
  EXPECT_GE(m.at("esim_inventory_skipped_entries_total{reason=\"pending\"}"), 2);
  EXPECT_EQ(m.at("esim_inventory_skipped_entries_total{reason=\"malformed\"}"), 0);
  EXPECT_THAT(text, Not(HasSubstr("esim_info{iccid=\"\""))) << "no series for an order";
  for (const auto& [iccid, status] : std::vector<std::pair<std::string, std::string>>{
           {fake_esimfly::kCancelledIccid, "CANCELLED"},
           {fake_esimfly::kDeletedIccid, "DELETED"},
           {fake_esimfly::kRetiredIccid, "EXPIRED"},
           {fake_esimfly::kNewIccid, "NEW"},
           {fake_esimfly::kDepletedIccid, "DEPLETED"},
           {fake_esimfly::kHealthy5gIccid, "ACTIVE"}}) {
    const std::string series = "esim_status{iccid=\"" + iccid + "\",name=\"\",status=\"";
    EXPECT_EQ(m.count(series + status + "\"}") ? m.at(series + status + "\"}") : -1, 1) << iccid;
    double states = 0;
    for (const char* state : {"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"}) {
      ASSERT_TRUE(m.count(series + state + "\"}")) << iccid << " " << state;
      states += m.at(series + state + "\"}");
    }
    EXPECT_EQ(states, 1) << iccid;
  }
  // The sweeps list the PROVIDER_ERROR eSIM, its live polls fail: both are visible.
  EXPECT_EQ(m.at("esim_poll_success" + provider_error + "source=\"live\"}"), 0);
  EXPECT_EQ(m.at("esim_poll_success" + provider_error + "source=\"list\"}"), 1);
  EXPECT_FALSE(
      m.count("esim_last_poll_success_timestamp_seconds" + provider_error + "source=\"live\"}"));
  EXPECT_GT(m.at("esim_last_poll_success_timestamp_seconds" + provider_error + "source=\"list\"}"),
            0);
  EXPECT_EQ(exporter.Terminate(), 0);
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr("SECRET")));
}

// One list entry that does not parse (a wrong-typed field) costs that entry only: the sweep
// completes, every other eSIM on the page is merged and discovered, and the entry is counted as
// malformed and named in the log.
TEST(InventoryIntegrationTest, OneMalformedEntryIsSkippedAndCountedTheOthersMerged) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  options.list_malformed_iccid = fake_esimfly::kNewIccid;
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  const std::string config =
      Config(dir, api.BaseUrl(), " []\n",
             "inventory:\n  enabled: true\n  interval: 10m\n  discover: true\n"
             "  statuses: [all]\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const Samples m = exporter.Scrape();
        return m.count("esim_inventory_last_success_timestamp_seconds") &&
               m.at("esim_inventory_last_success_timestamp_seconds") > 0;
      },
      seconds(60)))
      << exporter.Stderr();
  const std::string text = exporter.ScrapeText();
  const Samples m = ParseExposition(text);
  // One sweep (every 10m): exactly the one bad entry; the 2 pending orders are not malformed.
  EXPECT_EQ(m.at("esim_inventory_skipped_entries_total{reason=\"malformed\"}"), 1);
  EXPECT_GE(m.at("esim_inventory_skipped_entries_total{reason=\"pending\"}"), 2);
  // The 12 listed eSIMs of the pending-orders test but the malformed one.
  EXPECT_EQ(m.at("esim_monitored_esims"), 11);
  EXPECT_THAT(text, Not(HasSubstr(std::string("iccid=\"") + fake_esimfly::kNewIccid)));
  for (const char* iccid : {fake_esimfly::kDepletedIccid, fake_esimfly::kCancelledIccid,
                            fake_esimfly::kHealthy5gIccid}) {
    EXPECT_EQ(
        m.at(std::string("esim_poll_success{iccid=\"") + iccid + "\",name=\"\",source=\"list\"}"),
        1)
        << iccid;
  }
  EXPECT_EQ(exporter.Terminate(), 0);
  EXPECT_THAT(exporter.Stderr(), HasSubstr("list entries that do not parse were skipped"));
  EXPECT_THAT(exporter.Stderr(), HasSubstr("used_mb is not a number"));
}

// A buggy or hostile API that lists new eSIMs on every page, without end: discovery stops at
// inventory.max_discovered, says so once, and exports how many it left out.
TEST(InventoryIntegrationTest, DiscoveryStaysWithinItsLimitWhatEverTheApiInvents) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  options.list_invents_esims = true;
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  dir.Write("secret_key", std::string(kSecret) + "\n");
  const std::string config = dir.Write(
      "config.yml", "api:\n  url: " + api.BaseUrl() + "\n  access_code: " + kAccessCode +
                        "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                        "  rate_limit:\n    per_minute: 600\n    per_hour: 100000\n"
                        "    per_day: 1000000\n"
                        "inventory:\n  enabled: true\n  discover: true\n  statuses: [ACTIVE]\n"
                        "  max_discovered: 150\nesims: []\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  // Ten pages of 100 invented eSIMs, and more to come.
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const Samples m = exporter.Scrape();
        return m.count("esim_discovery_over_limit_esims") &&
               m.at("esim_discovery_over_limit_esims") >= 850;
      },
      seconds(60)))
      << exporter.Stderr();
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_monitored_esims"), 150);
  EXPECT_EQ(m.at("esim_discovery_limit"), 150);
  const std::string log = exporter.Stderr();
  const size_t warned = log.find("discovery limit reached");
  ASSERT_NE(warned, std::string::npos) << log;
  EXPECT_THAT(log.substr(warned + 1), Not(HasSubstr("discovery limit reached"))) << "once";
  EXPECT_THAT(log, HasSubstr("max_discovered=150")) << log;
  EXPECT_EQ(exporter.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
