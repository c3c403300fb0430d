#include "delivery_ids.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace esim {
namespace {

TEST(DeliveryIdSetTest, InsertRefusesReplaysForADay) {
  DeliveryIdSet ids;
  EXPECT_TRUE(ids.Insert("a", 1000));
  EXPECT_FALSE(ids.Insert("a", 2000));
  EXPECT_TRUE(ids.Contains("a"));
  EXPECT_FALSE(ids.Contains("b"));
  ids.Expire(1000 + DeliveryIdSet::kRetention + 1);
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_EQ(ids.size(), 0u);
}

TEST(DeliveryIdSetTest, EntriesRestoreSkippingExpiredOnes) {
  DeliveryIdSet ids;
  ids.Insert("old", 100);
  ids.Insert("new", 90000);
  DeliveryIdSet restored;
  restored.Restore(ids.Entries(), 100 + DeliveryIdSet::kRetention + 10);
  EXPECT_FALSE(restored.Contains("old"));
  EXPECT_TRUE(restored.Contains("new"));
}

TEST(DeliveryIdSetTest, ConcurrentInsertsCountEachIdOnce) {
  DeliveryIdSet ids;
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (ids.Insert("id-" + std::to_string(i), 5000)) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 1000);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(DeliveryIdSetTest, SecondInsertOfAnIdIsADuplicate) {
  DeliveryIdSet ids;
  EXPECT_TRUE(ids.Insert("whd_1", 1000));
  EXPECT_FALSE(ids.Insert("whd_1", 2000));
  EXPECT_TRUE(ids.Contains("whd_1"));
  EXPECT_FALSE(ids.Contains("whd_2"));
  EXPECT_EQ(ids.Entries(), (std::vector<std::pair<std::string, double>>{{"whd_1", 1000}}));
}

TEST(DeliveryIdSetTest, ForgetsIdsOlderThanTheWindow) {
  DeliveryIdSet ids(24 * 3600);
  ids.Insert("old", 1000);
  ids.Insert("new", 1000 + 23 * 3600);
  EXPECT_EQ(ids.Expire(1000 + 24 * 3600), 0u);  // exactly 24 h: still kept
  EXPECT_EQ(ids.Expire(1000 + 24 * 3600 + 1), 1u);
  EXPECT_FALSE(ids.Contains("old"));
  EXPECT_TRUE(ids.Contains("new"));
  EXPECT_TRUE(ids.Insert("old", 1000 + 25 * 3600));  // a resend after the window is new again
}

TEST(DeliveryIdSetTest, BoundedInCountOldestGoFirst) {
  DeliveryIdSet ids(3600, 3);
  for (int i = 0; i < 5; ++i) ids.Insert("id" + std::to_string(i), 100 + i);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_FALSE(ids.Contains("id0"));
  EXPECT_FALSE(ids.Contains("id1"));
  EXPECT_TRUE(ids.Contains("id4"));
}

TEST(DeliveryIdSetTest, EntriesRestoreIntoAnotherSet) {
  DeliveryIdSet ids;
  ids.Insert("b", 20);
  ids.Insert("a", 10);
  DeliveryIdSet restored;
  restored.Insert("a", 5);
  restored.Restore(ids.Entries(), 30);
  EXPECT_EQ(restored.Entries(), (std::vector<std::pair<std::string, double>>{{"a", 5}, {"b", 20}}));
  EXPECT_FALSE(restored.Insert("b", 30));
}

}  // namespace
}  // namespace esim
