#include "command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Parses `args` (without the program name) into `flags`; returns the error text.
std::string Parse(std::vector<std::string> args, CommandLine& flags) {
  std::vector<const char*> argv{"esim_exporter"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), flags);
}

TEST(CommandLineTest, DefaultsAreValid) {
  CommandLine flags;
  EXPECT_THAT(Parse({}, flags), IsEmpty());
  EXPECT_EQ(flags.config_file, "/etc/esim_exporter/config.yml");
  EXPECT_EQ(flags.listen_address, ":10417");
  EXPECT_EQ(flags.shard.total, 1);
  EXPECT_EQ(flags.parsed_log_level, LogLevel::kInfo);
}

TEST(CommandLineTest, ValuesWithEqualsOrAsTheNextArgumentAndSingleDash) {
  CommandLine flags;
  ASSERT_THAT(Parse({"--config.file=/a.yml", "--web.listen-address", "127.0.0.1:9",
                     "-log.level=debug", "--log.format", "json", "--storage.path=/var/lib/x",
                     "--shard.total=3", "--shard.index=esim-exporter-2", "--once"},
                    flags),
              IsEmpty());
  EXPECT_EQ(flags.config_file, "/a.yml");
  EXPECT_EQ(flags.listen_address, "127.0.0.1:9");
  EXPECT_EQ(flags.parsed_log_level, LogLevel::kDebug);
  EXPECT_EQ(flags.parsed_log_format, LogFormat::kJson);
  EXPECT_EQ(flags.storage_path, "/var/lib/x");
  EXPECT_EQ(flags.shard.total, 3);
  EXPECT_EQ(flags.shard.index, 2);
  EXPECT_TRUE(flags.once);
}

TEST(CommandLineTest, SwitchesTakeTrueOrFalseOnly) {
  CommandLine flags;
  EXPECT_THAT(Parse({"--config.check=false", "-h"}, flags), IsEmpty());
  EXPECT_FALSE(flags.config_check);
  EXPECT_TRUE(flags.help);
  EXPECT_THAT(Parse({"--once=yes"}, flags), HasSubstr("flag --once takes true or false"));
}

// The error of parsing `args` into fresh flags.
std::string ErrorOf(std::vector<std::string> args) {
  CommandLine flags;
  return Parse(std::move(args), flags);
}

TEST(CommandLineTest, ErrorsNameTheFlag) {
  EXPECT_EQ(ErrorOf({"--no-such-flag"}), "unknown flag --no-such-flag (see --help)");
  EXPECT_EQ(ErrorOf({"--config.file"}), "flag --config.file needs a value");
  EXPECT_THAT(ErrorOf({"--web.telemetry-path=/-/metrics"}),
              HasSubstr("--web.telemetry-path must start with /"));
  EXPECT_THAT(ErrorOf({"--web.telemetry-path=/m:x"}),
              HasSubstr("--web.telemetry-path may hold only"));
  EXPECT_THAT(ErrorOf({"--shard.total=0"}), HasSubstr("--shard.total must be"));
  EXPECT_THAT(ErrorOf({"--shard.total=2", "--shard.index=2"}),
              HasSubstr("--shard.index '2' must be a number from 0 to 1"));
  EXPECT_THAT(ErrorOf({"--log.level=trace"}), HasSubstr("--log.level must be"));
  EXPECT_THAT(ErrorOf({"--log.format=xml"}), HasSubstr("--log.format must be"));
}

// The usage text is made from the same table the parser reads: every flag it lists parses, and
// every flag that parses is listed.
TEST(CommandLineTest, UsageListsExactlyTheFlagsThatParse) {
  const std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("usage: esim_exporter [flags]"));
  EXPECT_THAT(usage, HasSubstr("  -h, --help "));
  size_t listed = 0;
  for (size_t at = usage.find("\n  "); at != std::string::npos; at = usage.find("\n  ", at + 1)) {
    size_t start = usage.find("--", at);
    if (start == std::string::npos || start > at + 7) continue;  // a continuation line
    const size_t end = usage.find_first_of("= \n", start);
    const std::string name = usage.substr(start, end - start);
    CommandLine flags;
    const bool switch_flag = usage[end] != '=';
    const std::string error =
        switch_flag ? Parse({name + "=false"}, flags) : Parse({name, "x"}, flags);
    EXPECT_THAT(error, ::testing::Not(HasSubstr("unknown flag"))) << name;
    ++listed;
  }
  EXPECT_EQ(listed, 14u) << usage;
  CommandLine flags;
  EXPECT_THAT(Parse({"--web.listen_address=:1"}, flags), HasSubstr("unknown flag"));
}

TEST(CommandLineTest, HelpTextsStartInOneColumn) {
  const std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("  --config.file=PATH            config file (default "));
  EXPECT_THAT(usage, HasSubstr("  --web.listen-address=[HOST]:PORT  where to serve"));
  EXPECT_THAT(usage, HasSubstr("\n                                exporter-toolkit web config"));
}

}  // namespace
}  // namespace esim
