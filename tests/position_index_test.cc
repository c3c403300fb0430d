#include "position_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace esim {
namespace {

// Items as a caller holds them: the index finds positions in `keys`.
struct Items {
  std::vector<std::string> keys;
  PositionIndex index;

  void Add(const std::string& key, uint64_t hash) {
    keys.push_back(key);
    index.Insert(hash, keys.size() - 1);
  }
  void Add(const std::string& key) { Add(key, PositionIndex::HashOf(key)); }
  std::optional<size_t> Find(const std::string& key, uint64_t hash) const {
    return index.Find(hash, [&](size_t at) { return keys[at] == key; });
  }
  std::optional<size_t> Find(const std::string& key) const {
    return Find(key, PositionIndex::HashOf(key));
  }
};

TEST(PositionIndexTest, EmptyFindsNothing) {
  PositionIndex index;
  EXPECT_FALSE(index.Find(42, [](size_t) { return true; }));
  index.Reset();
  EXPECT_FALSE(index.Find(42, [](size_t) { return true; }));
  EXPECT_EQ(index.capacity(), 0u);
}

TEST(PositionIndexTest, FindsEachOfManyKeysThroughGrowth) {
  Items items;
  for (int i = 0; i < 5000; ++i) items.Add("iccid:894400000000" + std::to_string(i));
  EXPECT_EQ(items.index.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    EXPECT_EQ(items.Find("iccid:894400000000" + std::to_string(i)), size_t(i)) << i;
  }
  EXPECT_FALSE(items.Find("iccid:894400000000" + std::to_string(5000)));
  EXPECT_FALSE(items.Find("esim_id:1"));
}

TEST(PositionIndexTest, CollidingHashesStillFindTheRightItem) {
  Items items;
  // Every key under the same hash: only the check against the item itself tells them apart.
  for (int i = 0; i < 100; ++i) items.Add("key" + std::to_string(i), 7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(items.Find("key" + std::to_string(i), 7), size_t(i));
  EXPECT_FALSE(items.Find("key100", 7));
  // The key's real hash finds nothing: positions are found under the hash they were added with.
  EXPECT_FALSE(items.Find("key3"));
}

TEST(PositionIndexTest, EqualKeysFindTheFirstAddedEvenAfterGrowth) {
  Items items;
  items.Add("a", 1);
  items.Add("shared", 5);
  items.Add("b", 5);
  items.Add("shared", 5);  // a second item with the same key: the first one counts
  EXPECT_EQ(items.Find("shared", 5), 1u);
  const size_t before = items.index.capacity();
  for (int i = 0; i < 1000; ++i) items.Add("filler" + std::to_string(i), 5 + i % 3);
  ASSERT_GT(items.index.capacity(), before);
  EXPECT_EQ(items.Find("shared", 5), 1u);
  EXPECT_EQ(items.Find("b", 5), 2u);
  EXPECT_EQ(items.Find("a", 1), 0u);
}

TEST(PositionIndexTest, ResetForgetsAndSizesForTheExpectedCount) {
  Items items;
  items.Add("a");
  items.index.Reset(100000);
  EXPECT_EQ(items.index.size(), 0u);
  EXPECT_FALSE(items.Find("a"));
  // Room for 100,000 at most 4/5 full: 131,072 slots of 8 bytes, never twice that.
  EXPECT_EQ(items.index.capacity(), 131072u);
  items.index.Reset(100000);  // the same room again: the slots are reused
  EXPECT_EQ(items.index.capacity(), 131072u);
  items.index.Reset(0);
  EXPECT_EQ(items.index.capacity(), 0u);
}

TEST(PositionIndexTest, IntegerHashesThatDifferInFewBitsSpread) {
  // std::hash of an integer is the integer: sequential ids must not pile up in one run.
  std::vector<int64_t> ids;
  PositionIndex index;
  for (int64_t id = 0; id < 20000; ++id) {
    ids.push_back(id << 20);  // equal low bits
    index.Insert(std::hash<int64_t>{}(ids.back()), ids.size() - 1);
  }
  size_t calls = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto found = index.Find(std::hash<int64_t>{}(ids[i]), [&](size_t at) {
      ++calls;
      return ids[at] == ids[i];
    });
    ASSERT_EQ(found, i);
  }
  // The tag spares the check of almost every other item on the way.
  EXPECT_LT(calls, ids.size() + ids.size() / 100);
}

}  // namespace
}  // namespace esim
