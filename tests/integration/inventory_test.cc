// Whole fleets through the bulk list: the real exporter binary against the fake API's list and
// balance endpoints (esimfly-inventory-api.md), as a new user with a few hundred eSIMs would run
// it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

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
  EXPECT_NE(text.find("esim_package_info{iccid=\""), std::string::npos);

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
  EXPECT_EQ(text.find("SECRET"), std::string::npos);
  EXPECT_EQ(landing->body.find("SECRET"), std::string::npos);
  EXPECT_EQ(exporter.Terminate(), 0);
  EXPECT_EQ(exporter.Stderr().find("SECRET"), std::string::npos);
  EXPECT_EQ(exporter.Stderr().find(kSecret), std::string::npos);
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

}  // namespace
}  // namespace esim_test
