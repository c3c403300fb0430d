#include "indexed_heap.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <utility>
#include <vector>

namespace esim {
namespace {

TEST(IndexedHeapTest, PopsInOrderAndErasesAnyId) {
  const std::vector<int> value = {50, 10, 40, 20, 30};
  const auto less = [&](uint32_t a, uint32_t b) { return value[a] < value[b]; };
  IndexedHeap heap;
  heap.Reset(value.size());
  for (uint32_t id = 0; id < value.size(); ++id) heap.Push(id, less);
  EXPECT_TRUE(heap.contains(2));
  heap.Erase(2, less);  // 40, from the middle
  EXPECT_FALSE(heap.contains(2));
  heap.Erase(2, less);  // not held: nothing happens
  EXPECT_EQ(heap.size(), 4u);
  std::vector<int> popped;
  while (!heap.empty()) {
    popped.push_back(value[heap.top()]);
    heap.Pop(less);
  }
  EXPECT_EQ(popped, (std::vector<int>{10, 20, 30, 50}));
}

TEST(IndexedHeapTest, AgreesWithAnOrderedSetUnderRandomPushesAndErases) {
  constexpr uint32_t kIds = 300;
  std::vector<int> value(kIds);
  // Ties broken by id, as PollSchedule breaks them by slot: a total order.
  const auto less = [&](uint32_t a, uint32_t b) {
    return std::pair(value[a], a) < std::pair(value[b], b);
  };
  IndexedHeap heap;
  heap.Reset(kIds);
  std::set<std::pair<int, uint32_t>> reference;
  std::mt19937 random(15);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = random() % kIds;
    if (heap.contains(id)) {
      heap.Erase(id, less);
      reference.erase({value[id], id});
    } else {
      value[id] = static_cast<int>(random() % 50);  // many equal values
      heap.Push(id, less);
      reference.emplace(value[id], id);
    }
    ASSERT_EQ(heap.size(), reference.size());
    if (!reference.empty()) {
      ASSERT_EQ(heap.top(), reference.begin()->second) << step;
    }
  }
}

}  // namespace
}  // namespace esim
