#include "delivery_ids.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace esim
