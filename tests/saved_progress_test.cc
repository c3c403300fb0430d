#include "saved_progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace esim {
namespace {

PollSchedule::TimePoint At(int seconds) {
  return PollSchedule::TimePoint(std::chrono::seconds(seconds));
}

TEST(SavedProgress, GivesBackEachKeyWithItsProgressInOrder) {
  SavedProgress progress;
  EXPECT_EQ(progress.size(), 0u);
  progress.Add("8901234567890123456", {At(10), 0});
  progress.Add("", {std::nullopt, 3});  // an empty key stays an entry of its own
  progress.Add("esim-7", {At(30), 2});
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress.KeyAt(0), "8901234567890123456");
  EXPECT_EQ(progress.KeyAt(1), "");
  EXPECT_EQ(progress.KeyAt(2), "esim-7");
  EXPECT_EQ(progress.ProgressAt(0).last_start, At(10));
  EXPECT_EQ(progress.ProgressAt(0).failures, 0);
  EXPECT_FALSE(progress.ProgressAt(1).last_start.has_value());
  EXPECT_EQ(progress.ProgressAt(1).failures, 3);
  EXPECT_EQ(progress.ProgressAt(2).last_start, At(30));
  EXPECT_EQ(progress.ProgressAt(2).failures, 2);
}

TEST(SavedProgress, KeysLongerThanAShortStringKeepTheirBytes) {
  SavedProgress progress;
  const std::string long_key(300, 'k');
  for (int i = 0; i < 1000; ++i) progress.Add(long_key + std::to_string(i), {At(i), i % 31});
  ASSERT_EQ(progress.size(), 1000u);
  EXPECT_EQ(progress.KeyAt(0), long_key + "0");
  EXPECT_EQ(progress.KeyAt(999), long_key + "999");
  EXPECT_EQ(progress.ProgressAt(999).last_start, At(999));
  EXPECT_EQ(progress.ProgressAt(999).failures, 999 % 31);
}

}  // namespace
}  // namespace esim
