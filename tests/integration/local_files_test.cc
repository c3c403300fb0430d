// The files the operator names (--config.file, --web.config.file) when they are not what they
// should be: a device, a FIFO, a path replaced under a running exporter. And a reload flood: a
// reload of an unchanged config must cost no log lines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr char kSecret[] = "sk_local_files_secret_0123456789";
constexpr char kAccessCode[] = "esf_local_files_access";

fake_esimfly::Options FakeOptions() {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  return options;
}

std::string WriteConfig(const TempDir& dir, const std::string& url) {
  dir.Write("secret_key", std::string(kSecret) + "\n");
  return dir.Write("config.yml", "api:\n  url: " + url + "\n  access_code: " + kAccessCode +
                                     "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                                     "poll:\n  interval: 60s\nesims:\n  - iccid: \"" +
                                     fake_esimfly::kSpecExampleIccid + "\"\n");
}

// Replaces `path` by a FIFO that nobody writes to: a blocking reader would wait forever.
void ReplaceByFifo(const std::string& path) {
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(LocalFilesTest, ADeviceAsTheWebConfigIsRefusedAtOnce) {
  TempDir dir;
  const std::string config = WriteConfig(dir, "http://127.0.0.1:1");
  const auto start = steady_clock::now();
  // Before, the exporter read /dev/zero until memory ran out (8 GB in 20 s).
  const CommandResult run =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.file=" + config, "--web.config.file=/dev/zero",
                  "--web.listen-address=127.0.0.1:0"},
                 "", seconds(20));
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("/dev/zero: cannot read: not a regular file but a character device"));
  EXPECT_LT(took, seconds(5));
}

TEST(LocalFilesTest, AFifoAsTheConfigIsRefusedAtOnce) {
  TempDir dir;
  const std::string fifo = dir.path() + "/config.yml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto start = steady_clock::now();
  // Before, the exporter waited for a writer; RunCommand kills it after 20 s ("timed out").
  const CommandResult run = RunCommand(
      {ESIM_EXPORTER_BINARY, "--config.file=" + fifo, "--web.listen-address=127.0.0.1:0"}, "",
      seconds(20));
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr(fifo + ": cannot read: not a regular file but a FIFO (named pipe)"));
  EXPECT_LT(took, seconds(5));
}

// The config path replaced by a FIFO under a running exporter: POST /-/reload and SIGHUP fail
// at once (the running config stays), and SIGTERM, handled by the thread SIGHUP reloads on,
// still stops the process.
TEST(LocalFilesTest, AReloadFromAFifoFailsAndTheExporterStillStops) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl());
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  ReplaceByFifo(config);

  const auto posted = steady_clock::now();
  const auto refused = exporter.Post("/-/reload");
  ASSERT_TRUE(refused) << exporter.Stderr();
  EXPECT_LT(steady_clock::now() - posted, seconds(5));
  EXPECT_EQ(refused->status, 500);
  EXPECT_THAT(refused->body, HasSubstr("not a regular file but a FIFO"));
  Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 0);
  EXPECT_EQ(m.at("esim_monitored_esims"), 1);  // the running config stays

  exporter.Signal(SIGHUP);
  // The refusal is logged once per reason: SIGHUP's reload, refused for the same reason as the
  // POST's, adds no line; that it ran shows in the exporter still answering and stopping.
  EXPECT_TRUE(exporter.WaitFor([&] { return exporter.Get("/-/healthy").has_value(); }, seconds(5)));
  const auto stopping = steady_clock::now();
  EXPECT_EQ(exporter.Terminate(seconds(5)), 0) << exporter.Stderr();
  EXPECT_LT(steady_clock::now() - stopping, seconds(5));
  EXPECT_EQ(Count(exporter.Stderr(), "config reload refused"), 1u) << exporter.Stderr();
}

// POST /-/reload needs no credentials without a web config: a flood of reloads of an unchanged
// config must not flood the log. At the default level, reloads that change nothing write no line,
// and the reload metrics still count them as successful.
TEST(LocalFilesTest, AFloodOfUnchangedReloadsWritesNoLogLines) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl());
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const double started_at =
      exporter.Scrape().at("esim_config_last_reload_success_timestamp_seconds");
  const size_t before = exporter.Stderr().size();
  std::this_thread::sleep_for(milliseconds(1100));  // the success timestamp has 1 s resolution
  for (int i = 0; i < 200; ++i) ASSERT_EQ(exporter.Post("/-/reload")->status, 200) << i;
  for (int i = 0; i < 5; ++i) exporter.Signal(SIGHUP);
  std::this_thread::sleep_for(milliseconds(500));  // SIGHUP reloads run on their own thread
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 1);
  EXPECT_GT(m.at("esim_config_last_reload_success_timestamp_seconds"), started_at);
  const std::string added = exporter.Stderr().substr(before);
  EXPECT_EQ(Count(added, "level=info"), 0u) << added;
  EXPECT_EQ(Count(added, "level=warn"), 0u) << added;

  // A reload that does change something is still logged.
  dir.Write("config.yml", "# changed\n" + ReadFile(config));  // a comment: same config
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200);
  EXPECT_EQ(Count(exporter.Stderr().substr(before), "config reloaded"), 0u);
  std::string text = ReadFile(config);
  text.replace(text.find("timeout: 5s"), 11, "timeout: 6s");  // a different config
  dir.Write("config.yml", text);
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200);
  EXPECT_EQ(Count(exporter.Stderr().substr(before), "config reloaded"), 1u) << exporter.Stderr();
  // So is one where only a file the config names changed: the secret the requests are signed with.
  dir.Write("secret_key", "sk_rotated_secret\n");
  ASSERT_EQ(exporter.Post("/-/reload")->status, 200);
  EXPECT_EQ(Count(exporter.Stderr().substr(before), "config reloaded"), 2u) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr("sk_rotated_secret")));
  EXPECT_EQ(exporter.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
