#include "log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class LogTest : public testing::Test {
 protected:
  void SetUp() override { Logger::Get().CaptureInto(&captured_); }
  void TearDown() override {
    Logger::Get().CaptureInto(nullptr);
    Logger::Get().Configure(LogLevel::kInfo, LogFormat::kLogfmt);
  }
  std::string captured_;
};

TEST_F(LogTest, LogfmtQuotesAndEscapes) {
  Logger::Get().Configure(LogLevel::kInfo, LogFormat::kLogfmt);
  LogWarn("poll failed", {{"esim", "iccid:1"}, {"message", "say \"hi\"\nbye"}, {"empty", ""}});
  EXPECT_THAT(captured_, HasSubstr(" level=warn msg=\"poll failed\" esim=iccid:1 "
                                   "message=\"say \\\"hi\\\"\\nbye\"\n"))
      << captured_;
  EXPECT_THAT(captured_, Not(HasSubstr("empty=")));
  EXPECT_THAT(captured_, StartsWith("ts="));
}

TEST_F(LogTest, JsonLinesParse) {
  Logger::Get().Configure(LogLevel::kInfo, LogFormat::kJson);
  LogError("boom", {{"error", "a\tb\"c"}});
  const auto line = nlohmann::json::parse(captured_);
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "boom");
  EXPECT_EQ(line["error"], "a\tb\"c");
}

TEST_F(LogTest, LevelFilters) {
  Logger::Get().Configure(LogLevel::kWarn, LogFormat::kLogfmt);
  LogInfo("hidden");
  LogDebug("hidden too");
  EXPECT_EQ(captured_, "");
  LogWarn("shown");
  EXPECT_THAT(captured_, HasSubstr("shown"));
}

TEST(LogParseTest, ParsesFlags) {
  LogLevel level;
  LogFormat format;
  EXPECT_TRUE(ParseLogLevel("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose", level));
  EXPECT_TRUE(ParseLogFormat("json", format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml", format));
}

}  // namespace
}  // namespace esim
