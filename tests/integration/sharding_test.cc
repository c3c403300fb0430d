// Two real exporter replicas (--shard.total=2) against one account with discovery: each eSIM on
// exactly one replica, the account's figures on exactly one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

using ::testing::Not;
using ::testing::StartsWith;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::seconds;

constexpr char kSecret[] = "sk_sharding_secret_0123456789";
constexpr char kAccessCode[] = "esf_sharding_access";

// The ICCIDs a replica exports series for, from its esim_info family.
std::set<std::string> ExportedIccids(const Samples& samples) {
  std::set<std::string> iccids;
  const std::string prefix = "esim_info{iccid=\"";
  for (const auto& [key, value] : samples) {
    if (key.rfind(prefix, 0) != 0) continue;
    iccids.insert(key.substr(prefix.size(), key.find('"', prefix.size()) - prefix.size()));
  }
  return iccids;
}

TEST(ShardingIntegrationTest, TwoReplicasSplitADiscoveredFleetAndOneReadsTheAccount) {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  const auto fleet = fake_esimfly::GenerateFleet(200);
  FakeEsimflyApi api(options, fleet);
  api.Start();
  TempDir dir;
  dir.Write("secret_key", std::string(kSecret) + "\n");
  // The key's budget, which the replicas split: 30 a minute each.
  const std::string config =
      dir.Write("config.yml", "api:\n  url: " + api.BaseUrl() + "\n  access_code: " + kAccessCode +
                                  "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                                  "  rate_limit:\n    per_minute: 60\n    per_hour: 2000\n"
                                  "    per_day: 20000\n"
                                  "inventory:\n  enabled: true\n  interval: 10m\n  discover: true\n"
                                  "esims: []\n");
  ExporterProcess first({"--config.file=" + config, "--shard.total=2", "--shard.index=0"});
  // A StatefulSet pod name works as the index too.
  ExporterProcess second(
      {"--config.file=" + config, "--shard.total=2", "--shard.index=esim-exporter-1"});
  ASSERT_GT(first.port(), 0) << first.Stderr();
  ASSERT_GT(second.port(), 0) << second.Stderr();
  for (const ExporterProcess* replica : {&first, &second}) {
    ASSERT_TRUE(replica->WaitUntilReady(seconds(60))) << replica->Stderr();
  }
  ASSERT_TRUE(first.WaitFor(
      [&] { return first.Scrape().count("esim_account_balance{currency=\"USD\"}") > 0; },
      seconds(30)))
      << first.Stderr();

  const Samples one = first.Scrape();
  const Samples two = second.Scrape();
  const std::set<std::string> mine = ExportedIccids(one);
  const std::set<std::string> theirs = ExportedIccids(two);
  EXPECT_GT(mine.size(), 60u);
  EXPECT_GT(theirs.size(), 60u);
  EXPECT_EQ(one.at("esim_monitored_esims"), static_cast<double>(mine.size()));
  EXPECT_EQ(two.at("esim_monitored_esims"), static_cast<double>(theirs.size()));
  std::set<std::string> all = mine;
  for (const std::string& iccid : theirs) {
    EXPECT_TRUE(all.insert(iccid).second) << iccid << " is on both replicas";
  }
  std::set<std::string> expected;
  for (const auto& esim : fleet) expected.insert(esim.iccid);
  EXPECT_EQ(all, expected) << "every eSIM on exactly one replica";

  // The account's figures on replica 0 alone.
  double account_total = 0;
  for (const auto& [key, value] : one) {
    if (key.rfind("esim_account_esims{", 0) == 0) account_total += value;
  }
  EXPECT_EQ(account_total, 200);
  EXPECT_EQ(one.at("esim_account_balance{currency=\"USD\"}"), 1500);
  for (const auto& [key, value] : two) {
    EXPECT_THAT(key, Not(StartsWith("esim_account_"))) << "on replica 1";
  }
  EXPECT_GT(two.at("esim_inventory_last_success_timestamp_seconds"), 0) << "it sweeps too";

  // No eSIM was polled live by both, and the balance was read once.
  std::map<std::string, int> live_polls;
  int balance_reads = 0;
  for (const auto& request : api.Requests()) {
    if (request.path == fake_esimfly::kStatusPath) ++live_polls[request.iccid];
    if (request.path == fake_esimfly::kBalancePath) ++balance_reads;
  }
  for (const auto& [iccid, polls] : live_polls) EXPECT_EQ(polls, 1) << iccid;
  EXPECT_EQ(balance_reads, 1);
  EXPECT_EQ(first.Terminate(), 0);
  EXPECT_EQ(second.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
