#include "exposition.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace esim {
namespace {

std::string Format(double value) {
  std::string out;
  AppendSampleValue(out, value);
  return out;
}

TEST(ExpositionTest, FormatsNumbersExactlyAndShortly) {
  EXPECT_EQ(Format(0), "0");
  EXPECT_EQ(Format(-0.0), "0");
  EXPECT_EQ(Format(1), "1");
  EXPECT_EQ(Format(-1), "-1");
  EXPECT_EQ(Format(1.5), "1.5");
  EXPECT_EQ(Format(1073741824.0), "1073741824");
  EXPECT_EQ(Format(-3), "-3");
  EXPECT_EQ(Format(0.25), "0.25");
  EXPECT_EQ(Format(1782484480.5), "1782484480.5");
  EXPECT_EQ(Format(0.1), "0.1");
  EXPECT_EQ(Format(1e300), "1e+300");
  EXPECT_EQ(Format(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Format(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Format(std::nan("")), "NaN");
}

// Values of whole thousandths take a shortcut past std::to_chars; what it writes must be what
// std::to_chars writes, for them and for the values next to them.
TEST(ExpositionTest, ThousandthsAreWrittenAsStdToCharsWritesThem) {
  const auto to_chars = [](double value) {
    char buffer[64];
    return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
  };
  EXPECT_EQ(Format(1792787185.549), "1792787185.549");
  EXPECT_EQ(Format(300647710.72), "300647710.72");
  EXPECT_EQ(Format(-2.05), "-2.05");
  EXPECT_EQ(Format(317.891), "317.891");
  EXPECT_EQ(Format(1.001), "1.001");
  EXPECT_EQ(Format(999999999999.999), "999999999999.999");
  EXPECT_EQ(Format(0.125), "0.125");                            // below 1: std::to_chars decides
  EXPECT_EQ(Format(1796243186.7560945), "1796243186.7560945");  // not whole thousandths
  std::mt19937_64 random(20261202);
  size_t compared = 0;
  for (int64_t scale = 1000; scale <= int64_t{1000000000000000}; scale *= 10) {
    std::uniform_int_distribution<int64_t> thousandths(-scale, scale);
    for (int i = 0; i < 20000; ++i) {
      const double value = static_cast<double>(thousandths(random)) / 1000;
      for (const double near : {value, std::nextafter(value, 0.0), std::nextafter(value, 1e300),
                                value * 1024, value / 3}) {
        if (near == std::trunc(near)) continue;  // whole values take the integer path
        ASSERT_EQ(Format(near), to_chars(near)) << std::hexfloat << near;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 1000000u);
}

// Texts are copied in pieces of fixed sizes that overlap: every length must come out whole.
TEST(ExpositionTest, LabelTextsOfEveryLengthAreCopiedWhole) {
  std::string all;
  for (int i = 0; i < 200; ++i) all += static_cast<char>('!' + i % 90);
  for (size_t length = 0; length <= all.size(); ++length) {
    const std::string text = all.substr(0, length);
    const std::string after = all.substr(length % 7, 200 - length);
    std::string out;
    {
      ExpositionWriter writer(out);
      writer.SampleWithLabelText({"m", "", "gauge"}, {text, after}, 1);
    }
    ASSERT_EQ(out, "m{" + text + after + "} 1\n") << "length " << length;
  }
}

TEST(ExpositionTest, EscapesLabelValuesAndHelp) {
  std::string out;
  ExpositionWriter writer(out);
  constexpr MetricDesc kM{"m", "back\\slash\nnewline \"quotes\" stay", "gauge"};
  writer.Family(kM);
  writer.Sample(kM, {{"a", "x\"y\\z\nw"}, {"b", ""}}, 1);
  writer.Sample(kM, {}, 2);
  writer.Flush();
  EXPECT_EQ(out,
            "# HELP m back\\\\slash\\nnewline \"quotes\" stay\n"
            "# TYPE m gauge\n"
            "m{a=\"x\\\"y\\\\z\\nw\",b=\"\"} 1\n"
            "m 2\n");
}

TEST(ExpositionTest, ControlCharactersInLabelValuesBecomeReplacementCharacters) {
  std::string out;
  AppendEscapedLabelValue(out, std::string("a\rb\tc\0d\x7f"
                                           "e\nf",
                                           11));
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c\xEF\xBF\xBD"
            "d\xEF\xBF\xBD"
            "e\\nf");
  out.clear();
  AppendEscapedLabelValue(out, "caf\xC3\xA9 ok");  // UTF-8 stays as it is
  EXPECT_EQ(out, "caf\xC3\xA9 ok");
  AppendEscapedLabelValue(out, std::string_view());  // empty, with a null pointer (UBSan build)
  EXPECT_EQ(out, "caf\xC3\xA9 ok");
}

TEST(ExpositionTest, AppendsToWhatTheStringHeldAndTrimsItWhenGone) {
  std::string out = "before\n";
  {
    ExpositionWriter writer(out);
    writer.Sample({"m", "", "gauge"}, {{"a", "b"}}, 0.5);
    writer.SampleWithLabelText({"n", "", "gauge"}, {"x=\"1\"", ",y=\"2\""}, 7);
  }
  EXPECT_EQ(out, "before\nm{a=\"b\"} 0.5\nn{x=\"1\",y=\"2\"} 7\n");
}

TEST(ExpositionTest, HandsOnPiecesWholeSamplesAtATimeAndGrowsForAHugeOne) {
  std::string buffer;
  std::vector<std::string> pieces;
  constexpr MetricDesc kM{"m", "", "gauge"};
  // A label value far larger than the buffer (the piece size plus 4 KiB) must fit too.
  const std::string huge(20000, 'v');
  std::string expected;
  {
    ExpositionWriter writer(
        buffer, [&](std::string_view piece) { pieces.emplace_back(piece); }, 100);
    for (int i = 0; i < 30; ++i) {
      writer.SampleWithLabelText(kM, {"i=\"", std::to_string(i), "\""}, i);
      expected += "m{i=\"" + std::to_string(i) + "\"} " + std::to_string(i) + "\n";
    }
    writer.Sample(kM, {{"big", huge}}, 1);
    expected += "m{big=\"" + huge + "\"} 1\n";
    writer.Flush();
  }
  std::string joined;
  for (const std::string& piece : pieces) {
    EXPECT_EQ(piece.back(), '\n');  // only whole samples
    joined += piece;
  }
  EXPECT_EQ(joined, expected);
  EXPECT_GT(pieces.size(), 3u);
}

}  // namespace
}  // namespace esim
