#include "iso8601.h"

#include <gtest/gtest.h>

namespace esim {
namespace {

TEST(Iso8601Test, ParsesTheApiFormat) {
  EXPECT_EQ(ParseIso8601("2026-06-26T14:34:40.000Z"), 1782484480.0);
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:00Z"), 0.0);
  EXPECT_EQ(ParseIso8601("2024-02-29T00:00:00Z"), 1709164800.0);
  EXPECT_EQ(ParseIso8601("2000-01-01T00:00:00"), 946684800.0);  // no zone: UTC
}

TEST(Iso8601Test, KeepsFractionsAndOffsets) {
  EXPECT_DOUBLE_EQ(*ParseIso8601("2026-06-26T14:34:40.5Z"), 1782484480.5);
  EXPECT_EQ(ParseIso8601("2026-06-26T16:34:40+02:00"), 1782484480.0);
  EXPECT_EQ(ParseIso8601("2026-06-26T12:04:40-0230"), 1782484480.0);
}

TEST(Iso8601Test, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026-06-26", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-06-26T24:00:00Z", "2026-06-26T14:34:40.Z",
                          "2026-06-26T14:34:40Zjunk", "yesterday", "2026-06-26T14:34:40+2"}) {
    EXPECT_FALSE(ParseIso8601(bad).has_value()) << bad;
  }
}

TEST(HttpDateTest, ParsesImfFixdate) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777.0);
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 UTC").has_value());
  EXPECT_FALSE(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
}

}  // namespace
}  // namespace esim
