#include "shard.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace esim
