#include "landing_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace esim {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

TEST(LandingFormatTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 MiB");
  EXPECT_EQ(FormatBytes(512 * kMiB), "512 MiB");
  EXPECT_EQ(FormatBytes(kGiB), "1.00 GiB");
  EXPECT_EQ(FormatBytes(1.25 * kGiB), "1.25 GiB");
  EXPECT_EQ(FormatBytes(-1), "?");
  EXPECT_EQ(FormatBytes(std::nan("")), "?");
  EXPECT_EQ(FormatBytes(std::numeric_limits<double>::infinity()), "?");
}

TEST(LandingFormatTest, Counts) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(10000), "10,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1234), "-1,234");
  EXPECT_EQ(FormatCount(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(LandingFormatTest, Amounts) {
  EXPECT_EQ(FormatAmount(1500), "1,500.00");
  EXPECT_EQ(FormatAmount(12.5), "12.50");
  EXPECT_EQ(FormatAmount(0.005), "0.01");
  EXPECT_EQ(FormatAmount(-3.2), "-3.20");
  EXPECT_EQ(FormatAmount(-0.001), "0.00");
  EXPECT_EQ(FormatAmount(std::nan("")), "?");
  EXPECT_EQ(FormatAmount(1e300), "?");
}

TEST(LandingFormatTest, SpansAndRelativeTimes) {
  EXPECT_EQ(FormatSpan(45), "45 s");
  EXPECT_EQ(FormatSpan(119), "119 s");
  EXPECT_EQ(FormatSpan(120), "2 min");
  EXPECT_EQ(FormatSpan(3 * 3600), "3 h");
  EXPECT_EQ(FormatSpan(5 * 86400 + 100), "5 d");
  EXPECT_EQ(FormatSpan(-90), "90 s");
  const double now = 1'780'000'000;
  EXPECT_EQ(FormatRelative(now - 30, now), "30 s ago");
  EXPECT_EQ(FormatRelative(now + 3 * 86400, now), "in 3 d");
  EXPECT_EQ(FormatRelative(now + 0.2, now), "now");
  EXPECT_EQ(FormatRelative(std::nan(""), now), "?");
}

TEST(LandingFormatTest, UtcDates) {
  EXPECT_EQ(FormatUtcDate(1785076480), "2026-07-26");
  EXPECT_EQ(FormatUtcDateTime(1785076480.9), "2026-07-26 14:34:40 UTC");
  EXPECT_EQ(FormatUtcDate(-1), "?");
  EXPECT_EQ(FormatUtcDate(1e300), "?");
  EXPECT_EQ(FormatUtcDate(std::nan("")), "?");
}

TEST(LandingFormatTest, Percentages) {
  EXPECT_EQ(FormatPercent(0), "0 %");
  EXPECT_EQ(FormatPercent(0.005), "0.5 %");
  EXPECT_EQ(FormatPercent(0.85), "85 %");
  EXPECT_EQ(FormatPercent(1.2), "120 %");
  EXPECT_EQ(FormatPercent(std::nan("")), "?");
}

}  // namespace
}  // namespace esim
