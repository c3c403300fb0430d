#include "fleet_cost.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using std::chrono::hours;
using std::chrono::minutes;

Config Fleet(size_t esims) {
  Config config;
  for (size_t i = 0; i < esims; ++i) {
    EsimConfig esim;
    esim.esim_id = static_cast<int64_t>(i + 1);
    config.esims.push_back(esim);
  }
  return config;
}

TEST(DailyCostTest, LivePollsOnlyFollowTheStretchedInterval) {
  Config config = Fleet(300);  // 300 every 15m: 1,200/h against 500/h, stretched
  const DailyCost cost = EstimateDailyCost(config);
  EXPECT_TRUE(cost.live_capped_by_budget);
  EXPECT_GT(cost.live_interval, minutes(15));
  // Planned on 90 % of the tightest window (the day): 4,500 a day.
  EXPECT_NEAR(cost.live_polls, 4500, 1);
  EXPECT_EQ(cost.sweep_pages, 0);
  EXPECT_EQ(cost.balance_reads, 24);
  EXPECT_NEAR(cost.total(), 4524, 1);
}

TEST(DailyCostTest, SweepsCountAPageForEveryHundredEsimsOfEachStatusAtLeastOne) {
  Config config = Fleet(250);
  config.inventory.enabled = true;
  config.inventory.interval = minutes(30);
  const DailyCost four_statuses = EstimateDailyCost(config);
  EXPECT_EQ(four_statuses.pages_per_sweep, 4 * 3);
  EXPECT_EQ(four_statuses.sweeps, 48);
  EXPECT_EQ(four_statuses.sweep_pages, 48 * 12);
  config.inventory.statuses = {"all"};
  EXPECT_EQ(EstimateDailyCost(config).pages_per_sweep, 3);
  config.esims.clear();
  config.inventory.discover = true;
  const DailyCost discovery = EstimateDailyCost(config);
  EXPECT_EQ(discovery.pages_per_sweep, 1);
  EXPECT_TRUE(discovery.discovery);
  // Live polls take what is left of the planned 90 %: together exactly that share of the day.
  EXPECT_NEAR(discovery.total(), 0.9 * config.api.rate_limit.per_day, 2);
}

TEST(DailyCostTest, OnlyReplicaZeroReadsTheBalance) {
  Config config = Fleet(10);
  EXPECT_EQ(EstimateDailyCost(config, Shard{0, 2}).balance_reads, 24);
  EXPECT_EQ(EstimateDailyCost(config, Shard{1, 2}).balance_reads, 0);
  config.balance.interval = std::chrono::milliseconds(0);
  EXPECT_EQ(EstimateDailyCost(config).balance_reads, 0);
}

TEST(DailyCostTest, SubscriptionReadsOnlyWithAReceiverOnReplicaZero) {
  Config config = Fleet(10);
  EXPECT_EQ(EstimateDailyCost(config).subscription_reads, 0);  // no webhook: block
  EXPECT_THAT(DescribeDailyCost(EstimateDailyCost(config), config),
              Not(HasSubstr("subscription reads")));
  config.webhook.enabled = true;  // check_interval 1h by default
  const DailyCost cost = EstimateDailyCost(config);
  EXPECT_EQ(cost.subscription_reads, 24);
  EXPECT_THAT(DescribeDailyCost(cost, config),
              HasSubstr("  subscription reads        24  (one every 1h)\n"));
  EXPECT_EQ(EstimateDailyCost(config, Shard{1, 2}).subscription_reads, 0);
  config.webhook.check_interval = std::chrono::milliseconds(0);
  EXPECT_EQ(EstimateDailyCost(config).subscription_reads, 0);
}

TEST(DailyCostTest, SharesOfTheVendorLimitsAndOfTheRateLimit) {
  const Config config = Fleet(10);  // 960 live polls and 24 balance reads a day
  const std::string text = DescribeDailyCost(EstimateDailyCost(config), config);
  EXPECT_EQ(text,
            "estimated API requests per day:\n"
            "  live status polls        960  (10 eSIMs, each every 15m)\n"
            "  inventory sweep pages      0  (inventory off)\n"
            "  balance reads             24  (one every 1h)\n"
            "  total                    984  (41 an hour, 0.68 a minute on average)\n"
            "  of the API key's vendor limits (10,000/day, 1,000/h, 60/min): 9.8 % a day, 4.1 % "
            "an hour, 1.1 % a minute\n"
            "  of api.rate_limit (5,000/day, 500/h, 30/min): 19.7 % a day, 8.2 % an hour, 2.3 % "
            "a minute\n");
}

TEST(DailyCostTest, ShardedReplicasSayTheirShareAndTheWhole) {
  Config config = Fleet(10);
  config.api.rate_limit = {15, 250, 2500};  // ApplyShard halved it
  const std::string text = DescribeDailyCost(EstimateDailyCost(config, {1, 2}), config, {1, 2});
  EXPECT_THAT(text,
              HasSubstr("estimated API requests per day of this replica (shard 1 of 2, with 1/2 of "
                        "rate_limit):\n"))
      << text;
  EXPECT_THAT(text, HasSubstr("  balance reads              0  (replica 0 reads the balance)\n"))
      << text;
  EXPECT_THAT(text,
              HasSubstr("  all 2 replicas together spend about 2 times this, about 19.2 % of the "
                        "key's 10,000/day\n"))
      << text;
}

Config Accounts() {
  Config config;
  Config acme = Fleet(10);
  acme.account = "acme";
  acme.api.rate_limit = {20, 400, 4000};
  Config globex = Fleet(1);
  globex.account = "globex";
  globex.balance.interval = std::chrono::milliseconds(0);
  globex.webhook.enabled = true;
  config.accounts = {acme, globex};
  return config;
}

TEST(DailyCostTest, ConfigCheckPrintsOneBlockPerAccountWithItsOwnKeysShare) {
  const std::string text = DescribeAccountsCheck(Accounts());
  EXPECT_EQ(text,
            "\n"
            "account acme: 10 eSIMs, each polled every 900 s\n"
            "estimated API requests per day:\n"
            "  live status polls        960  (10 eSIMs, each every 15m)\n"
            "  inventory sweep pages      0  (inventory off)\n"
            "  balance reads             24  (one every 1h)\n"
            "  total                    984  (41 an hour, 0.68 a minute on average)\n"
            "  of the API key's vendor limits (10,000/day, 1,000/h, 60/min): 9.8 % a day, 4.1 % "
            "an hour, 1.1 % a minute\n"
            "  of api.rate_limit (4,000/day, 400/h, 20/min): 24.6 % a day, 10.2 % an hour, 3.4 % "
            "a minute\n"
            "\n"
            "account globex: 1 eSIM, each polled every 900 s\n"
            "estimated API requests per day:\n"
            "  live status polls         96  (1 eSIM, each every 15m)\n"
            "  inventory sweep pages      0  (inventory off)\n"
            "  balance reads              0  (balance.interval 0: off)\n"
            "  subscription reads        24  (one every 1h)\n"
            "  total                    120  (5.0 an hour, 0.08 a minute on average)\n"
            "  of the API key's vendor limits (10,000/day, 1,000/h, 60/min): 1.2 % a day, 0.5 % "
            "an hour, 0.1 % a minute\n"
            "  of api.rate_limit (5,000/day, 500/h, 30/min): 2.4 % a day, 1.0 % an hour, 0.3 % "
            "a minute\n");
}

TEST(DailyCostTest, EachAccountsAccountWideReadsHappenOnItsOwnReplica) {
  const Config config = Accounts();
  const int acme_reader = static_cast<int>(StableHash("acme") % 3);
  for (int index = 0; index < 3; ++index) {
    const Shard shard{index, 3};
    const std::string text = DescribeAccountCheck(config.accounts[0], shard);
    if (index == acme_reader) {
      EXPECT_THAT(text, HasSubstr("  balance reads             24  (one every 1h)\n")) << text;
    } else {
      EXPECT_THAT(text, HasSubstr("  balance reads              0  (replica " +
                                  std::to_string(acme_reader) + " reads the balance)\n"))
          << text;
    }
  }
}

TEST(DailyCostTest, AnAccountStretchedByItsBudgetSaysSoInItsBlock) {
  Config config = Accounts();
  config.accounts[1] = Fleet(300);  // 300 every 15m: more than its 500/h allow
  config.accounts[1].account = "globex";
  const std::string text = DescribeAccountsCheck(config);
  EXPECT_THAT(text, HasSubstr("\nwarning: account globex: ")) << text;
  EXPECT_THAT(text, Not(HasSubstr("warning: account acme")));
  EXPECT_THAT(text, HasSubstr(", stretched from 15m by the budget)")) << text;
}

}  // namespace
}  // namespace esim
