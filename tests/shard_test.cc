#include "shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace esim {
namespace {

TEST(ShardTest, StableHashIsFnv1a64) {
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(StableHash("foobar"), 0x85944171f73967e8ull);
}

TEST(ShardTest, ParsesNumbersAndPodNames) {
  EXPECT_EQ(ParseShardIndex("0", 3), 0);
  EXPECT_EQ(ParseShardIndex("2", 3), 2);
  EXPECT_EQ(ParseShardIndex("esim-exporter-1", 3), 1);
  EXPECT_EQ(ParseShardIndex("esim-exporter-3", 3), std::nullopt);  // out of range
  EXPECT_EQ(ParseShardIndex("esim-exporter", 3), std::nullopt);
  EXPECT_EQ(ParseShardIndex("", 3), std::nullopt);
  EXPECT_EQ(ParseShardIndex("-1", 3), 1);  // "-1" is a name ending in -1
  EXPECT_EQ(ParseShardIndex("1x", 3), std::nullopt);
}

TEST(ShardTest, ReplicasSplitTheFleetWithoutOverlapAndShareTheBudget) {
  Config config;
  for (int i = 0; i < 3000; ++i) {
    EsimConfig esim;
    esim.esim_id = 1000 + i;
    config.esims.push_back(esim);
  }
  config.api.rate_limit = {50, 500, 5000};
  std::set<std::string> seen;
  for (int index = 0; index < 3; ++index) {
    Config part = config;
    ApplyShard(Shard{index, 3}, part);
    EXPECT_GT(part.esims.size(), 900u);
    EXPECT_LT(part.esims.size(), 1100u);
    for (const auto& esim : part.esims) EXPECT_TRUE(seen.insert(esim.Key()).second);
    EXPECT_EQ(part.api.rate_limit.per_minute, 16);
    EXPECT_EQ(part.api.rate_limit.per_hour, 166);
    EXPECT_EQ(part.api.rate_limit.per_day, 1666);
  }
  EXPECT_EQ(seen.size(), 3000u);
}

TEST(ShardTest, OneShardChangesNothing) {
  Config config;
  config.esims.resize(5);
  config.api.rate_limit = {50, 500, 5000};
  ApplyShard(Shard{0, 1}, config);
  EXPECT_EQ(config.esims.size(), 5u);
  EXPECT_EQ(config.api.rate_limit.per_minute, 50);
}

TEST(ShardTest, RefusesMoreShardsThanTheBudgetCanSplit) {
  Config config;
  config.path = "config.yml";
  config.api.rate_limit = {4, 100, 1000};
  EXPECT_THROW(ApplyShard(Shard{0, 5}, config), ConfigError);
  ApplyShard(Shard{0, 4}, config);
  EXPECT_EQ(config.api.rate_limit.per_minute, 1);
  EXPECT_EQ(config.api.rate_limit.per_hour, 25);
}

// Discovery splits by the same hash as the config: an eSIM configured by ICCID and the same eSIM
// found by discovery land on the same replica.
TEST(ShardTest, DiscoveryUsesTheConfiguredEsimsHash) {
  Config config;
  for (int i = 0; i < 300; ++i) {
    EsimConfig esim;
    esim.iccid = "89000000000000" + std::to_string(10000 + i);
    config.esims.push_back(esim);
  }
  config.api.rate_limit = {50, 500, 5000};
  for (int index = 0; index < 3; ++index) {
    Config part = config;
    const Shard shard{index, 3};
    ApplyShard(shard, part);
    for (const EsimConfig& esim : config.esims) {
      const bool kept = std::any_of(part.esims.begin(), part.esims.end(),
                                    [&](const EsimConfig& e) { return e.iccid == esim.iccid; });
      EXPECT_EQ(shard.Owns("iccid:" + esim.iccid), kept) << esim.iccid;
    }
  }
  EXPECT_TRUE(Shard{}.Owns("iccid:8900000000000010000"));
  EXPECT_TRUE(Shard{}.ReadsAccount());
  EXPECT_FALSE((Shard{1, 2}.ReadsAccount()));
}

// eSIMs named only by esim_id hash by that id; their ICCID is unknown, so the other replicas
// learn to leave them to their replica.
TEST(ShardTest, RecordsTheIdOnlyEsimsOfOtherReplicas) {
  Config config;
  for (int i = 0; i < 40; ++i) {
    EsimConfig by_id;
    by_id.esim_id = 5000 + i;
    config.esims.push_back(by_id);
    EsimConfig by_iccid;
    by_iccid.iccid = "89000000000000" + std::to_string(20000 + i);
    by_iccid.esim_id = 6000 + i;  // named by ICCID too: hashed by the ICCID like discovery
    config.esims.push_back(by_iccid);
  }
  config.api.rate_limit = {50, 500, 5000};
  std::set<int64_t> elsewhere_total;
  for (int index = 0; index < 2; ++index) {
    Config part = config;
    ApplyShard(Shard{index, 2}, part);
    for (const int64_t id : part.other_shards_esim_ids) {
      EXPECT_GE(id, 5000);
      EXPECT_LT(id, 5040) << "only eSIMs without an ICCID";
      EXPECT_TRUE(elsewhere_total.insert(id).second);
      for (const EsimConfig& esim : part.esims) EXPECT_NE(esim.esim_id, id);
    }
  }
  EXPECT_EQ(elsewhere_total.size(), 40u);
}

TEST(ShardTest, ForAccountPicksOneReaderPerAccountByTheNamesHash) {
  const Shard shard{1, 3};
  EXPECT_EQ(shard.ForAccount("").account_reader, 0);  // the unnamed account: replica 0
  const Shard acme = shard.ForAccount("acme");
  EXPECT_EQ(acme.account_reader, static_cast<int>(StableHash("acme") % 3));
  EXPECT_EQ(acme.index, 1);
  EXPECT_EQ(acme.total, 3);
  EXPECT_EQ(shard.account_reader, 0) << "ForAccount returns a copy";
  EXPECT_EQ(Shard{}.ForAccount("acme").account_reader, 0);  // no sharding: the one replica
  // Exactly one replica reads each account.
  for (const std::string name : {"acme", "globex", "initech", "a-b"}) {
    int readers = 0;
    for (int index = 0; index < 3; ++index) {
      if (Shard{index, 3}.ForAccount(name).ReadsAccount()) ++readers;
    }
    EXPECT_EQ(readers, 1) << name;
  }
}

// Many accounts' account-wide reads spread over the replicas instead of all landing on 0.
TEST(ShardTest, AccountReadersSpreadOverTheReplicas) {
  std::set<int> readers;
  for (int i = 0; i < 30; ++i) {
    readers.insert(Shard{0, 3}.ForAccount("account" + std::to_string(i)).account_reader);
  }
  EXPECT_EQ(readers, (std::set<int>{0, 1, 2}));
}

Config AccountOf(const std::string& name, int first_id, RateLimitConfig limits) {
  Config account;
  account.path = "config.yml";
  account.account = name;
  account.api.rate_limit = limits;
  for (int i = 0; i < 300; ++i) {
    EsimConfig esim;
    esim.account = name;
    esim.esim_id = first_id + i;
    if (i % 2 == 0) esim.iccid = "89000000000000" + std::to_string(first_id + i);
    account.esims.push_back(esim);
  }
  return account;
}

TEST(ShardTest, EveryAccountIsCutByTheSameHashWithItsOwnRateLimit) {
  Config config;
  config.path = "config.yml";
  config.accounts.push_back(AccountOf("acme", 10000, {30, 600, 6000}));
  config.accounts.push_back(AccountOf("globex", 20000, {60, 900, 9000}));
  const Config whole = config;
  std::map<std::string, std::set<std::string>> seen;  // account -> eSIM keys
  for (int index = 0; index < 3; ++index) {
    Config part = config;
    const Shard shard{index, 3};
    ApplyShard(shard, part);
    ASSERT_EQ(part.accounts.size(), 2u);
    EXPECT_EQ(part.accounts[0].api.rate_limit, (RateLimitConfig{10, 200, 2000}));
    EXPECT_EQ(part.accounts[1].api.rate_limit, (RateLimitConfig{20, 300, 3000}));
    // The top level is not an account here: left as it was.
    EXPECT_EQ(part.api.rate_limit, whole.api.rate_limit);
    for (const Config& account : part.accounts) {
      EXPECT_LT(account.esims.size(), 200u);
      for (const EsimConfig& esim : account.esims) {
        EXPECT_TRUE(shard.Owns(esim.Key()));
        EXPECT_TRUE(seen[account.account].insert(esim.Key()).second) << "on two replicas";
      }
      // The id-only eSIMs of other replicas, per account.
      for (const int64_t id : account.other_shards_esim_ids) {
        EXPECT_EQ(id % 2, 1) << "only the eSIMs named by esim_id alone";
        EXPECT_EQ(id / 10000, account.account == "acme" ? 1 : 2);
      }
    }
  }
  EXPECT_EQ(seen["acme"].size(), 300u);
  EXPECT_EQ(seen["globex"].size(), 300u);
}

TEST(ShardTest, AnAccountsRateLimitTooSmallToSplitNamesTheAccount) {
  Config config;
  config.path = "config.yml";
  config.accounts.push_back(AccountOf("acme", 10000, {30, 600, 6000}));
  config.accounts.push_back(AccountOf("globex", 20000, {2, 600, 6000}));
  try {
    ApplyShard(Shard{0, 3}, config);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "config.yml: account \"globex\": api.rate_limit allows 2 requests in its tightest "
              "window, too few to split over 3 shards; raise the rate limit or run fewer shards");
  }
}

}  // namespace
}  // namespace esim
