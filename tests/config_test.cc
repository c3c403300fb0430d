#include "config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config_values.h"
#include "temp_dir.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using esim_test::TempDir;

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kConfigDir = std::string(ESIM_TESTDATA_DIR) + "/config";
const std::string kInvalidDir = kConfigDir + "/invalid";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Both credentials from the environment, so a test file can leave them out.
EnvLookup CredentialsEnv() {
  return FakeEnv({{"ESIMFLY_ACCESS_CODE", "env-access"}, {"ESIMFLY_SECRET_KEY", "env-secret"}});
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ErrorOf(const std::string& path, const EnvLookup& env) {
  try {
    LoadConfig(path, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(loaded without error)";
}

constexpr char kOneEsim[] = "esims:\n  - iccid: \"8948010010036785060\"\n";

// --- valid configs ------------------------------------------------------------------------------

TEST(LoadConfigTest, FullConfigParsesEveryField) {
  TempDir dir;
  const std::string path = dir.Write("config.yml", ReadText(kConfigDir + "/valid/full.yml"));
  dir.Write("secret_key", "s3cret-key\n");
  dir.Write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

  const Config config = LoadConfig(path, FakeEnv({}));

  EXPECT_EQ(config.path, path);
  EXPECT_EQ(config.api.url, "https://api.example.test/v1");
  EXPECT_EQ(config.api.access_code, "esf_test_access");
  EXPECT_EQ(config.api.secret_key.Reveal(), "s3cret-key");
  EXPECT_EQ(config.api.secret_key_file, dir.Path("secret_key"));
  EXPECT_EQ(config.api.timeout, seconds(45));
  EXPECT_EQ(config.api.max_concurrency, 8);
  EXPECT_EQ(config.api.rate_limit, (RateLimitConfig{40, 400, 4000}));
  EXPECT_EQ(config.api.ca_file, dir.Path("ca.pem"));
  EXPECT_EQ(config.poll.interval, minutes(90));
  EXPECT_EQ(config.poll.stale_after, hours(48));
  EXPECT_TRUE(config.metrics.export_imei);
  EXPECT_TRUE(config.inventory.enabled);
  EXPECT_EQ(config.inventory.interval, minutes(30));
  EXPECT_EQ(config.inventory.statuses,
            (std::vector<std::string>{"ACTIVE", "CANCELLED", "DELETED"}));
  EXPECT_TRUE(config.inventory.discover);
  EXPECT_EQ(config.balance.interval, hours(6));
  EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();

  ASSERT_EQ(config.esims.size(), 4u);
  EXPECT_EQ(config.esims[0].iccid, "8948010010036785060");
  EXPECT_FALSE(config.esims[0].esim_id.has_value());
  EXPECT_EQ(config.esims[0].name, "router-sydney-01");
  EXPECT_EQ(config.esims[0].labels,
            (std::map<std::string, std::string>{{"fleet", "routers"}, {"site", "syd"}}));
  EXPECT_EQ(config.esims[1].iccid, "8948010010036785078");  // written without quotes
  EXPECT_EQ(config.esims[1].name, "router-perth-02");
  EXPECT_TRUE(config.esims[1].labels.empty());
  EXPECT_EQ(config.esims[2].iccid, "89445001021983048261");
  EXPECT_EQ(config.esims[2].name, "");
  EXPECT_EQ(config.esims[3].iccid, "");
  EXPECT_EQ(config.esims[3].esim_id, 12345);
  EXPECT_EQ(config.esims[3].name, "spare");
  EXPECT_EQ(config.esims[3].labels, (std::map<std::string, std::string>{{"rack", "12"}}));
}

TEST(LoadConfigTest, MinimalConfigGetsTheContractDefaults) {
  const std::string path = kConfigDir + "/valid/minimal.yml";
  const Config config = LoadConfig(path, CredentialsEnv());

  EXPECT_EQ(config.api.url, "https://esimfly.net");
  EXPECT_EQ(config.api.timeout, seconds(30));
  EXPECT_EQ(config.api.max_concurrency, 4);
  // Half of the vendor's current per-key limits (60/min, 1,000/h, 10,000/day).
  EXPECT_EQ(config.api.rate_limit, (RateLimitConfig{30, 500, 5000}));
  EXPECT_EQ(config.api.ca_file, "");
  EXPECT_EQ(config.poll.interval, minutes(15));
  EXPECT_EQ(config.poll.stale_after, hours(6));
  EXPECT_FALSE(config.metrics.export_imei);
  EXPECT_FALSE(config.inventory.enabled);
  EXPECT_EQ(config.inventory.interval, minutes(10));
  EXPECT_EQ(config.inventory.statuses,
            (std::vector<std::string>{"NEW", "ACTIVE", "DEPLETED", "EXPIRED"}));
  EXPECT_FALSE(config.inventory.discover);
  EXPECT_EQ(config.balance.interval, hours(1));
  EXPECT_TRUE(config.warnings.empty());
  ASSERT_EQ(config.esims.size(), 1u);
  EXPECT_EQ(config.esims[0].name, "");
  EXPECT_TRUE(config.esims[0].labels.empty());
}

// The shipped example must load, and the values it shows must be the real defaults.
TEST(LoadConfigTest, ExampleConfigIsValidAndShowsTheDefaults) {
  const std::string path = std::string(ESIM_TESTDATA_DIR) + "/../../config/example.yml";
  const Config config = LoadConfig(path, CredentialsEnv());
  const Config defaults;
  EXPECT_EQ(config.api.url, defaults.api.url);
  EXPECT_EQ(config.api.timeout, defaults.api.timeout);
  EXPECT_EQ(config.api.max_concurrency, defaults.api.max_concurrency);
  EXPECT_EQ(config.api.rate_limit, defaults.api.rate_limit);
  EXPECT_EQ(config.api.ca_file, defaults.api.ca_file);
  EXPECT_EQ(config.poll.interval, defaults.poll.interval);
  EXPECT_EQ(config.poll.stale_after, defaults.poll.stale_after);
  EXPECT_EQ(config.metrics.export_imei, defaults.metrics.export_imei);
  EXPECT_EQ(config.inventory.enabled, defaults.inventory.enabled);
  EXPECT_EQ(config.inventory.interval, defaults.inventory.interval);
  EXPECT_EQ(config.inventory.statuses, defaults.inventory.statuses);
  EXPECT_EQ(config.inventory.discover, defaults.inventory.discover);
  EXPECT_EQ(config.balance.interval, defaults.balance.interval);
  EXPECT_TRUE(config.warnings.empty());
  ASSERT_EQ(config.esims.size(), 2u);
  EXPECT_EQ(config.esims[0].Key(), "iccid:8948010010036785060");
  EXPECT_EQ(config.esims[1].Key(), "esim_id:12345");
}

TEST(LoadConfigTest, EmptySectionsKeepDefaults) {
  TempDir dir;
  const std::string path = dir.Write(
      "c.yml", std::string("api:\npoll:\nmetrics:\ninventory:\nbalance:\n") + kOneEsim + "---\n");
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.api.url, "https://esimfly.net");
  EXPECT_EQ(config.poll.interval, minutes(15));
  EXPECT_FALSE(config.inventory.enabled);
  EXPECT_EQ(config.inventory.statuses.size(), 4u);
  EXPECT_EQ(config.balance.interval, hours(1));
  EXPECT_EQ(config.esims.size(), 1u);
}

TEST(LoadConfigTest, BoundaryValuesAreAccepted) {
  TempDir dir;
  const std::string path = dir.Write("c.yml", std::string(R"(api:
  timeout: 5m
  max_concurrency: 64
  rate_limit: {per_minute: 1, per_hour: 1, per_day: 1}
poll:
  interval: 60s
  stale_after: 1m
inventory:
  interval: 60s
balance:
  interval: 1m
)") + kOneEsim);
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.api.timeout, minutes(5));
  EXPECT_EQ(config.api.max_concurrency, 64);
  EXPECT_EQ(config.api.rate_limit, (RateLimitConfig{1, 1, 1}));
  EXPECT_EQ(config.poll.interval, seconds(60));
  EXPECT_EQ(config.poll.stale_after, seconds(60));
  EXPECT_EQ(config.inventory.interval, seconds(60));
  EXPECT_EQ(config.balance.interval, seconds(60));
}

// A fleet labels by site or customer: eSIMs with the same labels share one set (~25 MB at
// 100,000 eSIMs otherwise), and a different set stays apart.
TEST(LoadConfigTest, EsimsWithTheSameLabelsShareOneSet) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", std::string("esims:\n") +
                             "  - {iccid: \"8948010010036785060\", labels: {site: a, fleet: x}}\n" +
                             "  - {esim_id: 7, name: b, labels: {fleet: x, site: a}}\n" +
                             "  - {esim_id: 8, name: c, labels: {site: b, fleet: x}}\n" +
                             "  - {esim_id: 9, name: d}\n");
  const Config config = LoadConfig(path, CredentialsEnv());
  ASSERT_EQ(config.esims.size(), 4u);
  const ConfigLabels::Map expected{{"fleet", "x"}, {"site", "a"}};
  EXPECT_EQ(config.esims[0].labels.map(), expected);
  EXPECT_EQ(&config.esims[0].labels.map(), &config.esims[1].labels.map());
  EXPECT_EQ(config.esims[2].labels.map(), (ConfigLabels::Map{{"fleet", "x"}, {"site", "b"}}));
  EXPECT_NE(&config.esims[2].labels.map(), &config.esims[0].labels.map());
  EXPECT_TRUE(config.esims[3].labels.empty());
}

// --- inventory, balance -------------------------------------------------------------------------

TEST(InventoryConfigTest, DiscoveryNeedsNoEsimsList) {
  const Config config = LoadConfig(kConfigDir + "/valid/discovery.yml", CredentialsEnv());
  EXPECT_TRUE(config.inventory.enabled);
  EXPECT_TRUE(config.inventory.discover);
  EXPECT_TRUE(config.esims.empty());
  EXPECT_TRUE(config.warnings.empty());
}

TEST(InventoryConfigTest, DiscoveryAcceptsAnEmptyEsimsList) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", "inventory:\n  enabled: true\n  discover: true\nesims: []\n");
  EXPECT_TRUE(LoadConfig(path, CredentialsEnv()).esims.empty());
}

// "esims:" with nothing after it is an empty list: fine with discovery, an error without.
TEST(InventoryConfigTest, NullEsimsIsEmptyWithDiscovery) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", "esims:\ninventory:\n  enabled: true\n  discover: true\n");
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_TRUE(config.esims.empty());
  EXPECT_TRUE(config.inventory.discover);
}

TEST(InventoryConfigTest, NullEsimsIsAnErrorWithoutDiscovery) {
  TempDir dir;
  for (const std::string inventory :
       {"", "inventory:\n  enabled: true\n", "inventory:\n  enabled: true\n  discover: false\n"}) {
    const std::string path = dir.Write("c.yml", "esims:\n" + inventory);
    EXPECT_EQ(ErrorOf(path, CredentialsEnv()),
              path +
                  ":1:1: nothing to monitor: esims lists no eSIM; add at least one entry with an "
                  "iccid or esim_id, or set inventory.enabled and inventory.discover to true to "
                  "monitor every eSIM on the account")
        << inventory;
  }
}

TEST(InventoryConfigTest, DiscoveryKeepsTheListedEsimsForNamesAndLabels) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", std::string("inventory: {enabled: true, discover: true}\n") +
                             "esims:\n  - iccid: \"8948010010036785060\"\n    name: router\n");
  const Config config = LoadConfig(path, CredentialsEnv());
  ASSERT_EQ(config.esims.size(), 1u);
  EXPECT_EQ(config.esims[0].name, "router");
}

TEST(InventoryConfigTest, StatusesAcceptEveryApiStatusAndAllAlone) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"[all]", {"all"}},
      {"[ACTIVE]", {"ACTIVE"}},
      {"[\"DEPLETED\"]", {"DEPLETED"}},  // quoted text is still the status
      {"[NEW, ACTIVE, EXPIRED, CANCELLED, DEPLETED, DELETED]",
       {"NEW", "ACTIVE", "EXPIRED", "CANCELLED", "DEPLETED", "DELETED"}},
      {"\n    - EXPIRED\n    - NEW", {"EXPIRED", "NEW"}},  // order kept as written
  };
  TempDir dir;
  for (const auto& [statuses, expected] : cases) {
    const std::string path = dir.Write(
        "c.yml", "inventory:\n  enabled: true\n  statuses: " + statuses + "\n" + kOneEsim);
    EXPECT_EQ(LoadConfig(path, CredentialsEnv()).inventory.statuses, expected) << statuses;
  }
}

TEST(InventoryConfigTest, SettingsAreKeptWhileDisabled) {
  TempDir dir;
  const std::string path = dir.Write(
      "c.yml",
      std::string("inventory:\n  enabled: false\n  interval: 1h\n  statuses: [all]\n") + kOneEsim);
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_FALSE(config.inventory.enabled);
  EXPECT_EQ(config.inventory.interval, hours(1));
  EXPECT_EQ(config.inventory.statuses, std::vector<std::string>{"all"});
}

TEST(BalanceConfigTest, ZeroDisables) {
  TempDir dir;
  for (const std::string zero : {"0", "0s", "0m"}) {
    const std::string path =
        dir.Write("c.yml", "balance:\n  interval: " + zero + "\n" + std::string(kOneEsim));
    EXPECT_EQ(LoadConfig(path, CredentialsEnv()).balance.interval, milliseconds(0)) << zero;
  }
}

// --- webhook ------------------------------------------------------------------------------------

TEST(WebhookConfigTest, NoBlockNoReceiver) {
  const Config config = LoadConfig(kConfigDir + "/valid/minimal.yml", CredentialsEnv());
  EXPECT_FALSE(config.webhook.enabled);
  EXPECT_FALSE(config.metrics.export_eid_imsi);
}

TEST(WebhookConfigTest, DefaultsAndEverySetting) {
  TempDir dir;
  const std::string secret = dir.Write("whsec", "whsec_from_file\n");
  const std::string path =
      dir.Write("c.yml", "webhook:\n  path: /hooks/esimfly\n  secret_file: " + secret +
                             "\n  max_age: 30m\n  listen_address: \"127.0.0.1:10418\"\n"
                             "  public_url: https://esim.example.com:8443/hooks/esimfly/\n"
                             "  check_interval: 6h\n"
                             "metrics:\n  export_eid_imsi: true\n" +
                             std::string(kOneEsim));
  const Config config = LoadConfig(path, CredentialsEnv());
  const WebhookConfig& webhook = config.webhook;
  EXPECT_TRUE(webhook.enabled);
  EXPECT_EQ(webhook.path, "/hooks/esimfly");
  EXPECT_EQ(webhook.secret.Reveal(), "whsec_from_file");
  EXPECT_EQ(webhook.secret_file, secret);
  EXPECT_EQ(webhook.max_age, minutes(30));
  EXPECT_EQ(webhook.listen_address, "127.0.0.1:10418");
  EXPECT_EQ(webhook.public_url, "https://esim.example.com:8443/hooks/esimfly/");
  EXPECT_EQ(webhook.check_interval, hours(6));
  EXPECT_TRUE(config.metrics.export_eid_imsi);
  EXPECT_TRUE(config.warnings.empty());

  const std::string minimal = dir.Write("m.yml", "webhook: {}\n" + std::string(kOneEsim));
  const Config from_env = LoadConfig(minimal, FakeEnv({{"ESIMFLY_ACCESS_CODE", "a"},
                                                       {"ESIMFLY_SECRET_KEY", "k"},
                                                       {"ESIMFLY_WEBHOOK_SECRET", "whsec_env"}}));
  EXPECT_EQ(from_env.webhook.path, "/webhook");
  EXPECT_EQ(from_env.webhook.max_age, hours(1));
  EXPECT_TRUE(from_env.webhook.listen_address.empty());
  // Subscription reads are on by default with a receiver; the URL is compared only when given.
  EXPECT_TRUE(from_env.webhook.public_url.empty());
  EXPECT_EQ(from_env.webhook.check_interval, hours(1));
  const std::string off = dir.Write("o.yml",
                                    "webhook:\n  check_interval: 0s\n  public_url: "
                                    "https://[2001:db8::1]/w\n" +
                                        std::string(kOneEsim));
  const Config reads_off = LoadConfig(off, FakeEnv({{"ESIMFLY_ACCESS_CODE", "a"},
                                                    {"ESIMFLY_SECRET_KEY", "k"},
                                                    {"ESIMFLY_WEBHOOK_SECRET", "whsec_env"}}));
  EXPECT_EQ(reads_off.webhook.check_interval, milliseconds(0));
  EXPECT_EQ(reads_off.webhook.public_url, "https://[2001:db8::1]/w");
  EXPECT_EQ(from_env.webhook.secret.Reveal(), "whsec_env");
}

TEST(WebhookConfigTest, SecretFromTheSystemdCredential) {
  TempDir dir;
  const std::string credential = dir.Write("esimfly_webhook_secret", "whsec_cred");
  const std::string path = dir.Write("c.yml", "webhook: {}\n" + std::string(kOneEsim));
  const Config config = LoadConfig(path, FakeEnv({{"ESIMFLY_ACCESS_CODE", "a"},
                                                  {"ESIMFLY_SECRET_KEY", "k"},
                                                  {"CREDENTIALS_DIRECTORY", dir.path()}}));
  EXPECT_EQ(config.webhook.secret.Reveal(), "whsec_cred");
}

TEST(WebhookConfigTest, InlineSecretWarnsAndIsNeverPrinted) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", "webhook:\n  secret: whsec_do_not_print\n" + std::string(kOneEsim));
  const Config config = LoadConfig(path, CredentialsEnv());
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_THAT(config.warnings[0], HasSubstr("webhook.secret is written in the config"));
  EXPECT_THAT(config.warnings[0], Not(HasSubstr("whsec_do_not_print")));
  const std::string broken = dir.Write(
      "b.yml", "webhook:\n  secret: whsec_do_not_print\n  max_age: 1s\n" + std::string(kOneEsim));
  EXPECT_THAT(ErrorOf(broken, CredentialsEnv()), Not(HasSubstr("whsec_do_not_print")));
}

// --- alerts -------------------------------------------------------------------------------------

TEST(AlertsConfigTest, WithoutAnAlertsSectionEveryEsimHasTheDefaults) {
  const Config config = LoadConfig(kConfigDir + "/valid/minimal.yml", CredentialsEnv());
  EXPECT_EQ(config.alerts.defaults, AlertThresholds{});
  EXPECT_EQ(config.alerts.defaults.data_usage_warning_ratio, 0.8);
  EXPECT_EQ(config.alerts.defaults.data_usage_critical_ratio, 0.95);
  EXPECT_EQ(config.alerts.defaults.expiry_warning, hours(7 * 24));
  EXPECT_EQ(config.alerts.defaults.expiry_critical, hours(24));
  EXPECT_EQ(config.alerts.balance_low, 50);
  EXPECT_TRUE(config.alerts.groups.empty());
  ASSERT_EQ(config.esims.size(), 1u);
  EXPECT_TRUE(config.esims[0].alerts.empty());
}

TEST(AlertsConfigTest, AnEsimTakesItsOwnOverTheFirstMatchingGroupOverTheDefaults) {
  const Config config = LoadConfig(kConfigDir + "/valid/alerts.yml", CredentialsEnv());
  EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();
  const AlertThresholds& defaults = config.alerts.defaults;
  EXPECT_EQ(defaults.data_usage_warning_ratio, 0.7);
  EXPECT_EQ(defaults.data_usage_critical_ratio, 0.95);  // not set: built in
  EXPECT_EQ(defaults.expiry_warning, hours(10 * 24));
  EXPECT_EQ(defaults.expiry_critical, hours(24));
  EXPECT_EQ(config.alerts.balance_low, 0);
  ASSERT_EQ(config.alerts.groups.size(), 3u);
  EXPECT_EQ(config.alerts.groups[0].match,
            (std::map<std::string, std::string>{{"fleet", "trackers"}, {"site", "syd"}}));

  ASSERT_EQ(config.esims.size(), 5u);
  // Both trackers groups match; the first one listed wins.
  AlertOverrides first_group;
  first_group.data_usage_warning_ratio = 0.85;
  EXPECT_EQ(config.esims[0].alerts, first_group);
  EXPECT_EQ(config.esims[0].EffectiveAlerts(defaults).data_usage_warning_ratio, 0.85);
  EXPECT_EQ(config.esims[0].EffectiveAlerts(defaults).expiry_warning, hours(10 * 24));
  // The eSIM's own value wins over its group's; the group's others still apply.
  AlertOverrides own_over_group;
  own_over_group.data_usage_warning_ratio = 0.9;
  own_over_group.expiry_warning = hours(3 * 24);
  EXPECT_EQ(config.esims[1].alerts, own_over_group);
  const AlertThresholds second = config.esims[1].EffectiveAlerts(defaults);
  EXPECT_EQ(second.data_usage_warning_ratio, 0.9);
  EXPECT_EQ(second.data_usage_critical_ratio, 0.95);
  EXPECT_EQ(second.expiry_warning, hours(3 * 24));
  EXPECT_EQ(second.expiry_critical, hours(24));
  AlertOverrides routers;
  routers.expiry_critical = hours(2 * 24);
  EXPECT_EQ(config.esims[2].alerts, routers);
  // No labels, so no group: only its own.
  AlertOverrides own_only;
  own_only.data_usage_critical_ratio = 0.99;
  EXPECT_EQ(config.esims[3].alerts, own_only);
  // Nothing set anywhere: nothing to export per eSIM.
  EXPECT_TRUE(config.esims[4].alerts.empty());
  EXPECT_EQ(config.esims[4].EffectiveAlerts(defaults), defaults);
}

TEST(AlertsConfigTest, EqualWarningAndCriticalAndTheEdgesOfARatioAreFine) {
  TempDir dir;
  const std::string path = dir.Write("c.yml", std::string(R"(alerts:
  data_usage_warning_ratio: 1
  data_usage_critical_ratio: 1.0
  expiry_warning: 2d
  expiry_critical: 48h
  balance_low: 12.5
)") + kOneEsim);
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.alerts.defaults.data_usage_warning_ratio, 1);
  EXPECT_EQ(config.alerts.defaults.data_usage_critical_ratio, 1);
  EXPECT_EQ(config.alerts.defaults.expiry_warning, config.alerts.defaults.expiry_critical);
  EXPECT_EQ(config.alerts.balance_low, 12.5);
}

TEST(AlertsConfigTest, BalanceLowIsTheAlertsDefaultUnlessTheBalanceBlockSetsItsOwn) {
  TempDir dir;
  const auto load = [&](const std::string& blocks) {
    return LoadConfig(dir.Write("c.yml", blocks + kOneEsim), CredentialsEnv());
  };
  Config config = load("alerts:\n  balance_low: 12.5\n");
  EXPECT_EQ(config.balance.low, std::nullopt);
  EXPECT_EQ(config.BalanceLow(), 12.5);
  config = load("alerts:\n  balance_low: 12.5\nbalance:\n  low: 2000\n");
  EXPECT_EQ(config.balance.low, 2000);
  EXPECT_EQ(config.BalanceLow(), 2000);
  // 0 turns this account's alert off, whatever the default says.
  config = load("balance:\n  interval: 6h\n  low: 0\n");
  EXPECT_EQ(config.balance.low, 0);
  EXPECT_EQ(config.BalanceLow(), 0);
  EXPECT_EQ(load("").BalanceLow(), 50);
}

TEST(AlertsConfigTest, AnEmptyAlertsSectionOrGroupsListKeepsTheDefaults) {
  TempDir dir;
  for (const std::string alerts :
       {"alerts:\n", "alerts:\n  groups:\n", "alerts:\n  groups: []\n"}) {
    const std::string path = dir.Write("c.yml", alerts + kOneEsim);
    const Config config = LoadConfig(path, CredentialsEnv());
    EXPECT_EQ(config.alerts.defaults, AlertThresholds{}) << alerts;
    EXPECT_TRUE(config.alerts.groups.empty()) << alerts;
  }
}

// A typo in a label name or value would otherwise leave the group silently unused.
TEST(AlertsConfigTest, AGroupThatMatchesNoEsimWarns) {
  TempDir dir;
  const std::string path = dir.Write("c.yml", R"(alerts:
  groups:
    - match: {fleet: routers}
      expiry_warning: 14d
    - match: {flet: routers}
      expiry_warning: 10d
esims:
  - iccid: "8948010010036785060"
    labels: {fleet: routers}
)");
  const Config config = LoadConfig(path, CredentialsEnv());
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_EQ(config.warnings[0],
            path +
                ":5:7: alerts.groups[1] matches none of the eSIMs under esims: (groups match "
                "their labels:; eSIMs found by discovery have none); check the match labels");
}

TEST(AlertsConfigTest, GroupsMatchOnlyWhenEveryLabelIsEqual) {
  AlertGroup group;
  group.match = {{"fleet", "trackers"}, {"site", "syd"}};
  EXPECT_TRUE(group.Matches({{"fleet", "trackers"}, {"site", "syd"}, {"team", "a"}}));
  EXPECT_FALSE(group.Matches({{"fleet", "trackers"}}));
  EXPECT_FALSE(group.Matches({{"fleet", "trackers"}, {"site", "per"}}));
  EXPECT_FALSE(group.Matches({}));
  EXPECT_FALSE(AlertGroup{}.Matches({{"fleet", "trackers"}}));  // never built by the loader
}

TEST(AlertsConfigTest, OverridesLayerOneSetValueAtATime) {
  AlertOverrides below;
  below.data_usage_warning_ratio = 0.9;
  below.expiry_warning = hours(14 * 24);
  AlertOverrides above;
  above.expiry_warning = hours(3 * 24);
  const AlertOverrides merged = above.Over(below);
  EXPECT_EQ(merged.data_usage_warning_ratio, 0.9);
  EXPECT_EQ(merged.expiry_warning, hours(3 * 24));
  EXPECT_FALSE(merged.data_usage_critical_ratio.has_value());
  const AlertThresholds effective = merged.Over(AlertThresholds{});
  EXPECT_EQ(effective.data_usage_warning_ratio, 0.9);
  EXPECT_EQ(effective.data_usage_critical_ratio, 0.95);
  EXPECT_EQ(effective.expiry_warning, hours(3 * 24));
}

TEST(LoadConfigTest, UnnamedEsimsDoNotCountAsDuplicateNames) {
  TempDir dir;
  const std::string path = dir.Write(
      "c.yml", "esims:\n  - iccid: \"8948010010036785060\"\n  - iccid: \"8948010010036785078\"\n");
  EXPECT_EQ(LoadConfig(path, CredentialsEnv()).esims.size(), 2u);
}

TEST(LoadConfigTest, UrlIsNormalized) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://esimfly.net/", "https://esimfly.net"},
      {"https://proxy.test/esimfly//", "https://proxy.test/esimfly"},
      {"HTTPS://esimfly.net", "https://esimfly.net"},
      {"https://[::1]:8443/", "https://[::1]:8443"},
      {"https://localhost:8443", "https://localhost:8443"},
  };
  TempDir dir;
  for (const auto& [url, expected] : cases) {
    const std::string path = dir.Write("c.yml", "api:\n  url: " + url + "\n" + kOneEsim);
    EXPECT_EQ(LoadConfig(path, CredentialsEnv()).api.url, expected) << url;
  }
}

TEST(LoadConfigTest, HttpUrlIsAllowedWithAWarning) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", std::string("api:\n  url: http://127.0.0.1:8080/\n") + kOneEsim);
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.api.url, "http://127.0.0.1:8080");
  EXPECT_EQ(config.warnings, std::vector<std::string>{
                                 path + ":2:8: api.url uses plain http://: requests and eSIM data "
                                        "travel unencrypted; use https:// outside tests and local "
                                        "proxies"});
}

// --- credentials --------------------------------------------------------------------------------

TEST(CredentialsTest, EnvironmentIsUsedWhenTheFileGivesNothing) {
  const Config config = LoadConfig(kConfigDir + "/valid/minimal.yml", CredentialsEnv());
  EXPECT_EQ(config.api.access_code, "env-access");
  EXPECT_EQ(config.api.secret_key.Reveal(), "env-secret");
  EXPECT_EQ(config.api.secret_key_file, "");  // not from a file: no permission check
}

TEST(CredentialsTest, FileValuesWinOverTheEnvironment) {
  TempDir dir;
  dir.Write("secret", "file-secret\n");
  const std::string path = dir.Write(
      "c.yml",
      std::string("api:\n  access_code: file-access\n  secret_key_file: secret\n") + kOneEsim);
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.api.access_code, "file-access");
  EXPECT_EQ(config.api.secret_key.Reveal(), "file-secret");
  EXPECT_EQ(config.api.secret_key_file, dir.Path("secret"));
}

TEST(CredentialsTest, EachCredentialFallsBackOnItsOwn) {
  TempDir dir;
  const std::string path =
      dir.Write("c.yml", std::string("api:\n  access_code: file-access\n") + kOneEsim);
  const Config config = LoadConfig(path, FakeEnv({{"ESIMFLY_SECRET_KEY", "env-secret"}}));
  EXPECT_EQ(config.api.access_code, "file-access");
  EXPECT_EQ(config.api.secret_key.Reveal(), "env-secret");
}

TEST(CredentialsTest, EmptyEnvironmentVariableCountsAsUnset) {
  TempDir dir;
  const std::string path = dir.Write("c.yml", std::string("api:\n  access_code: a\n") + kOneEsim);
  EXPECT_EQ(ErrorOf(path, FakeEnv({{"ESIMFLY_SECRET_KEY", ""}})),
            path +
                ":1:1: no API secret key given; set api.secret_key_file (recommended) or "
                "api.secret_key, the environment variable ESIMFLY_SECRET_KEY, or the systemd "
                "credential esimfly_secret_key (LoadCredential=)");
}

struct NewlineCase {
  std::string content;
  std::string expected;
  bool rejected;  // whitespace or a control character is left in the value
};

TEST(CredentialsTest, CredentialFilesLoseExactlyOneTrailingNewline) {
  // The value contains '-', which a mkdtemp name never does: a message with it leaked the value.
  // Whitespace or a control character left after the one newline is an error.
  const std::vector<NewlineCase> cases = {
      {"p4ss-w0rd", "p4ss-w0rd", false},     {"p4ss-w0rd\n", "p4ss-w0rd", false},
      {"p4ss-w0rd\r\n", "p4ss-w0rd", false}, {"p4ss-w0rd\n\n", "p4ss-w0rd\n", true},
      {"p4ss-w0rd\r", "p4ss-w0rd\r", true},  {" p4ss-w0rd\n", " p4ss-w0rd", true},
      {"p4ss w0rd\n", "p4ss w0rd", true},
  };
  for (const NewlineCase& c : cases) {
    TempDir dir;
    dir.Write("access", c.content);
    dir.Write("secret", c.content);
    const std::string path = dir.Write(
        "c.yml",
        std::string("api:\n  access_code_file: access\n  secret_key_file: secret\n") + kOneEsim);
    if (c.rejected) {
      try {
        LoadConfig(path, FakeEnv({}));
        ADD_FAILURE() << "accepted " << testing::PrintToString(c.content);
      } catch (const ConfigError& error) {
        const std::string message = error.what();
        EXPECT_THAT(message, HasSubstr("api.access_code_file"));
        EXPECT_THAT(message, HasSubstr("whitespace or a control character at position"));
        EXPECT_THAT(message, Not(HasSubstr("w0rd")));
      }
      continue;
    }
    const Config config = LoadConfig(path, FakeEnv({}));
    EXPECT_EQ(config.api.access_code, c.expected);
    EXPECT_EQ(config.api.secret_key.Reveal(), c.expected);
    EXPECT_TRUE(config.warnings.empty());
  }
}

TEST(CredentialsTest, InlineAndEnvironmentCredentialsWithWhitespaceAreErrors) {
  TempDir dir;
  const std::string inline_path =
      dir.Write("inline.yml",
                std::string("api:\n  access_code: \"esf_a b\"\n  secret_key_file: s\n") + kOneEsim);
  dir.Write("s", "sk_fine\n");
  EXPECT_THROW(
      {
        try {
          LoadConfig(inline_path, FakeEnv({}));
        } catch (const ConfigError& error) {
          EXPECT_THAT(std::string(error.what()),
                      HasSubstr("inline.yml:2:16: api.access_code holds"));
          throw;
        }
      },
      ConfigError);
  const std::string env_path =
      dir.Write("env.yml", std::string("api:\n  url: https://x.example\n") + kOneEsim);
  EXPECT_THROW(LoadConfig(env_path, FakeEnv({{"ESIMFLY_ACCESS_CODE", "esf_ok"},
                                             {"ESIMFLY_SECRET_KEY", "sk_x\ty"}})),
               ConfigError);
}

TEST(CredentialsTest, EmptySecretFileIsAnError) {
  TempDir dir;
  const std::string secret = dir.Write("secret", "\n");
  const std::string path = dir.Write(
      "c.yml", std::string("api:\n  access_code: a\n  secret_key_file: secret\n") + kOneEsim);
  EXPECT_EQ(ErrorOf(path, FakeEnv({})), path + ":3:20: api.secret_key_file \"" + secret +
                                            "\" is empty; write the value into it");
}

TEST(CredentialsTest, SystemdCredentialIsTheLastFallback) {
  TempDir dir;
  const std::string credential =
      dir.Write("esimfly_secret_key", "cred-secret\n", fs::perms::owner_read);
  const Config config = LoadConfig(
      kConfigDir + "/valid/minimal.yml",
      FakeEnv({{"ESIMFLY_ACCESS_CODE", "env-access"}, {"CREDENTIALS_DIRECTORY", dir.path()}}));
  EXPECT_EQ(config.api.secret_key.Reveal(), "cred-secret");
  EXPECT_EQ(config.api.secret_key_file, credential);
  EXPECT_TRUE(config.warnings.empty());
}

TEST(CredentialsTest, EnvironmentSecretWinsOverSystemdCredential) {
  TempDir dir;
  dir.Write("esimfly_secret_key", "cred-secret\n");
  const Config config = LoadConfig(kConfigDir + "/valid/minimal.yml",
                                   FakeEnv({{"ESIMFLY_ACCESS_CODE", "a"},
                                            {"ESIMFLY_SECRET_KEY", "env-secret"},
                                            {"CREDENTIALS_DIRECTORY", dir.path()}}));
  EXPECT_EQ(config.api.secret_key.Reveal(), "env-secret");
  EXPECT_EQ(config.api.secret_key_file, "");
}

TEST(CredentialsTest, CredentialsDirectoryWithoutTheCredentialIsAMissingSecret) {
  TempDir dir;
  const std::string path = kConfigDir + "/valid/minimal.yml";
  const std::string error =
      ErrorOf(path, FakeEnv({{"ESIMFLY_ACCESS_CODE", "a"}, {"CREDENTIALS_DIRECTORY", dir.path()}}));
  EXPECT_THAT(error, StartsWith(path + ":2:1: no API secret key given;"));
}

TEST(CredentialsTest, GroupOrWorldReadableSecretFileWarns) {
  for (const fs::perms mode :
       {fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read,
        fs::perms::owner_read | fs::perms::others_read}) {
    TempDir dir;
    const std::string secret = dir.Write("secret", "very-secret-value\n", mode);
    const std::string path = dir.Write(
        "c.yml", std::string("api:\n  access_code: a\n  secret_key_file: secret\n") + kOneEsim);
    const Config config = LoadConfig(path, FakeEnv({}));
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    ASSERT_EQ(config.warnings,
              std::vector<std::string>{path + ":3:20: api.secret_key_file \"" + secret +
                                       "\" is readable by group or others (mode " + octal +
                                       "); restrict it with chmod 600"});
    EXPECT_THAT(config.warnings[0], Not(HasSubstr("very-secret-value")));
  }
}

TEST(CredentialsTest, PrivateSecretFileDoesNotWarn) {
  for (const fs::perms mode :
       {fs::perms::owner_read | fs::perms::owner_write, fs::perms::owner_read}) {
    TempDir dir;
    dir.Write("secret", "s\n", mode);
    const std::string path = dir.Write(
        "c.yml", std::string("api:\n  access_code: a\n  secret_key_file: secret\n") + kOneEsim);
    EXPECT_TRUE(LoadConfig(path, FakeEnv({})).warnings.empty());
  }
}

TEST(CredentialsTest, InlineSecretKeyWarns) {
  TempDir dir;
  const std::string path = dir.Write(
      "c.yml", std::string("api:\n  access_code: a\n  secret_key: inline-value\n") + kOneEsim);
  const Config config = LoadConfig(path, FakeEnv({{"ESIMFLY_SECRET_KEY", "env-secret"}}));
  EXPECT_EQ(config.api.secret_key.Reveal(), "inline-value");  // the file wins over env
  EXPECT_EQ(
      config.warnings,
      std::vector<std::string>{
          path + ":3:3: api.secret_key is written in the config, which is discouraged: whoever can "
                 "read the config can use the key; move it to a file named by "
                 "api.secret_key_file"});
}

// An inline secret in a config others may read: the warning names the key, the mode and the
// fix (chmod 600 or a secret file), never the secret.
TEST(CredentialsTest, InlineSecretsInAConfigOthersMayReadWarnWithTheFix) {
  for (const auto& [mode, text] : std::vector<std::pair<fs::perms, std::string>>{
           {fs::perms::group_read, "0640"}, {fs::perms::others_read, "0604"}}) {
    TempDir dir;
    const std::string path =
        dir.Write("c.yml",
                  std::string("api:\n  access_code: a\n  secret_key: inline-api-secret\n") +
                      "webhook:\n  secret: whsec_inline_secret\n" + kOneEsim,
                  fs::perms::owner_read | fs::perms::owner_write | mode);
    const Config config = LoadConfig(path, FakeEnv({}));
    ASSERT_EQ(config.warnings.size(), 2u);
    EXPECT_EQ(config.warnings[0],
              path +
                  ":3:3: api.secret_key is written in the config, which is discouraged: "
                  "whoever can read the config can use the key; move it to a file named by "
                  "api.secret_key_file; the config is readable by group or others (mode " +
                  text +
                  "), so they can read the secret: until it moves, restrict the config "
                  "with chmod 600 \"" +
                  path + "\"");
    EXPECT_THAT(config.warnings[1],
                HasSubstr(path + ":5:3: webhook.secret is written in the config"));
    EXPECT_THAT(config.warnings[1], HasSubstr("(mode " + text + ")"));
    EXPECT_THAT(config.warnings[1], HasSubstr("chmod 600"));
    for (const std::string& warning : config.warnings) {
      EXPECT_THAT(warning, Not(HasSubstr("inline-api-secret")));
      EXPECT_THAT(warning, Not(HasSubstr("whsec_inline_secret")));
    }
  }
}

// No inline secret: a readable config says nothing (it holds no secret).
TEST(CredentialsTest, AReadableConfigWithoutInlineSecretsDoesNotWarn) {
  TempDir dir;
  dir.Write("secret", "s\n");
  const std::string path = dir.Write(
      "c.yml", std::string("api:\n  access_code: a\n  secret_key_file: secret\n") + kOneEsim,
      fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
          fs::perms::others_read);
  EXPECT_TRUE(LoadConfig(path, FakeEnv({})).warnings.empty());
}

// What the reader refuses, named with the path: never blocking, never reading without end.
TEST(LoadConfigErrorTest, AFifoOrADeviceIsNotAConfig) {
  TempDir dir;
  const std::string fifo = dir.Path("fifo.yml");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ErrorOf(fifo, CredentialsEnv()),
            fifo + ": cannot read: not a regular file but a FIFO (named pipe)");
  EXPECT_EQ(ErrorOf("/dev/zero", CredentialsEnv()),
            "/dev/zero: cannot read: not a regular file but a character device");
  const std::string path = dir.Write(
      "c.yml", std::string("api:\n  access_code: a\n  secret_key_file: /dev/zero\n") + kOneEsim);
  EXPECT_EQ(ErrorOf(path, FakeEnv({})),
            path +
                ":3:20: api.secret_key_file \"/dev/zero\": cannot read: not a regular file "
                "but a character device; check the path and that the exporter's user may read "
                "it");
}

// --- errors -------------------------------------------------------------------------------------

TEST(LoadConfigErrorTest, MissingFile) {
  const std::string path = kInvalidDir + "/does-not-exist.yml";
  EXPECT_EQ(ErrorOf(path, CredentialsEnv()), path + ": cannot read: No such file or directory");
}

TEST(LoadConfigErrorTest, DirectoryInsteadOfFile) {
  EXPECT_EQ(ErrorOf(kInvalidDir, CredentialsEnv()),
            kInvalidDir + ": cannot read: not a regular file but a directory");
}

TEST(LoadConfigErrorTest, ZeroByteFile) {
  TempDir dir;
  const std::string path = dir.Write("c.yml", "");
  EXPECT_EQ(ErrorOf(path, CredentialsEnv()),
            path +
                ":1:1: the config file is empty; write at least an esims: list (see the example "
                "config)");
}

TEST(LoadConfigTest, WindowsLineEndingsAreFine) {
  TempDir dir;
  const std::string path = dir.Write(
      "c.yml", "poll:\r\n  interval: 20m\r\nesims:\r\n  - esim_id: 3\r\n    name: router\r\n");
  const Config config = LoadConfig(path, CredentialsEnv());
  EXPECT_EQ(config.poll.interval, minutes(20));
  ASSERT_EQ(config.esims.size(), 1u);
  EXPECT_EQ(config.esims[0].esim_id, 3);
  EXPECT_EQ(config.esims[0].name, "router");
}

enum class Env { kCredentials, kNone };

struct InvalidCase {
  std::string file;
  std::string error;  // after "PATH:"; "{dir}" stands for the directory of the invalid files
  Env env = Env::kCredentials;
};

std::ostream& operator<<(std::ostream& out, const InvalidCase& c) { return out << c.file; }

class InvalidConfigTest : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfigTest, FailsWithExactMessage) {
  const InvalidCase& c = GetParam();
  const std::string path = kInvalidDir + "/" + c.file;
  ASSERT_TRUE(fs::exists(path)) << path;
  std::string expected = path + ":" + c.error;
  for (size_t at; (at = expected.find("{dir}")) != std::string::npos;) {
    expected.replace(at, 5, kInvalidDir);
  }
  EXPECT_EQ(ErrorOf(path, c.env == Env::kNone ? FakeEnv({}) : CredentialsEnv()), expected);
}

// One row per rule. A changed message is a changed interface (users grep for them): update the
// row on purpose, never by pasting the new output unread.
const InvalidCase kInvalidCases[] = {
    // The file as a whole.
    {"syntax_error.yml",
     "3:11: YAML syntax error: illegal map value; check the indentation (spaces, not tabs), "
     "colons and quotes here or just above"},
    {"empty.yml",
     "1:1: the config file is empty; write at least an esims: list (see the example config)"},
    {"not_a_map.yml",
     "1:1: the config must be a map of sections (api, poll, metrics, esims, inventory, balance, "
     "alerts, webhook), got a list; start each section with \"name:\" at column 1"},
    {"multiple_documents.yml",
     "5:1: a second YAML document starts here; keep only one document in the file (remove the "
     "\"---\" line above and merge the two)"},
    {"non_text_key.yml",
     "1:3: a key at the top level is a list; keys must be plain names like \"url\""},
    {"duplicate_key.yml", "4:3: duplicate key \"timeout\" in api (first at line 2); keep only one"},
    // Unknown keys and wrong types.
    {"unknown_top_level_key.yml",
     "4:1: unknown key \"alerting\" at the top level; allowed keys: api, poll, metrics, esims, "
     "inventory, balance, alerts, webhook, accounts"},
    {"unknown_key_typo.yml",
     "2:3: unknown key \"interva\" in poll; did you mean \"interval\"? allowed keys: interval, "
     "stale_after"},
    {"unknown_esim_key.yml",
     "3:5: unknown key \"id\" in esims[0]; allowed keys: iccid, esim_id, name, labels, alerts"},
    {"section_not_map.yml",
     "1:6: api must be a map, got a list; write indented \"key: value\" lines under \"api:\""},
    {"value_not_scalar.yml",
     "2:8: api.url must be a single value, got a map; write one value after \"url:\""},
    {"value_missing.yml",
     "2:3: poll.interval has no value; write one after \"interval:\" or remove the line"},
    {"rate_limit_not_map.yml",
     "2:15: api.rate_limit must be a map, got a single value; write indented \"key: value\" "
     "lines under \"rate_limit:\""},
    {"export_imei_not_bool.yml",
     "2:16: metrics.export_imei must be true or false, got \"yes\"; write true or false "
     "unquoted"},
    // api.url
    {"url_scheme.yml",
     "2:8: api.url \"ftp://esimfly.net\" must start with https:// (or http:// for tests and "
     "local proxies); write e.g. https://esimfly.net"},
    {"url_no_host.yml",
     "2:8: api.url \"https:///v1\" has no host name; write e.g. https://esimfly.net"},
    {"url_query.yml",
     "2:8: api.url \"https://esimfly.net/?debug=1\" must not contain a query or fragment (? or "
     "#); give only the base URL, e.g. https://esimfly.net"},
    {"url_credentials.yml",  // the password must not be echoed
     "2:8: api.url must not contain a user name or password (user@host); the API signs requests "
     "with api.access_code and the secret key instead"},
    {"url_port.yml",
     "2:8: api.url \"https://esimfly.net:99999\" has an invalid port \"99999\"; write a number "
     "from 1 to 65535 after the colon, or no colon"},
    // Durations and numbers.
    {"timeout_no_unit.yml",
     "2:12: api.timeout \"30\" has no unit; add one, e.g. \"30s\" or \"30m\" (units: ms, s, m, "
     "h, d)"},
    {"timeout_bad_duration.yml",
     "2:12: api.timeout \"1m30\" is not a valid duration; write whole numbers with units, "
     "largest first, e.g. \"90s\", \"15m\" or \"1h30m\" (units: ms, s, m, h, d)"},
    {"timeout_zero.yml", "2:12: api.timeout is 0s; give a positive duration up to 5m, e.g. 30s"},
    {"timeout_too_long.yml",
     "2:12: api.timeout is 10m, longer than the 5m maximum; use at most 5m (the vendor suggests "
     "30s)"},
    {"max_concurrency_range.yml", "2:20: api.max_concurrency is 65; use a number from 1 to 64"},
    {"max_concurrency_text.yml",
     "2:20: api.max_concurrency must be a whole number, got \"four\"; write digits only, e.g. 4"},
    {"max_concurrency_quoted.yml",
     "2:20: api.max_concurrency must be a number, got the quoted text \"4\"; remove the quotes"},
    {"rate_limit_zero.yml",
     "4:15: api.rate_limit.per_hour is 0, a rate limit that would never allow a request; give a "
     "positive number, or remove the key to use the default (500)"},
    {"rate_limit_negative.yml",
     "3:17: api.rate_limit.per_minute is -5; give a positive number, or remove the key to use "
     "the default (30)"},
    {"rate_limit_fraction.yml",
     "3:14: api.rate_limit.per_day must be a whole number, got \"2.5\"; write digits only, e.g. "
     "5000"},
    {"interval_too_short.yml",
     "2:13: poll.interval is 30s, shorter than the 60s minimum; use at least 60s (live status "
     "is the API's most expensive read), e.g. 15m"},
    {"stale_after_zero.yml",
     "2:16: poll.stale_after is 0s; give a positive duration at least as long as poll.interval, "
     "e.g. 6h"},
    {"stale_after_shorter.yml",
     "3:16: poll.stale_after (10m) is shorter than poll.interval (15m); set it to at least 15m"},
    {"interval_beyond_default_stale.yml",
     "2:13: poll.interval (7h) is longer than poll.stale_after (6h, the default); set "
     "poll.stale_after to at least 7h"},
    // Files named by the config (relative to the config's directory).
    {"ca_file_missing.yml",
     "2:12: api.ca_file \"{dir}/no-such-ca.pem\": cannot read: No such file or directory; check "
     "the path and that the exporter's user may read it"},
    {"ca_file_not_pem.yml",
     "3:12: api.ca_file \"{dir}/ca_file_not_pem.yml\" holds no PEM certificate; give a file "
     "with one or more \"-----BEGIN CERTIFICATE-----\" blocks"},
    // Credentials.
    {"both_secret_key_and_file.yml",
     "3:3: api.secret_key and api.secret_key_file are both set (the other at line 2); keep only "
     "one"},
    {"both_access_code_and_file.yml",
     "3:3: api.access_code_file and api.access_code are both set (the other at line 2); keep "
     "only one"},
    {"missing_access_code.yml",
     "2:1: no API access code given; set api.access_code or api.access_code_file, or the "
     "environment variable ESIMFLY_ACCESS_CODE",
     Env::kNone},
    {"missing_secret_key.yml",
     "2:1: no API secret key given; set api.secret_key_file (recommended) or api.secret_key, "
     "the environment variable ESIMFLY_SECRET_KEY, or the systemd credential esimfly_secret_key "
     "(LoadCredential=)",
     Env::kNone},
    {"secret_key_empty.yml",
     "2:15: api.secret_key is empty; put the secret key in a file named by "
     "api.secret_key_file"},
    {"secret_key_file_missing.yml",
     "2:20: api.secret_key_file \"{dir}/no-such-secret\": cannot read: No such file or "
     "directory; check the path and that the exporter's user may read it"},
    // The eSIM list.
    {"esims_empty.yml",
     "1:8: nothing to monitor: esims lists no eSIM; add at least one entry with an iccid or "
     "esim_id, or set inventory.enabled and inventory.discover to true to monitor every eSIM on "
     "the account"},
    {"esims_missing.yml",
     "2:1: nothing to monitor: esims lists no eSIM; add at least one entry with an iccid or "
     "esim_id, or set inventory.enabled and inventory.discover to true to monitor every eSIM on "
     "the account"},
    {"esims_null.yml",
     "1:1: nothing to monitor: esims lists no eSIM; add at least one entry with an iccid or "
     "esim_id, or set inventory.enabled and inventory.discover to true to monitor every eSIM on "
     "the account"},
    {"esims_not_list.yml",
     "2:3: esims must be a list, got a map; write one \"- iccid: ...\" or \"- esim_id: ...\" "
     "entry per eSIM"},
    {"esim_not_map.yml",
     "2:5: esims[0] must be a map with an iccid or esim_id, got a single value; write e.g. - "
     "iccid: \"8948010010036785060\""},
    {"esim_both_ids.yml", "3:5: esims[0] has both iccid and esim_id; keep only one of them"},
    {"esim_no_id.yml",
     "4:5: esims[1] has neither iccid nor esim_id; add one of them to say which eSIM to "
     "monitor"},
    {"iccid_luhn.yml",
     "2:12: esims[0].iccid \"8948010010036785061\" fails the Luhn check: after the digits before "
     "it, the last digit should be 0; check the ICCID for a typo"},
    {"iccid_length.yml",
     "2:12: esims[0].iccid \"894801001003678506\" has 18 digits; an ICCID has 19 or 20, check "
     "for a missing or extra digit"},
    {"iccid_not_digits.yml",
     "2:12: esims[0].iccid \"8948 0100 1003 6785 060\" must contain digits only; remove spaces, "
     "dashes and letters"},
    {"esim_id_zero.yml",
     "2:14: esims[0].esim_id is 0; eSIM ids are positive whole numbers, copy it from the API's "
     "eSIM list"},
    {"esim_id_text.yml",
     "2:14: esims[0].esim_id must be a whole number, got \"abc\"; write digits only, e.g. "
     "12345"},
    {"duplicate_iccid.yml",  // the same ICCID, once quoted and once not
     "6:12: esims[2]: the eSIM with iccid 8948010010036785060 is already listed at line 2; "
     "remove one of the two entries"},
    {"duplicate_esim_id.yml",
     "5:14: esims[2]: the eSIM with esim_id 7 is already listed at line 2; remove one of the "
     "two entries"},
    {"duplicate_name.yml",
     "5:11: esims[1].name \"router\" is already used by the eSIM at line 3; give each eSIM its "
     "own name"},
    {"esim_id_without_name.yml",  // the name is optional only for an eSIM given by iccid
     "3:14: esims[1] is identified by esim_id and has no name; add a name: the ICCID label stays "
     "empty until the API has answered for it"},
    {"name_too_long.yml", "3:11: esims[0].name is 129 characters long; use at most 128"},
    {"name_not_utf8.yml", "3:19: the file is not valid UTF-8 (byte 0xC3); save it as UTF-8 text"},
    // Found by tests/fuzz/fuzz_config.cc: yaml-cpp 0.7 allocated without bound on this file
    // (13 GB in 30 s); invalid UTF-8 is now refused before yaml-cpp sees it.
    {"fuzz_invalid_utf8_runaway.yml",
     "6:1: the file is not valid UTF-8 (byte 0xDB); save it as UTF-8 text"},
    // Found by tests/fuzz/fuzz_config.cc: yaml-cpp 0.7's LoadAll loops for ever, allocating, on a
    // "," at the start of a line outside a flow collection (upstream issue #1040).
    {"stray_comma_hang.yml",
     "2:1: YAML syntax error: unexpected character; a \",\" or other flow character outside "
     "[...] or {...}? Quote the value if it is text"},
    {"fuzz_stray_comma_hang.yml",
     "12:1: YAML syntax error: unexpected character; a \",\" or other flow character outside "
     "[...] or {...}? Quote the value if it is text"},
    {"labels_not_map.yml",
     "3:13: esims[0].labels must be a map, got a list; write indented \"key: value\" lines "
     "under \"labels:\""},
    {"label_invalid_name.yml",
     "5:7: esims[0].labels: \"rack-row\" is not a valid label name; use letters, digits and "
     "underscores, not starting with a digit"},
    {"label_double_underscore.yml",
     "4:7: esims[0].labels: \"__address__\" starts with \"__\", which Prometheus reserves for "
     "internal use; rename it"},
    {"label_reserved.yml",
     "3:25: esims[0].labels: \"profile\" is a label name the exporter or Prometheus sets itself, "
     "and config labels go on every series of the eSIM; rename it"},
    {"label_reserved_instance.yml",  // Prometheus' target label
     "4:14: esims[0].labels: \"instance\" is a label name the exporter or Prometheus sets "
     "itself, and config labels go on every series of the eSIM; rename it"},
    {"label_reserved_threshold.yml",  // on esim_alert_threshold
     "6:7: esims[0].labels: \"threshold\" is a label name the exporter or Prometheus sets "
     "itself, and config labels go on every series of the eSIM; rename it"},
    {"label_value_not_scalar.yml",
     "4:13: esims[0].labels.site must be a single value, got a list; write one value after "
     "\"site:\""},
    // An encoded surrogate: the file's own strict check finds it before the label's.
    {"label_value_not_utf8.yml",
     "4:13: the file is not valid UTF-8 (byte 0xED); save it as UTF-8 text"},
    // inventory
    {"inventory_not_map.yml",
     "1:12: inventory must be a map, got a single value; write indented \"key: value\" lines "
     "under \"inventory:\""},
    {"inventory_unknown_key.yml",
     "3:3: unknown key \"sweep_interval\" in inventory; allowed keys: enabled, interval, "
     "statuses, discover, max_discovered"},
    {"inventory_unknown_key_typo.yml",
     "2:3: unknown key \"enable\" in inventory; did you mean \"enabled\"? allowed keys: enabled, "
     "interval, statuses, discover, max_discovered"},
    {"inventory_enabled_not_bool.yml",
     "2:12: inventory.enabled must be true or false, got \"yes\"; write true or false unquoted"},
    {"inventory_discover_not_bool.yml",
     "3:13: inventory.discover must be true or false, got \"true\"; write true or false "
     "unquoted"},
    {"inventory_interval_too_short.yml",
     "3:13: inventory.interval is 30s, shorter than the 60s minimum; use at least 60s (every "
     "sweep spends pages of the rate_limit budget), e.g. 10m"},
    {"inventory_interval_zero.yml",
     "3:13: inventory.interval is 0s; give at least 60s, e.g. 10m (to turn the sweeps off, set "
     "inventory.enabled: false)"},
    {"inventory_interval_no_unit.yml",
     "2:13: inventory.interval \"10\" has no unit; add one, e.g. \"10s\" or \"10m\" (units: ms, "
     "s, m, h, d)"},
    {"inventory_max_discovered_zero.yml",
     "4:19: inventory.max_discovered is 0; use a number from 1 to 10000000 (eSIMs discovery may "
     "add; the default is 50000)"},
    {"inventory_max_discovered_not_whole.yml",
     "4:19: inventory.max_discovered must be a whole number, got \"5e4\"; write digits only, "
     "e.g. 50000"},
    {"inventory_statuses_empty.yml",
     "3:13: inventory.statuses is empty, which would list no eSIM; name at least one status, "
     "e.g. [NEW, ACTIVE, DEPLETED, EXPIRED], or [all], or remove the key for the default"},
    {"inventory_statuses_null.yml",
     "3:3: inventory.statuses has no value; write a list after \"statuses:\", e.g. [NEW, "
     "ACTIVE, DEPLETED, EXPIRED], or [all], or remove the line"},
    {"inventory_statuses_not_list.yml",
     "3:13: inventory.statuses must be a list, got a single value; write e.g. [NEW, ACTIVE, "
     "DEPLETED, EXPIRED], or [all]"},
    {"inventory_status_unknown.yml",
     "3:19: inventory.statuses[1] \"PENDING\" is not a status; use NEW, ACTIVE, EXPIRED, "
     "CANCELLED, DEPLETED, DELETED, or [all] alone"},
    {"inventory_status_lowercase.yml",
     "3:19: inventory.statuses[1] \"active\" is not a status; statuses are in capitals, write "
     "ACTIVE"},
    {"inventory_status_not_scalar.yml",
     "5:7: inventory.statuses[1] must be a status name, got a map; use NEW, ACTIVE, EXPIRED, "
     "CANCELLED, DEPLETED, DELETED, or [all] alone"},
    {"inventory_status_duplicate.yml",
     "3:27: inventory.statuses[2] \"ACTIVE\" is already listed as inventory.statuses[0]; remove "
     "one (each entry costs its own paged listing)"},
    {"inventory_status_all_mixed.yml",
     "3:22: inventory.statuses: \"all\" already lists every status in one paged listing and "
     "cannot be mixed with others; write [all] alone, or remove it and keep the list"},
    {"inventory_discover_without_enabled.yml",
     "2:13: inventory.discover is true but inventory.enabled is not; discovery monitors the "
     "eSIMs that the inventory sweep finds, so set inventory.enabled: true, or remove "
     "inventory.discover"},
    {"inventory_discover_disabled_empty_esims.yml",  // the cause, not the empty list
     "4:13: inventory.discover is true but inventory.enabled is not; discovery monitors the "
     "eSIMs that the inventory sweep finds, so set inventory.enabled: true, or remove "
     "inventory.discover"},
    {"inventory_enabled_esims_null.yml",  // sweeps alone do not make an empty list valid
     "4:1: nothing to monitor: esims lists no eSIM; add at least one entry with an iccid or "
     "esim_id, or set inventory.enabled and inventory.discover to true to monitor every eSIM on "
     "the account"},
    // balance
    {"balance_not_map.yml",
     "1:10: balance must be a map, got a list; write indented \"key: value\" lines under "
     "\"balance:\""},
    {"balance_unknown_key.yml",
     "3:3: unknown key \"currency\" in balance; allowed keys: interval, low"},
    {"balance_low_negative.yml",
     "2:8: balance.low is -5; give 0 or more, in this account's currency (0 turns its "
     "low-balance alert off; without it, alerts.balance_low applies)"},
    {"balance_low_not_number.yml",
     "2:8: balance.low must be a number, got \"lots\"; write e.g. 50"},
    {"balance_low_quoted_in_account.yml",
     "7:12: balance.low must be a number, got the quoted text \"20\"; remove the quotes"},
    {"balance_interval_too_short.yml",
     "2:13: balance.interval is 30s, shorter than the 60s minimum; use at least 60s (every read "
     "spends a request of the rate_limit budget), e.g. 1h, or 0 to turn balance reads off"},
    {"balance_interval_bad_duration.yml",
     "2:13: balance.interval \"1h30\" is not a valid duration; write whole numbers with units, "
     "largest first, e.g. \"90s\", \"15m\" or \"1h30m\" (units: ms, s, m, h, d)"},
    // alerts
    {"alerts_not_map.yml",
     "1:9: alerts must be a map, got a list; write indented \"key: value\" lines under "
     "\"alerts:\""},
    {"alerts_unknown_key_typo.yml",
     "2:3: unknown key \"expiry_warnin\" in alerts; did you mean \"expiry_warning\"? allowed "
     "keys: data_usage_warning_ratio, data_usage_critical_ratio, expiry_warning, "
     "expiry_critical, balance_low, groups"},
    {"alerts_ratio_above_one.yml",  // a percentage instead of a ratio
     "2:29: alerts.data_usage_warning_ratio is 80; give a share of the plan's data above 0 and "
     "at most 1, e.g. 0.8 for 80 %"},
    {"alerts_ratio_zero.yml",
     "2:30: alerts.data_usage_critical_ratio is 0; give a share of the plan's data above 0 and "
     "at most 1, e.g. 0.8 for 80 %"},
    {"alerts_ratio_not_number.yml",
     "2:29: alerts.data_usage_warning_ratio must be a number, got \"high\"; write e.g. 0.8"},
    {"alerts_ratio_quoted.yml",
     "2:29: alerts.data_usage_warning_ratio must be a number, got the quoted text \"0.8\"; "
     "remove the quotes"},
    {"alerts_ratio_nan.yml",
     "2:29: alerts.data_usage_warning_ratio must be a number, got \".nan\"; write e.g. 0.8"},
    {"alerts_warning_above_default_critical.yml",  // the other value is the built-in default
     "2:29: alerts.data_usage_warning_ratio (0.96) is above the default "
     "data_usage_critical_ratio (0.95); the warning must not come after the critical alert: "
     "lower data_usage_warning_ratio or raise data_usage_critical_ratio"},
    {"alerts_warning_above_critical.yml",  // both set: the warning is blamed
     "3:29: alerts.data_usage_warning_ratio (0.92) is above alerts.data_usage_critical_ratio "
     "(0.9); the warning must not come after the critical alert: lower "
     "data_usage_warning_ratio or raise data_usage_critical_ratio"},
    {"alerts_expiry_critical_longer.yml",
     "2:20: alerts.expiry_critical (14d) is longer than the default expiry_warning (7d); the "
     "critical alert must come closer to expiry than the warning: shorten expiry_critical or "
     "lengthen expiry_warning"},
    {"alerts_expiry_zero.yml",
     "2:19: alerts.expiry_warning is 0s; give a positive time before expiry, e.g. 7d"},
    {"alerts_expiry_no_unit.yml",
     "2:19: alerts.expiry_warning \"7\" has no unit; add one, e.g. \"7s\" or \"7m\" (units: ms, "
     "s, m, h, d)"},
    {"alerts_balance_low_negative.yml",
     "2:16: alerts.balance_low is -5; give 0 or more, in the account's currency (0 turns the "
     "low-balance alert off)"},
    {"alerts_groups_not_list.yml",
     "2:11: alerts.groups must be a list, got a map; write one \"- match: {fleet: trackers}\" "
     "with thresholds under it per group"},
    {"alerts_group_not_map.yml",
     "3:7: alerts.groups[0] must be a map, got a single value; write \"- match: {fleet: "
     "trackers}\" with thresholds under it"},
    {"alerts_group_no_match.yml",
     "3:7: alerts.groups[0] has no match; add e.g. \"match: {fleet: trackers}\" to say which "
     "eSIMs (by their labels:) it applies to"},
    {"alerts_group_match_empty.yml",
     "3:14: alerts.groups[0].match is empty, which would match every eSIM; name labels, e.g. "
     "{fleet: trackers}, or set the thresholds for all eSIMs directly under alerts:"},
    {"alerts_group_match_reserved.yml",
     "3:15: alerts.groups[0].match: \"name\" is set by the exporter, not by esims[].labels, so "
     "it matches no eSIM; match on the eSIMs' config labels"},
    {"alerts_group_balance_low.yml",
     "4:7: alerts.groups[0].balance_low is for the whole account (the balance is one figure); "
     "set it once directly under alerts:"},
    {"alerts_group_critical_below_default_warning.yml",
     "4:34: alerts.groups[0].data_usage_critical_ratio (0.7) is below the default "
     "data_usage_warning_ratio (0.8); the warning must not come after the critical alert: "
     "lower data_usage_warning_ratio or raise data_usage_critical_ratio"},
    {"esim_alerts_order.yml",  // the eSIM's own value against its group's
     "9:41: esims[0].alerts.data_usage_critical_ratio (0.85) is below "
     "alerts.groups[0].data_usage_warning_ratio (0.9); the warning must not come after the "
     "critical alert: lower data_usage_warning_ratio or raise data_usage_critical_ratio"},
    {"esim_alerts_expiry_order.yml",
     "5:23: esims[0].alerts.expiry_warning (12h) is shorter than the default expiry_critical "
     "(1d); the critical alert must come closer to expiry than the warning: shorten "
     "expiry_critical or lengthen expiry_warning"},
    {"esim_alerts_balance_low.yml",
     "4:14: esims[0].alerts.balance_low is for the whole account (the balance is one figure); "
     "set it once directly under alerts:"},
    {"esim_alerts_not_map.yml",
     "4:13: esims[0].alerts must be a map, got a single value; write indented \"key: value\" "
     "lines under \"alerts:\""},
    // webhook
    {"webhook_check_interval_too_short.yml",
     "3:19: webhook.check_interval is 10s, shorter than the 60s minimum; use at least 60s "
     "(every read spends a request of the rate_limit budget), e.g. 1h, or 0 to turn "
     "subscription reads off"},
    {"webhook_public_url_empty_port.yml",
     "3:15: webhook.public_url \"https://[::1]:/webhook\" has an invalid port; write a number "
     "from 1 to 65535 after the colon, or no colon"},
    {"webhook_public_url_http.yml",
     "3:15: webhook.public_url \"http://esim.example.com/webhook\" must start with https:// "
     "(the vendor delivers to HTTPS URLs only); write e.g. https://esim.example.com/webhook"},
    {"webhook_public_url_no_host.yml",
     "3:15: webhook.public_url \"https://:8443/webhook\" has no host name; write e.g. "
     "https://esim.example.com/webhook"},
    {"webhook_public_url_password.yml",
     "3:15: webhook.public_url must not contain a user name or password (user@host); "
     "deliveries are authenticated by their signature"},
    {"webhook_public_url_port.yml",
     "3:15: webhook.public_url \"https://esim.example.com:99999/webhook\" has an invalid port; "
     "write a number from 1 to 65535 after the colon, or no colon"},
    {"webhook_listen_address_no_port.yml",
     "3:19: webhook.listen_address \"localhost\" is not [HOST]:PORT; write e.g. \":10418\" or "
     "\"127.0.0.1:10418\", or leave it out to serve the receiver on the main listener"},
    {"webhook_max_age_too_long.yml",
     "3:12: webhook.max_age is 2d; use 60s to 1d (delivery ids are remembered for 1d, so "
     "an older delivery could be a replay), e.g. 1h"},
    {"webhook_max_age_too_short.yml",
     "3:12: webhook.max_age is 10s; use 60s to 1d (delivery ids are remembered for 1d, so "
     "an older delivery could be a replay), e.g. 1h"},
    {"webhook_no_secret.yml",
     "1:1: no webhook secret given; set webhook.secret_file (recommended) or "
     "webhook.secret, the environment variable ESIMFLY_WEBHOOK_SECRET, or the systemd "
     "credential esimfly_webhook_secret (the secret is shown once by the vendor when the "
     "subscription is set)"},
    {"webhook_not_map.yml",
     "1:10: webhook must be a map, got a list; write indented \"key: value\" lines under "
     "\"webhook:\""},
    {"webhook_path_query.yml",
     "2:9: webhook.path \"/hook?x=1\" may not contain spaces, control characters, \"?\", \"#\" "
     "or \"%\"; write a plain path, e.g. /webhook"},
    {"webhook_path_relative.yml",
     "2:9: webhook.path \"hook\" must start with \"/\"; write e.g. /webhook"},
    {"webhook_path_reserved.yml",
     "2:9: webhook.path \"/-/reload\" is one of the exporter's own pages; choose another, "
     "e.g. /webhook"},
    {"webhook_secret_both.yml",
     "3:3: webhook.secret_file and webhook.secret are both set (the other at line 2); keep"
     " only one"},
    {"webhook_secret_empty.yml",
     "2:11: webhook.secret is empty; put the webhook secret in a file named by "
     "webhook.secret_file"},
    {"webhook_secret_file_missing.yml",
     "2:16: webhook.secret_file \"/nonexistent/whsec\": cannot read: No such file or "
     "directory; check the path and that the exporter's user may read it"},
    {"webhook_unknown_key.yml",
     "3:3: unknown key \"sekret_file\" in webhook; did you mean \"secret_file\"? allowed keys:"
     " path, secret, secret_file, max_age, public_url, check_interval, listen_address"},
};

INSTANTIATE_TEST_SUITE_P(Table, InvalidConfigTest, testing::ValuesIn(kInvalidCases),
                         [](const testing::TestParamInfo<InvalidCase>& param_info) {
                           std::string name =
                               param_info.param.file.substr(0, param_info.param.file.find('.'));
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// Every file in invalid/ has a row, so a new file cannot be forgotten.
TEST(InvalidConfigTableTest, CoversEveryFile) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(kInvalidDir)) {
    files.push_back(entry.path().filename().string());
  }
  std::vector<std::string> rows;
  for (const InvalidCase& c : kInvalidCases) rows.push_back(c.file);
  std::sort(files.begin(), files.end());
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(files, rows);
}

// --- helpers ------------------------------------------------------------------------------------

TEST(EsimConfigTest, Key) {
  EsimConfig by_iccid;
  by_iccid.iccid = "8948010010036785060";
  EXPECT_EQ(by_iccid.Key(), "iccid:8948010010036785060");
  EsimConfig by_id;
  by_id.esim_id = 12345;
  EXPECT_EQ(by_id.Key(), "esim_id:12345");
}

TEST(EsimConfigTest, FromKeyGivesBackTheIdentityAlone) {
  const EsimConfig by_iccid = EsimConfig::FromKey("iccid:8948010010036785060");
  EXPECT_EQ(by_iccid.iccid, "8948010010036785060");
  EXPECT_FALSE(by_iccid.esim_id);
  EXPECT_EQ(by_iccid.Key(), "iccid:8948010010036785060");
  const EsimConfig by_id = EsimConfig::FromKey("esim_id:12345");
  EXPECT_EQ(by_id.esim_id, 12345);
  EXPECT_TRUE(by_id.iccid.empty());
  EXPECT_EQ(by_id.Key(), "esim_id:12345");
  for (const char* not_a_key : {"", "iccid", "esim_id:", "esim_id:12x", "esim_id:-", "id:5"}) {
    const EsimConfig none = EsimConfig::FromKey(not_a_key);
    EXPECT_TRUE(none.iccid.empty()) << not_a_key;
    EXPECT_FALSE(none.esim_id) << not_a_key;
  }
  EXPECT_EQ(KeysOf({by_iccid, by_id}),
            (std::vector<std::string>{"iccid:8948010010036785060", "esim_id:12345"}));
}

// HasKey(k) is Key() == k for every kind of key and near miss.
TEST(EsimConfigTest, HasKeyIsKeyEquality) {
  EsimConfig by_iccid;
  by_iccid.iccid = "8948010010036785060";
  EsimConfig by_id;
  by_id.esim_id = 12345;
  by_id.iccid = "8948010010036785060";  // the id wins, as in Key()
  EsimConfig negative;
  negative.esim_id = -5;
  EsimConfig neither;
  const std::vector<std::string> keys = {"iccid:8948010010036785060",
                                         "iccid:894801001003678506",
                                         "iccid:89480100100367850600",
                                         "esim_id:12345",
                                         "esim_id:1234",
                                         "esim_id:123456",
                                         "esim_id:012345",
                                         "esim_id:-5",
                                         "esim_id:5",
                                         "iccid:",
                                         "esim_id:",
                                         "",
                                         "8948010010036785060",
                                         "id:12345"};
  for (const EsimConfig& esim : {by_iccid, by_id, negative, neither}) {
    for (const std::string& key : keys) {
      EXPECT_EQ(esim.HasKey(key), esim.Key() == key) << esim.Key() << " vs " << key;
    }
    EXPECT_TRUE(esim.HasKey(esim.Key())) << esim.Key();
  }
}

TEST(ProcessEnvironmentTest, ReadsTheProcessEnvironment) {
  const EnvLookup env = ProcessEnvironment();
  ASSERT_EQ(setenv("ESIM_CONFIG_TEST_VARIABLE", "value", 1), 0);
  EXPECT_EQ(env("ESIM_CONFIG_TEST_VARIABLE"), "value");
  ASSERT_EQ(unsetenv("ESIM_CONFIG_TEST_VARIABLE"), 0);
  EXPECT_EQ(env("ESIM_CONFIG_TEST_VARIABLE"), std::nullopt);
}

// --- several accounts ---------------------------------------------------------------------------

// Two accounts: acme with its credentials in files, globex-eu from its own environment variables.
constexpr char kTwoAccounts[] =
    "poll:\n"                                                             // 1
    "  interval: 30m\n"                                                   // 2
    "alerts:\n"                                                           // 3
    "  groups:\n"                                                         // 4
    "    - match: {fleet: trackers}\n"                                    // 5
    "      data_usage_warning_ratio: 0.5\n"                               // 6
    "accounts:\n"                                                         // 7
    "  - name: acme\n"                                                    // 8
    "    api:\n"                                                          // 9
    "      access_code: acme-code\n"                                      // 10
    "      secret_key_file: acme.key\n"                                   // 11
    "      rate_limit: {per_minute: 20, per_hour: 400, per_day: 4000}\n"  // 12
    "    esims:\n"                                                        // 13
    "      - iccid: \"8948010010036785060\"\n"                            // 14
    "        name: a1\n"                                                  // 15
    "        labels: {fleet: trackers}\n"                                 // 16
    "    webhook:\n"                                                      // 17
    "      secret_file: acme.whsec\n"                                     // 18
    "  - name: globex-eu\n"                                               // 19
    "    api:\n"                                                          // 20
    "      url: https://globex.example\n"                                 // 21
    "    balance: {interval: 0, low: 5000}\n"                             // 22
    "    # low: in globex-eu's own currency\n"                            // 23
    "    esims:\n"                                                        // 24
    "      - esim_id: 77\n"                                               // 25
    "        name: a1\n";                                                 // 26

EnvLookup GlobexEnv() {
  return FakeEnv({{"ESIMFLY_GLOBEX_EU_ACCESS_CODE", "globex-code"},
                  {"ESIMFLY_GLOBEX_EU_SECRET_KEY", "globex-secret"},
                  {"ESIMFLY_GLOBEX_EU_WEBHOOK_SECRET", "whsec_globex"}});
}

// A config with two accounts; `extra` is appended (more accounts or a top-level block).
std::string WriteTwoAccounts(const TempDir& dir, const std::string& extra = "") {
  dir.Write("acme.key", "acme-secret\n");
  dir.Write("acme.whsec", "whsec_acme\n");
  return dir.Write("c.yml", kTwoAccounts + extra);
}

TEST(AccountsConfigTest, TwoAccountsEachGetTheirOwnBlocksAndTheSharedOnes) {
  TempDir dir;
  const std::string path = WriteTwoAccounts(dir);
  const Config config = LoadConfig(path, GlobexEnv());
  EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();
  EXPECT_TRUE(config.esims.empty());
  EXPECT_EQ(config.account, "");
  ASSERT_EQ(config.accounts.size(), 2u);
  const Config& acme = config.accounts[0];
  const Config& globex = config.accounts[1];
  // Each account's balance is in its own currency: its own low-balance threshold.
  EXPECT_EQ(acme.BalanceLow(), 50);
  EXPECT_EQ(globex.balance.low, 5000);
  EXPECT_EQ(globex.BalanceLow(), 5000);
  EXPECT_EQ(acme.account, "acme");
  EXPECT_EQ(globex.account, "globex-eu");
  for (const Config& account : config.accounts) {
    EXPECT_EQ(account.path, path);
    EXPECT_EQ(account.poll.interval, minutes(30));
    EXPECT_EQ(account.alerts, config.alerts);
    EXPECT_TRUE(account.accounts.empty());
  }
  EXPECT_EQ(acme.api.access_code, "acme-code");
  EXPECT_EQ(acme.api.secret_key.Reveal(), "acme-secret");
  EXPECT_EQ(acme.api.secret_key_file, dir.Path("acme.key"));
  EXPECT_EQ(acme.api.rate_limit, (RateLimitConfig{20, 400, 4000}));
  EXPECT_EQ(acme.api.url, "https://esimfly.net");
  ASSERT_EQ(acme.esims.size(), 1u);
  EXPECT_EQ(acme.esims[0].account, "acme");
  EXPECT_EQ(acme.esims[0].iccid, "8948010010036785060");
  // The shared group applies to the eSIM whose labels it matches.
  EXPECT_EQ(acme.esims[0].alerts.data_usage_warning_ratio, 0.5);
  EXPECT_TRUE(acme.webhook.enabled);
  EXPECT_EQ(acme.webhook.path, "/webhook/acme");
  EXPECT_EQ(acme.webhook.secret.Reveal(), "whsec_acme");
  EXPECT_EQ(acme.balance.interval, hours(1));

  EXPECT_EQ(globex.api.url, "https://globex.example");
  EXPECT_EQ(globex.api.access_code, "globex-code");
  EXPECT_EQ(globex.api.secret_key.Reveal(), "globex-secret");
  EXPECT_EQ(globex.api.rate_limit, RateLimitConfig{});
  ASSERT_EQ(globex.esims.size(), 1u);
  EXPECT_EQ(globex.esims[0].account, "globex-eu");
  EXPECT_EQ(globex.esims[0].esim_id, 77);
  EXPECT_TRUE(globex.esims[0].alerts.empty());
  // The same eSIM name in two accounts is fine: the account label tells them apart.
  EXPECT_EQ(globex.esims[0].name, "a1");
  EXPECT_FALSE(globex.webhook.enabled);
  EXPECT_EQ(globex.balance.interval, milliseconds(0));

  // The accounts to run are the config's own, not copies of them.
  const std::vector<const Config*> run = AccountsOf(config);
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run[0], &acme);
  EXPECT_EQ(run[1], &globex);
}

TEST(AccountsConfigTest, DroppingTheEsimListsEmptiesAndFreesThemInEveryAccount) {
  TempDir dir;
  Config config = LoadConfig(WriteTwoAccounts(dir), GlobexEnv());
  config.esims.resize(3);  // the top-level list is empty with accounts: give it some anyway
  ASSERT_GT(config.accounts[0].esims.capacity(), 0u);
  const Config acme_before = config.accounts[0];
  DropEsimLists(config);
  // Capacity 0: `esims = {}` or clear() would leave the buffers allocated.
  EXPECT_EQ(config.esims.capacity(), 0u);
  for (const Config& account : config.accounts) {
    EXPECT_TRUE(account.esims.empty());
    EXPECT_EQ(account.esims.capacity(), 0u);
  }
  // Nothing else changes.
  Config acme_without_esims = acme_before;
  acme_without_esims.esims.clear();
  EXPECT_EQ(config.accounts[0], acme_without_esims);
}

TEST(AccountsConfigTest, DroppingTheEsimListsWithoutAccountsFreesTheTopLevelList) {
  Config config = LoadConfig(kConfigDir + "/valid/minimal.yml", CredentialsEnv());
  ASSERT_GT(config.esims.capacity(), 0u);
  DropEsimLists(config);
  EXPECT_EQ(config.esims.capacity(), 0u);
  EXPECT_TRUE(config.accounts.empty());
}

TEST(AccountsConfigTest, WithoutAccountsTheTopLevelBlocksAreTheOneUnnamedAccount) {
  const Config config = LoadConfig(kConfigDir + "/valid/minimal.yml", CredentialsEnv());
  EXPECT_TRUE(config.accounts.empty());
  EXPECT_EQ(config.account, "");
  ASSERT_FALSE(config.esims.empty());
  EXPECT_EQ(config.esims[0].account, "");
  ASSERT_EQ(AccountsOf(config).size(), 1u);
  EXPECT_EQ(AccountsOf(config)[0], &config);
}

TEST(AccountsConfigTest, EnvironmentVariablesAreTheAccountsOwnNeverTheUnprefixedOnes) {
  TempDir dir;
  const std::string path = WriteTwoAccounts(dir);
  // The unprefixed variables are for the unnamed account only: globex-eu must not take them.
  EXPECT_EQ(
      ErrorOf(path, FakeEnv({{"ESIMFLY_ACCESS_CODE", "shared"}, {"ESIMFLY_SECRET_KEY", "shared"}})),
      path +
          ":20:5: account \"globex-eu\": no API access code given; set api.access_code or "
          "api.access_code_file in the account, the environment variable "
          "ESIMFLY_GLOBEX_EU_ACCESS_CODE, or the systemd credential "
          "esimfly_globex-eu_access_code");
  EXPECT_EQ(ErrorOf(path, FakeEnv({{"ESIMFLY_GLOBEX_EU_ACCESS_CODE", "c"}})),
            path +
                ":20:5: account \"globex-eu\": no API secret key given; set api.secret_key_file "
                "(recommended) or api.secret_key in the account, the environment variable "
                "ESIMFLY_GLOBEX_EU_SECRET_KEY, or the systemd credential "
                "esimfly_globex-eu_secret_key (LoadCredential=)");
  // An account's own variable does not reach another account that sets it in the file.
  const Config config = LoadConfig(path, FakeEnv({{"ESIMFLY_GLOBEX_EU_ACCESS_CODE", "c"},
                                                  {"ESIMFLY_GLOBEX_EU_SECRET_KEY", "s"},
                                                  {"ESIMFLY_ACME_ACCESS_CODE", "not-used"}}));
  EXPECT_EQ(config.accounts[0].api.access_code, "acme-code");
  EXPECT_EQ(config.accounts[1].api.secret_key.Reveal(), "s");
}

TEST(AccountsConfigTest, SystemdCredentialsAndWebhookSecretsPerAccount) {
  TempDir dir;
  dir.Write("esimfly_globex-eu_secret_key", "cred-secret\n");
  dir.Write("esimfly_globex-eu_access_code", "cred-code\n");
  dir.Write("esimfly_globex-eu_webhook_secret", "whsec_cred\n");
  const std::string path = WriteTwoAccounts(dir,
                                            "    webhook:\n"
                                            "      path: /hooks/globex\n");
  const Config config = LoadConfig(path, FakeEnv({{"CREDENTIALS_DIRECTORY", dir.path()}}));
  const Config& globex = config.accounts[1];
  EXPECT_EQ(globex.api.access_code, "cred-code");
  EXPECT_EQ(globex.api.secret_key.Reveal(), "cred-secret");
  EXPECT_EQ(globex.webhook.secret.Reveal(), "whsec_cred");
  EXPECT_EQ(globex.webhook.path, "/hooks/globex");
  EXPECT_EQ(config.accounts[0].webhook.secret.Reveal(), "whsec_acme");
  // Without any source, the message names the account's own variable and credential.
  TempDir empty;
  EXPECT_EQ(ErrorOf(path, FakeEnv({{"ESIMFLY_GLOBEX_EU_ACCESS_CODE", "c"},
                                   {"ESIMFLY_GLOBEX_EU_SECRET_KEY", "s"},
                                   {"ESIMFLY_WEBHOOK_SECRET", "whsec_unprefixed"},
                                   {"CREDENTIALS_DIRECTORY", empty.path()}})),
            path +
                ":27:5: account \"globex-eu\": no webhook secret given; set webhook.secret_file "
                "(recommended) or webhook.secret in the account, the environment variable "
                "ESIMFLY_GLOBEX_EU_WEBHOOK_SECRET, or the systemd credential "
                "esimfly_globex-eu_webhook_secret (the secret is shown once by the vendor when the "
                "subscription is set)");
}

TEST(AccountsConfigTest, CredentialFilesAreReadPerAccountWithTheSameMessages) {
  TempDir dir;
  const std::string path = WriteTwoAccounts(dir,
                                            "    webhook:\n"
                                            "      secret_file: missing.whsec\n");
  EXPECT_EQ(ErrorOf(path, GlobexEnv()),
            path + ":28:20: webhook.secret_file \"" + dir.Path("missing.whsec") +
                "\": cannot read: No such file or directory; check the path and that the "
                "exporter's user may read it");
  // Both of a value and its file in one account: the same message as at the top level.
  const std::string both = dir.Write("both.yml", std::string(kTwoAccounts) +
                                                     "    webhook:\n"
                                                     "      secret: whsec_x\n"
                                                     "      secret_file: x.whsec\n");
  EXPECT_EQ(ErrorOf(both, GlobexEnv()),
            both +
                ":29:7: webhook.secret_file and webhook.secret are both set (the other at line "
                "28); keep only one");
}

TEST(AccountsConfigTest, WebhookPathsDefaultToTheNameAndMustDiffer) {
  TempDir dir;
  const std::string same_default = WriteTwoAccounts(dir,
                                                    "    webhook:\n"
                                                    "      path: /webhook/acme\n");
  EXPECT_EQ(ErrorOf(same_default, GlobexEnv()),
            same_default +
                ":28:13: webhook.path \"/webhook/acme\" of account \"globex-eu\" is already the "
                "receiver path of account \"acme\" (line 17); the path tells the accounts apart: "
                "give each its own, e.g. /webhook/globex-eu");
  const std::string shared = dir.Write("shared.yml",
                                       "accounts:\n"
                                       "  - name: a\n"
                                       "    esims: [{iccid: \"8948010010036785060\"}]\n"
                                       "    webhook: {path: /hook}\n"
                                       "  - name: b\n"
                                       "    esims: [{iccid: \"8948010010036785078\"}]\n"
                                       "    webhook: {path: /hook}\n");
  EXPECT_EQ(ErrorOf(shared, FakeEnv({{"ESIMFLY_A_ACCESS_CODE", "a"},
                                     {"ESIMFLY_A_SECRET_KEY", "a"},
                                     {"ESIMFLY_A_WEBHOOK_SECRET", "a"},
                                     {"ESIMFLY_B_ACCESS_CODE", "b"},
                                     {"ESIMFLY_B_SECRET_KEY", "b"},
                                     {"ESIMFLY_B_WEBHOOK_SECRET", "b"}})),
            shared +
                ":7:21: webhook.path \"/hook\" of account \"b\" is already the receiver path of "
                "account \"a\" (line 4); the path tells the accounts apart: give each its own, "
                "e.g. /webhook/b");
}

// The eSIM part of the two-account config: its `extra` lines start at line 27.
TEST(AccountsConfigTest, AnEsimUnderTwoAccountsNamesBothPlaces) {
  TempDir dir;
  const std::string iccid = WriteTwoAccounts(dir, "      - iccid: \"8948010010036785060\"\n");
  EXPECT_EQ(ErrorOf(iccid, GlobexEnv()),
            iccid +
                ":27:16: esims[1] of account \"globex-eu\": the eSIM with iccid "
                "8948010010036785060 is already listed at line 14 under account \"acme\"; an "
                "eSIM belongs to the one account whose API key sees it: remove one of the two "
                "entries");
  const std::string id = dir.Write("id.yml", std::string(kTwoAccounts) +
                                                 "  - name: initech\n"
                                                 "    esims:\n"
                                                 "      - esim_id: 77\n"
                                                 "        name: x\n");
  EXPECT_EQ(ErrorOf(id, GlobexEnv()),
            id + ":29:18: esims[0] of account \"initech\": the eSIM with esim_id 77 is already "
                 "listed at line 25 under account \"globex-eu\"; an eSIM belongs to the one "
                 "account whose API key sees it: remove one of the two entries");
  // Within one account the message stays the one of the top-level esims.
  const std::string twice = dir.Write("twice.yml", std::string(kTwoAccounts) +
                                                       "      - esim_id: 77\n"
                                                       "        name: b\n");
  EXPECT_EQ(ErrorOf(twice, GlobexEnv()),
            twice +
                ":27:18: esims[1]: the eSIM with esim_id 77 is already listed at line 25; remove "
                "one of the two entries");
}

TEST(AccountsConfigTest, AccountNamesAreCheckedAndUnique) {
  TempDir dir;
  const auto error_for = [&](const std::string& accounts) {
    return ErrorOf(dir.Write("n.yml", "accounts:\n" + accounts), FakeEnv({}));
  };
  const std::string path = dir.Path("n.yml");
  const std::string fix =
      " is not a valid account name; use 1 to 63 lowercase letters, digits, \"_\" and \"-\", "
      "starting with a letter, e.g. acme";
  EXPECT_EQ(error_for("  - name: Acme\n"), path + ":2:11: accounts[0].name \"Acme\"" + fix);
  EXPECT_EQ(error_for("  - name: 1acme\n"), path + ":2:11: accounts[0].name \"1acme\"" + fix);
  EXPECT_EQ(error_for("  - name: a.b\n"), path + ":2:11: accounts[0].name \"a.b\"" + fix);
  EXPECT_EQ(error_for("  - name: " + std::string(64, 'a') + "\n"),
            path + ":2:11: accounts[0].name \"" + std::string(64, 'a') + "\"" + fix);
  EXPECT_EQ(error_for("  - name: \"\"\n"), path + ":2:11: accounts[0].name \"\"" + fix);
  EXPECT_EQ(error_for("  - esims: []\n"),
            path +
                ":2:5: accounts[0] has no name; add e.g. \"name: acme\" (1 to 63 lowercase "
                "letters, digits, \"_\" and \"-\"; it becomes the account label)");
  EXPECT_EQ(error_for("  - name: acme\n  - name: acme\n"),
            path +
                ":3:11: accounts[1].name \"acme\" is already the name of the account at line 2; "
                "give each account its own name");
  EXPECT_EQ(error_for("  - name: a-b\n  - name: a_b\n"),
            path +
                ":3:11: accounts[1].name \"a_b\" and the account \"a-b\" at line 2 would read "
                "the same environment variables (ESIMFLY_A_B_...); rename one of them");
  // 63 characters is the longest name.
  dir.Write("k", "key\n");
  const std::string longest = std::string(63, 'z');
  const Config config =
      LoadConfig(dir.Write("ok.yml", "accounts:\n  - name: " + longest +
                                         "\n    api: {access_code: a, secret_key_file: k}\n"
                                         "    esims: [{iccid: \"8948010010036785060\"}]\n"),
                 FakeEnv({}));
  EXPECT_EQ(config.accounts.at(0).account, longest);
}

TEST(AccountsConfigTest, TheListAndItsEntriesMustHaveTheRightShape) {
  TempDir dir;
  const auto error_for = [&](const std::string& text) {
    return ErrorOf(dir.Write("s.yml", text),
                   FakeEnv({{"ESIMFLY_ACME_ACCESS_CODE", "a"}, {"ESIMFLY_ACME_SECRET_KEY", "s"}}));
  };
  const std::string path = dir.Path("s.yml");
  EXPECT_EQ(error_for("accounts: []\n"),
            path +
                ":1:11: accounts is empty; write one \"- name: acme\" entry per account, with its "
                "api, esims, inventory, balance and webhook under it, or remove accounts: and "
                "use the top-level blocks for one account");
  EXPECT_EQ(error_for("accounts:\n"),
            path +
                ":1:1: accounts is empty; write one \"- name: acme\" entry per account, with its "
                "api, esims, inventory, balance and webhook under it, or remove accounts: and "
                "use the top-level blocks for one account");
  EXPECT_EQ(error_for("accounts: {name: acme}\n"),
            path +
                ":1:11: accounts must be a list, got a map; write one \"- name: acme\" entry per "
                "account, with its api, esims, inventory, balance and webhook under it");
  EXPECT_EQ(error_for("accounts:\n  - acme\n"),
            path +
                ":2:5: accounts[0] must be a map with a name, got a single value; write e.g. "
                "\"- name: acme\" with the account's api and esims under it");
  EXPECT_EQ(error_for("accounts:\n  - name: acme\n    poll: {interval: 1h}\n"),
            path +
                ":3:5: accounts[0].poll is shared by all accounts; move it to the top level of "
                "the config");
  EXPECT_EQ(error_for("accounts:\n  - name: acme\n    alerts: {}\n"),
            path +
                ":3:5: accounts[0].alerts is shared by all accounts (alerts.groups match eSIM "
                "labels in every account); move it to the top level of the config");
  // The blocks keep their own messages inside an account.
  EXPECT_EQ(error_for("accounts:\n  - name: acme\n    api:\n      timeout: 10m\n"),
            path +
                ":4:16: api.timeout is 10m, longer than the 5m maximum; use at most 5m (the "
                "vendor suggests 30s)");
  EXPECT_EQ(error_for("accounts:\n  - name: acme\n    inventory: {discover: true}\n"),
            path +
                ":3:27: inventory.discover is true but inventory.enabled is not; discovery "
                "monitors the eSIMs that the inventory sweep finds, so set inventory.enabled: "
                "true, or remove inventory.discover");
}

TEST(AccountsConfigTest, TopLevelAccountBlocksBesideAccountsAreAnError) {
  TempDir dir;
  for (const std::string block : {"api", "esims", "inventory", "balance", "webhook"}) {
    const std::string path = WriteTwoAccounts(dir, block + ":\n");
    EXPECT_EQ(ErrorOf(path, GlobexEnv()),
              path + ":27:1: " + block +
                  " at the top level cannot be used together with accounts: (the top-level "
                  "blocks are the one unnamed account); move it into an account, under "
                  "accounts[].")
        << block;
  }
  // Before accounts: as well.
  const std::string before = dir.Write(
      "before.yml", std::string("esims:\n  - iccid: \"8948010010036785078\"\n") + kTwoAccounts);
  EXPECT_TRUE(ErrorOf(before, GlobexEnv()).starts_with(before + ":1:1: esims at the top level"))
      << ErrorOf(before, GlobexEnv());
}

TEST(AccountsConfigTest, AnAccountWithoutEsimsWarnsUnlessNoAccountMonitorsAnything) {
  TempDir dir;
  const std::string path = WriteTwoAccounts(dir,
                                            "  - name: empty\n"
                                            "    api: {access_code: e, secret_key: e}\n"
                                            "    esims: []\n");
  const Config config = LoadConfig(path, GlobexEnv());
  ASSERT_EQ(config.accounts.size(), 3u);
  EXPECT_TRUE(config.accounts[2].esims.empty());
  const std::string warning =
      path +
      ":29:12: account \"empty\" monitors nothing: its esims lists no eSIM and "
      "inventory.discover is off; add eSIMs to it, set its inventory.enabled and "
      "inventory.discover to true, or remove the account";
  EXPECT_NE(std::find(config.warnings.begin(), config.warnings.end(), warning),
            config.warnings.end());
  // Discovery counts as monitoring.
  const std::string discovery =
      dir.Write("d.yml",
                "accounts:\n  - name: d\n    api: {access_code: e, secret_key_file: k}\n"
                "    inventory: {enabled: true, discover: true}\n  - name: e\n"
                "    api: {access_code: e, secret_key_file: k}\n");
  dir.Write("k", "key\n");
  const Config discovered = LoadConfig(discovery, FakeEnv({}));
  EXPECT_EQ(discovered.warnings.size(), 1u);
  EXPECT_EQ(ErrorOf(dir.Write("none.yml",
                              "accounts:\n  - name: d\n    api: {access_code: e, "
                              "secret_key_file: k}\n"),
                    FakeEnv({})),
            dir.Path("none.yml") +
                ":1:1: nothing to monitor: no account lists an eSIM; add at least one entry "
                "with an iccid or esim_id to an account's esims, or set inventory.enabled and "
                "inventory.discover to true in an account to monitor every eSIM on it");
}

// --- large files ---------------------------------------------------------------------------------

// `count` eSIM entries from number `first` on, as scripts/gen-config.py writes them, indented by
// `indent` (the "- " of each entry included).
std::string ManyEsims(int first, int count, const std::string& indent) {
  std::string yaml;
  for (int i = first; i < first + count; ++i) {
    char payload[24];
    std::snprintf(payload, sizeof payload, "894400000%09d", i);
    yaml += indent + "- iccid: \"" + payload + LuhnCheckDigit(payload) + "\"\n" + indent +
            "  name: esim-" + std::to_string(i) + "\n" + indent + "  labels: {site: site-" +
            std::to_string(i % 50) + ", fleet: routers}\n";
  }
  return yaml;
}

// The config is read from yaml-cpp's events into a compact tree (issue 15: 100,000 eSIMs within
// the memory limit): every entry of a large file is read, and an error in its last entry still
// names the line and column.
TEST(ConfigScaleTest, LargeConfigIsReadWholeAndErrorsKeepTheirPosition) {
  constexpr int kEsims = 20000;  // line 1 "esims:", entry i on lines 2 + 3i to 4 + 3i
  TempDir dir;
  const std::string yaml = "esims:\n" + ManyEsims(0, kEsims, "  ");
  const Config config = LoadConfig(dir.Write("ok.yml", yaml), CredentialsEnv());
  ASSERT_EQ(config.esims.size(), static_cast<size_t>(kEsims));
  EXPECT_EQ(config.esims.back().iccid, "8944000000000199993");
  EXPECT_EQ(config.esims.back().name, "esim-19999");
  EXPECT_EQ(config.esims.back().labels.at("site"), "site-49");

  // The last name repeats the first one's.
  const std::string duplicate_name =
      dir.Write("name.yml", "esims:\n" + ManyEsims(0, kEsims - 1, "  ") +
                                "  - iccid: \"8944000000000199993\"\n    name: esim-0\n");
  EXPECT_EQ(ErrorOf(duplicate_name, CredentialsEnv()),
            duplicate_name +
                ":60000:11: esims[19999].name \"esim-0\" is already used by the eSIM at line 3; "
                "give each eSIM its own name");

  // The same in the second account's list, after a first account of 10,000: a wrong check digit.
  const std::string accounts =
      "accounts:\n  - name: a\n    api: {access_code: a, secret_key: s}\n    esims:\n" +
      ManyEsims(0, kEsims / 2, "      ") +
      "  - name: b\n    api: {access_code: b, secret_key: s}\n    esims:\n" +
      ManyEsims(kEsims / 2, kEsims / 2 - 1, "      ") +
      "      - iccid: \"8944000000000199990\"\n        name: last\n";
  const std::string luhn = dir.Write("luhn.yml", accounts);
  EXPECT_EQ(ErrorOf(luhn, CredentialsEnv()),
            luhn +
                ":60005:16: esims[9999].iccid \"8944000000000199990\" fails the Luhn check: "
                "after the digits before it, the last digit should be 3; check the ICCID for a "
                "typo");
}

}  // namespace
}  // namespace esim
