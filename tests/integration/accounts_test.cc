// Several accounts (API keys) in one exporter: the real binary against two fake eSIMfly APIs,
// one per key, so that one account's trouble can be shown not to touch the other.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "fake_esimfly_api.h"
#include "fleet.h"
#include "harness.h"
#include "temp_dir.h"
#include "webhook_sender.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::seconds;

constexpr char kAcmeCode[] = "esf_acme_access";
constexpr char kAcmeSecret[] = "sk_acme_secret_0123456789abcdef";
constexpr char kGlobexCode[] = "esf_globex_access";
constexpr char kGlobexSecret[] = "sk_globex_secret_0123456789abcde";
constexpr char kAcmeHookSecret[] = "whsec_acme_0123456789abcdef";
constexpr char kGlobexHookSecret[] = "whsec_globex_0123456789abcdef";

std::unique_ptr<FakeEsimflyApi> StartApi(const std::string& code, const std::string& secret) {
  fake_esimfly::Options options;
  options.access_code = code;
  options.secret_key = secret;
  auto api = std::make_unique<FakeEsimflyApi>(options);
  api->Start();
  return api;
}

// One account block of the config; `esims` are ICCIDs the account's fake API serves.
std::string Account(const std::string& name, const FakeEsimflyApi& api, const std::string& code,
                    const std::vector<std::string>& esims, const std::string& extra = "",
                    const std::string& balance = "{interval: 0s}") {
  std::string yaml = "  - name: " + name + "\n    api:\n      url: " + api.BaseUrl() +
                     "\n      access_code: " + code + "\n      secret_key_file: " + name +
                     "_secret\n      timeout: 5s\n      rate_limit: {per_minute: 600, "
                     "per_hour: 100000, per_day: 1000000}\n    balance: " +
                     balance + "\n" + extra + "    esims:\n";
  for (const std::string& iccid : esims) yaml += "      - iccid: \"" + iccid + "\"\n";
  return yaml;
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_ = StartApi(kAcmeCode, kAcmeSecret);
    globex_ = StartApi(kGlobexCode, kGlobexSecret);
    dir_.Write("acme_secret", std::string(kAcmeSecret) + "\n");
    dir_.Write("globex_secret", std::string(kGlobexSecret) + "\n");
  }

  std::string WriteConfig(const std::string& accounts) {
    return dir_.Write("config.yml", "poll:\n  interval: 60s\naccounts:\n" + accounts);
  }

  std::string AcmeBlock(const std::string& extra = "") {
    return Account("acme", *acme_, kAcmeCode,
                   {fake_esimfly::kSpecExampleIccid, fake_esimfly::kDepletedIccid}, extra);
  }
  std::string GlobexBlock(const std::string& extra = "") {
    return Account("globex", *globex_, kGlobexCode, {fake_esimfly::kHealthy5gIccid}, extra);
  }

  static std::string Used(const std::string& account, const std::string& iccid) {
    return "esim_data_used_bytes{account=\"" + account + "\",iccid=\"" + iccid + "\",name=\"\"}";
  }

  std::unique_ptr<FakeEsimflyApi> acme_, globex_;
  TempDir dir_;
};

TEST_F(AccountsTest, OneAccountsRefusedKeyLeavesTheOtherWorking) {
  // globex's secret on disk is not the one its API expects.
  dir_.Write("globex_secret", "sk_not_what_the_api_expects_000000\n");
  const std::string config = WriteConfig(AcmeBlock() + GlobexBlock());
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] { return exporter.Scrape().count("esim_api_credentials_refused{account=\"globex\"}"); },
      seconds(10)));
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_up{account=\"acme\"}"), 1);
  EXPECT_EQ(m.at("esim_api_credentials_refused{account=\"acme\"}"), 0);
  EXPECT_EQ(m.at("esim_up{account=\"globex\"}"), 0);
  EXPECT_EQ(m.at("esim_api_credentials_refused{account=\"globex\"}"), 1);
  EXPECT_EQ(m.at("esim_poll_success{account=\"acme\",iccid=\"" +
                 std::string(fake_esimfly::kSpecExampleIccid) + "\",name=\"\",source=\"live\"}"),
            1);
  EXPECT_TRUE(m.count(Used("acme", fake_esimfly::kSpecExampleIccid)));
  EXPECT_FALSE(m.count(Used("globex", fake_esimfly::kHealthy5gIccid)));
  EXPECT_EQ(m.at("esim_monitored_esims{account=\"acme\"}"), 2);
  EXPECT_EQ(m.at("esim_monitored_esims{account=\"globex\"}"), 1);
  EXPECT_EQ(m.at("esim_api_requests_total{account=\"globex\",code=\"INVALID_SIGNATURE\"}"), 1);
  EXPECT_FALSE(m.count("esim_up"));                          // no unnamed account here
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 1);  // shared: no account label
  // The refusal is logged for globex, with what to check, and never the secret.
  const std::string log = exporter.Stderr();
  EXPECT_THAT(log, HasSubstr("account=globex"));
  EXPECT_THAT(log, HasSubstr("check api.secret_key"));
  EXPECT_THAT(log, Not(HasSubstr(kGlobexSecret)));
  EXPECT_THAT(log, Not(HasSubstr(kAcmeSecret)));
  // acme's API never saw globex's key, and the reverse.
  for (const auto& request : acme_->Requests()) EXPECT_EQ(request.access_code, kAcmeCode);
  EXPECT_EQ(exporter.Terminate(), 0);
}

// Each account's balance is in its own currency, so each has its own low-balance threshold:
// balance.low, else alerts.balance_low; none where the balance is not read.
TEST_F(AccountsTest, EachAccountExportsItsOwnLowBalanceThreshold) {
  fake_esimfly::Options iqd;
  iqd.access_code = kGlobexCode;
  iqd.secret_key = kGlobexSecret;
  iqd.currency = "IQD";
  iqd.balance = 50000;
  globex_ = std::make_unique<FakeEsimflyApi>(iqd);
  globex_->Start();
  const std::string initech =
      Account("initech", *acme_, kAcmeCode, {fake_esimfly::kHealthy5gIccid}, "", "{interval: 1h}");
  const std::string config = dir_.Write(
      "config.yml", "poll:\n  interval: 60s\nalerts:\n  balance_low: 25\naccounts:\n" +
                        Account("acme", *acme_, kAcmeCode, {fake_esimfly::kSpecExampleIccid}, "",
                                "{interval: 1h, low: 0}") +
                        Account("globex", *globex_, kGlobexCode, {fake_esimfly::kDepletedIccid}, "",
                                "{interval: 1h, low: 65000}") +
                        initech + Account("hooli", *acme_, kAcmeCode, {fake_esimfly::kNewIccid}));
  dir_.Write("initech_secret", std::string(kAcmeSecret) + "\n");
  dir_.Write("hooli_secret", std::string(kAcmeSecret) + "\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        return exporter.Scrape().count("esim_account_balance{account=\"globex\",currency=\"IQD\"}");
      },
      seconds(10)))
      << exporter.Stderr();
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_account_balance{account=\"globex\",currency=\"IQD\"}"), 50000);
  EXPECT_EQ(m.at("esim_account_balance_low_threshold{account=\"acme\"}"), 0);  // its alert off
  EXPECT_EQ(m.at("esim_account_balance_low_threshold{account=\"globex\"}"), 65000);
  EXPECT_EQ(m.at("esim_account_balance_low_threshold{account=\"initech\"}"), 25);  // the default
  EXPECT_FALSE(m.count("esim_account_balance_low_threshold{account=\"hooli\"}"));  // no reads
  EXPECT_EQ(m.at("esim_alert_threshold_default{threshold=\"balance_low\"}"), 25);
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST_F(AccountsTest, ReloadAddsRemovesAndKeepsTheUnchangedAccountsState) {
  const std::string config = WriteConfig(AcmeBlock() + GlobexBlock());
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const double acme_used = exporter.Scrape().at(Used("acme", fake_esimfly::kSpecExampleIccid));
  const size_t acme_requests = acme_->RequestCount();

  // globex goes, initech comes (on globex's API, with another eSIM); acme stays as it was.
  const std::string initech =
      Account("initech", *globex_, kGlobexCode, {fake_esimfly::kExpiredIccid});
  dir_.Write("initech_secret", std::string(kGlobexSecret) + "\n");
  WriteConfig(AcmeBlock() + initech);
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] { return exporter.Scrape().count(Used("initech", fake_esimfly::kExpiredIccid)) > 0; },
      seconds(20)))
      << exporter.ScrapeText();
  const Samples m = exporter.Scrape();
  EXPECT_FALSE(m.count("esim_up{account=\"globex\"}"));
  EXPECT_FALSE(m.count(Used("globex", fake_esimfly::kHealthy5gIccid)));
  EXPECT_EQ(m.at(Used("acme", fake_esimfly::kSpecExampleIccid)), acme_used);
  // acme was not polled again because of the reload (its interval is 60 s).
  EXPECT_EQ(acme_->RequestCount(), acme_requests);
  EXPECT_THAT(exporter.Stderr(), HasSubstr("account removed"));
  EXPECT_THAT(exporter.Stderr(), HasSubstr("account added"));
  EXPECT_EQ(exporter.Terminate(), 0);
}

// The config in force keeps no eSIM lists (the accounts' stores hold them): a reload compares
// each account's list with its store. The same file reloads as unchanged; a new name for one
// eSIM of one account is applied.
TEST_F(AccountsTest, AReloadThatOnlyRenamesOneEsimIsApplied) {
  const std::string config = WriteConfig(AcmeBlock() + GlobexBlock());
  ExporterProcess exporter({"--config.file=" + config, "--log.level=debug"});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const std::string unchanged = "config unchanged, nothing to reload";
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr(unchanged));

  std::string globex = GlobexBlock();
  const std::string item =
      std::string("      - iccid: \"") + fake_esimfly::kHealthy5gIccid + "\"\n";
  ASSERT_THAT(globex, HasSubstr(item));
  globex.replace(globex.find(item), item.size(), item + "        name: spare\n");
  WriteConfig(AcmeBlock() + globex);
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << exporter.Stderr();
  const std::string renamed = "esim_data_used_bytes{account=\"globex\",iccid=\"" +
                              std::string(fake_esimfly::kHealthy5gIccid) + "\",name=\"spare\"}";
  ASSERT_TRUE(exporter.WaitFor([&] { return exporter.Scrape().count(renamed) > 0; }, seconds(10)))
      << exporter.ScrapeText();
  const std::string log = exporter.Stderr();
  EXPECT_EQ(log.find(unchanged), log.rfind(unchanged)) << "the rename was not taken as unchanged";
  EXPECT_THAT(log, HasSubstr("config reloaded"));
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST_F(AccountsTest, EachAccountKeepsItsOwnStateFile) {
  const std::string storage = dir_.path() + "/state";
  const std::string config = WriteConfig(AcmeBlock() + GlobexBlock());
  double acme_used = 0;
  {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
    acme_used = exporter.Scrape().at(Used("acme", fake_esimfly::kSpecExampleIccid));
    EXPECT_EQ(exporter.Terminate(), 0);
  }
  EXPECT_TRUE(std::filesystem::exists(storage + "/state-acme.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(storage + "/state-globex.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(storage + "/budget-acme.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(storage + "/state.jsonl"));

  // Restarted with globex's API down: acme's and globex's series are back before any poll.
  globex_->Stop();
  acme_->ClearRequests();
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  const Samples m = exporter.Scrape();
  // Without the restored schedule, the first polls would go out at once: give them the time.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(m.at(Used("acme", fake_esimfly::kSpecExampleIccid)), acme_used);
  EXPECT_TRUE(m.count(Used("globex", fake_esimfly::kHealthy5gIccid)));
  EXPECT_EQ(m.at("esim_storage_restored_esims{account=\"acme\"}"), 2);
  EXPECT_EQ(m.at("esim_storage_restored_esims{account=\"globex\"}"), 1);
  EXPECT_EQ(acme_->RequestCount(), 0u);  // no re-poll of the restored fleet
  EXPECT_EQ(exporter.Terminate(), 0);
}

// A reload that removes an account writes its state; one that adds it back restores it there
// (AccountRuntime::RestoreState on the reload's path): its series return without a poll.
TEST_F(AccountsTest, AnAccountAddedBackByAReloadResumesFromItsState) {
  const std::string storage = dir_.path() + "/state";
  const std::string config = WriteConfig(AcmeBlock() + GlobexBlock());
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const double globex_used = exporter.Scrape().at(Used("globex", fake_esimfly::kHealthy5gIccid));

  WriteConfig(AcmeBlock());
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << exporter.Stderr();
  ASSERT_FALSE(exporter.Scrape().count(Used("globex", fake_esimfly::kHealthy5gIccid)));
  globex_->ClearRequests();

  WriteConfig(AcmeBlock() + GlobexBlock());
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << exporter.Stderr();
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at(Used("globex", fake_esimfly::kHealthy5gIccid)), globex_used);
  EXPECT_EQ(m.at("esim_storage_restored_esims{account=\"globex\"}"), 1);
  // Without the restored schedule, its first poll would go out at once: give it the time.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(globex_->RequestCount(), 0u);
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST_F(AccountsTest, TheReceiverPathTellsTheAccountsApart) {
  const std::string hook = [](const char* secret) {
    return std::string("    webhook:\n      secret: ") + secret + "\n      check_interval: 0s\n";
  }(kAcmeHookSecret);
  const std::string globex_hook = std::string("    webhook:\n      secret: ") + kGlobexHookSecret +
                                  "\n      check_interval: 0s\n";
  const std::string config = WriteConfig(AcmeBlock(hook) + GlobexBlock(globex_hook));
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const std::string base = "http://127.0.0.1:" + std::to_string(exporter.port());
  fake_esimfly::WebhookSender acme_hook(base + "/webhook/acme");
  fake_esimfly::WebhookSender globex_hook_sender(base + "/webhook/globex");
  const auto delivery = [](const char* secret, const char* iccid) {
    return fake_esimfly::UsageThresholdDelivery(secret, iccid, 4.5, 5, 90);
  };
  // Signed with acme's secret: applied at acme's path, refused at globex's.
  EXPECT_EQ(acme_hook.Send(delivery(kAcmeHookSecret, fake_esimfly::kSpecExampleIccid)), 200);
  EXPECT_EQ(globex_hook_sender.Send(delivery(kAcmeHookSecret, fake_esimfly::kHealthy5gIccid)), 401);
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_webhook_deliveries_total{account=\"acme\",event=\"esim.usage.threshold\","
                 "outcome=\"applied\"}"),
            1);
  EXPECT_EQ(m.at("esim_webhook_deliveries_total{account=\"globex\",event=\"esim.usage.threshold\","
                 "outcome=\"invalid_signature\"}"),
            1);
  EXPECT_NEAR(m.at(Used("acme", fake_esimfly::kSpecExampleIccid)), 4.5 * 1024 * 1024 * 1024, 1);
  EXPECT_EQ(exporter.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
