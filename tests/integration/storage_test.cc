// Durable state (--storage.path) with the real binary against the fake eSIMfly API: restarts
// (SIGTERM and SIGKILL) bring every series back at once without a storm of requests, a crash
// loop keeps to the request budget and a clean restart spends none of it, restored data older
// than stale_after is not served, a corrupt state file is moved aside, and a directory that
// cannot be used is a startup error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "fake_esimfly_api.h"
#include "harness.h"
#include "state_file.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSecret[] = "sk_storage_secret_0123456789abcdef";
constexpr char kAccessCode[] = "esf_storage_access";

const std::vector<std::string> kFleet = {
    fake_esimfly::kSpecExampleIccid, fake_esimfly::kUnlimitedIccid, fake_esimfly::kDepletedIccid,
    fake_esimfly::kExpiredIccid,     fake_esimfly::kHealthy5gIccid, fake_esimfly::kAlertingIccid};

fake_esimfly::Options FakeOptions() {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  options.keep_alive_timeout = seconds(1);
  return options;
}

std::string WriteConfig(const TempDir& dir, const std::string& url, const std::string& limits,
                        const std::string& access_code = kAccessCode,
                        const std::string& poll = "  interval: 60s\n") {
  dir.Write("secret_key", std::string(kSecret) + "\n");
  std::string yaml = "api:\n  url: " + url + "\n  access_code: " + access_code +
                     "\n  secret_key_file: secret_key\n  timeout: 2s\n  max_concurrency: 2\n"
                     "  rate_limit:\n" +
                     limits + "poll:\n" + poll + "esims:\n";
  for (const std::string& iccid : kFleet) yaml += "  - iccid: \"" + iccid + "\"\n";
  return dir.Write("config.yml", yaml);
}

constexpr char kGenerous[] = "    per_minute: 600\n    per_hour: 100000\n    per_day: 1000000\n";

double Get(const Samples& m, const std::string& key, double otherwise = -1) {
  const auto it = m.find(key);
  return it == m.end() ? otherwise : it->second;
}

// The per-eSIM series, without those that move with the clock (ages).
Samples EsimSeries(const Samples& all) {
  Samples out;
  for (const auto& [key, value] : all) {
    if (key.find("iccid=") == std::string::npos || key.find("_age_") != std::string::npos) continue;
    out.emplace(key, value);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Limits(size_t per_hour) {
  return "    per_minute: 60\n    per_hour: " + std::to_string(per_hour) +
         "\n    per_day: 100000\n";
}

size_t CountFamily(const Samples& all, const std::string& family) {
  size_t count = 0;
  for (const auto& [key, value] : all) {
    if (key.rfind(family + "{", 0) == 0) ++count;
  }
  return count;
}

size_t StatusRequests(const FakeEsimflyApi& api) {
  size_t count = 0;
  for (const auto& request : api.Requests()) {
    if (request.path.find("status") != std::string::npos) ++count;
  }
  return count;
}

TEST(StorageTest, SigtermRestartServesEverythingAtOnceWithoutAStorm) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string storage = dir.path() + "/state";
  Samples before;
  {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(20))) << exporter.Stderr();
    before = EsimSeries(exporter.Scrape());
    EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();
  }
  ASSERT_FALSE(before.empty());
  EXPECT_TRUE(std::filesystem::exists(storage + "/state.jsonl"));
  api.ClearRequests();

  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  // The very first answers: ready, and every series as it was, values and timestamps.
  const auto ready = exporter.Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  const Samples all = exporter.Scrape();
  EXPECT_EQ(EsimSeries(all), before);
  EXPECT_EQ(Get(all, "esim_storage_restored_esims"), static_cast<double>(kFleet.size()));
  EXPECT_EQ(Get(all, "esim_storage_write_failures_total"), 0);
  // No re-poll of the fleet: every eSIM was polled seconds ago, the interval is 60 s.
  std::this_thread::sleep_for(seconds(3));
  EXPECT_EQ(StatusRequests(api), 0u) << exporter.Stderr();
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST(StorageTest, SigkillLosesAtMostTheWriteInterval) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string storage = dir.path() + "/state";
  {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage},
                             {"ESIM_EXPORTER_STORAGE_WRITE_INTERVAL=0.5"});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(20))) << exporter.Stderr();
    // One write interval and a margin after everything was polled.
    ASSERT_TRUE(exporter.WaitFor(
        [&] {
          return Get(exporter.Scrape(), "esim_storage_last_write_success_timestamp_seconds") > 0;
        },
        seconds(5)));
    std::this_thread::sleep_for(milliseconds(1200));
    exporter.Signal(SIGKILL);
    EXPECT_EQ(exporter.WaitForExit(seconds(5)), 128 + SIGKILL);
  }
  api.ClearRequests();
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const Samples all = exporter.Scrape();
  EXPECT_EQ(Get(all, "esim_storage_restored_esims"), static_cast<double>(kFleet.size()))
      << exporter.Stderr();
  const auto ready = exporter.Get("/-/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(StatusRequests(api), 0u);
}

TEST(StorageTest, CrashLoopOfSigkillsNeverExceedsTheBudget) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  // 8 requests an hour for 6 eSIMs; requests at most one a second (per_minute 60).
  const std::string config =
      WriteConfig(dir, api.BaseUrl(), "    per_minute: 60\n    per_hour: 8\n    per_day: 1000\n");
  const std::string storage = dir.path() + "/state";
  for (int i = 0; i < 6; ++i) {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    std::this_thread::sleep_for(milliseconds(2500));
    exporter.Signal(SIGKILL);
    EXPECT_EQ(exporter.WaitForExit(seconds(5)), 128 + SIGKILL);
  }
  // Without the ledger each life would send 2-3 requests: 15 or more in all.
  EXPECT_LE(api.RequestCount(), 8u);
  EXPECT_GE(api.RequestCount(), 1u);
}

TEST(StorageTest, SigtermRestartKeepsTheBudgetForRealRequests) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string storage = dir.path() + "/state";
  // 40 an hour: reservations of 4, so the fleet's requests leave part of a block unused.
  {
    ExporterProcess exporter({"--config.file=" + WriteConfig(dir, api.BaseUrl(), Limits(40)),
                              "--storage.path=" + storage});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
    // Stopped while no request is under way: the budget counts a request before it goes out,
    // so one that the stop cuts short is in the ledger without having reached the API. Settled:
    // every request the API saw is answered, and none began for longer than the budget's
    // spacing (60 a minute) after the readiness poll cycle.
    const auto answered = [&] {
      return Get(exporter.Scrape(), "esim_api_request_duration_seconds_count");
    };
    ASSERT_TRUE(exporter.WaitFor(
        [&] {
          const double before = answered();
          if (before != static_cast<double>(api.RequestCount())) return false;
          std::this_thread::sleep_for(milliseconds(1500));
          return answered() == before && api.RequestCount() == static_cast<size_t>(before);
        },
        seconds(20)))
        << "answered " << answered() << ", the API saw " << api.RequestCount() << "\n"
        << exporter.Stderr();
    EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();
  }
  const size_t sent = api.RequestCount();
  ASSERT_GE(sent, kFleet.size());
  // The clean stop leaves only what was really sent in the ledger.
  std::string error;
  const auto ledger = esim::DecodeLedger(ReadFile(storage + "/budget.jsonl"), error);
  ASSERT_TRUE(ledger) << error;
  EXPECT_EQ(ledger->reserved, 0);
  EXPECT_EQ(ledger->sent.size(), sent);

  // The restarted exporter counts those alone: the rest of the hour's budget is there to use
  // (the landing page shows the sliding hour's requests as the budget sees them).
  api.ClearRequests();
  ExporterProcess exporter({"--config.file=" + WriteConfig(dir, api.BaseUrl(), Limits(40)),
                            "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const size_t new_before = api.RequestCount();
  const auto page = exporter.Get("/");
  const size_t new_after = api.RequestCount();
  ASSERT_TRUE(page);
  std::smatch used;
  ASSERT_TRUE(
      std::regex_search(page->body, used, std::regex(R"re(id="budget-hour" data-used="(\d+)")re")))
      << page->body;
  EXPECT_GE(std::stoul(used[1]), sent + new_before);
  EXPECT_LE(std::stoul(used[1]), sent + new_after);
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST(StorageTest, RestoredDataOlderThanStaleAfterIsNotServed) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string storage = dir.path() + "/state";
  {
    ExporterProcess exporter({"--config.file=" + WriteConfig(dir, api.BaseUrl(), kGenerous),
                              "--storage.path=" + storage});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(20))) << exporter.Stderr();
    ASSERT_EQ(CountFamily(exporter.Scrape(), "esim_data_used_bytes"), kFleet.size());
    EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();
  }
  const size_t sent = api.RequestCount();
  // The saved state as if written 5 hours ago: every observation 5 hours old.
  constexpr double kAge = 5 * 3600;
  std::string error;
  auto state = esim::DecodeState(ReadFile(storage + "/state.jsonl"), error);
  ASSERT_TRUE(state) << error;
  for (const esim::PersistedEsim& esim : state->esims) {
    EXPECT_GT(esim.last_attempt, 0) << "each eSIM's last poll, from the schedule, is saved";
  }
  state->written -= kAge;
  for (esim::PersistedEsim& esim : state->esims) {
    esim::EsimRecord& record = esim.record;
    for (double* time : {&record.last_poll_time, &record.last_success_time, &record.last_live_time,
                         &record.last_live_success_time, &esim.last_attempt}) {
      if (*time > 0) *time -= kAge;
    }
  }
  std::ofstream(storage + "/state.jsonl", std::ios::trunc) << esim::EncodeState(*state);

  // stale_after 1h; the budget the first life spent allows no request now, so nothing is
  // re-polled: the effective interval (about an hour) makes the limit max(1h, 2 x interval),
  // well under 5 hours.
  ExporterProcess exporter(
      {"--config.file=" + WriteConfig(dir, api.BaseUrl(), Limits(sent), kAccessCode,
                                      "  interval: 60s\n  stale_after: 1h\n"),
       "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const Samples all = exporter.Scrape();
  EXPECT_EQ(Get(all, "esim_storage_restored_esims"), static_cast<double>(kFleet.size()))
      << exporter.Stderr();
  for (const char* family :
       {"esim_data_used_bytes", "esim_data_total_bytes", "esim_status", "esim_active"}) {
    EXPECT_EQ(CountFamily(all, family), 0u) << family;
  }
  EXPECT_EQ(api.RequestCount(), sent);
}

TEST(StorageTest, CorruptStateFileIsMovedAsideAndTheExporterStartsFresh) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string storage = dir.path() + "/state";
  std::filesystem::create_directories(storage);
  std::ofstream(storage + "/state.jsonl") << "{\"format\":\"esim_exporter.state\",\"vers";
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr("moved aside")) << exporter.Stderr();
  size_t aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(storage)) {
    if (entry.path().filename().string().rfind("state.jsonl.bad-", 0) == 0) ++aside;
  }
  EXPECT_EQ(aside, 1u);
  EXPECT_TRUE(exporter.WaitUntilReady(seconds(20))) << exporter.Stderr();
  EXPECT_EQ(Get(exporter.Scrape(), "esim_storage_restored_esims"), 0);
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST(StorageTest, StateOfAnotherAccountIsNotRestored) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string storage = dir.path() + "/state";
  {
    ExporterProcess exporter({"--config.file=" + WriteConfig(dir, api.BaseUrl(), kGenerous),
                              "--storage.path=" + storage});
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(20))) << exporter.Stderr();
    EXPECT_EQ(exporter.Terminate(), 0);
  }
  ExporterProcess exporter(
      {"--config.file=" + WriteConfig(dir, api.BaseUrl(), kGenerous, "esf_other_account"),
       "--storage.path=" + storage});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr("another API account")) << exporter.Stderr();
  EXPECT_EQ(Get(exporter.Scrape(), "esim_storage_restored_esims"), 0);
}

TEST(StorageTest, DirectoryThatCannotBeCreatedIsAStartupErrorNamingIt) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string file = dir.Write("not_a_dir", "x");
  for (const std::string& path : {file + "/state", std::string("/proc/esim_exporter_state")}) {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + path});
    EXPECT_EQ(exporter.WaitForExit(seconds(10)), 1) << path;
    EXPECT_THAT(exporter.Stderr(), HasSubstr(path)) << exporter.Stderr();
  }
}

TEST(StorageTest, ExistingDirectoryThatCannotBeWrittenIsAStartupErrorNamingIt) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string storage = dir.path() + "/state";
  std::filesystem::create_directories(storage);
  // Root writes through any mode bits: the immutable attribute refuses it too.
  std::filesystem::permissions(
      storage, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const bool immutable = std::system(("chattr +i '" + storage + "' 2>/dev/null").c_str()) == 0;
  const auto writable_again = [&] {
    if (immutable) {
      EXPECT_EQ(std::system(("chattr -i '" + storage + "'").c_str()), 0);
    }
    std::filesystem::permissions(storage, std::filesystem::perms::owner_all);
  };
  const std::string probe = storage + "/probe";
  if (std::ofstream(probe).is_open()) {
    writable_again();
    GTEST_SKIP() << "cannot make a directory unwritable here: running as root on a filesystem "
                    "without chattr +i";
  }
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  EXPECT_EQ(exporter.WaitForExit(seconds(10)), 1);
  EXPECT_THAT(exporter.Stderr(), HasSubstr(storage)) << exporter.Stderr();
  writable_again();
}

TEST(StorageTest, SecondProcessOnTheSameDirectoryExitsWithAClearError) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, api.BaseUrl(), kGenerous);
  const std::string storage = dir.path() + "/state";
  ExporterProcess first({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_GT(first.port(), 0) << first.Stderr();
  ExporterProcess second({"--config.file=" + config, "--storage.path=" + storage});
  EXPECT_EQ(second.WaitForExit(seconds(10)), 1);
  EXPECT_THAT(second.Stderr(), HasSubstr("another esim_exporter process uses it"))
      << second.Stderr();
  EXPECT_THAT(second.Stderr(), HasSubstr(storage)) << second.Stderr();
  EXPECT_EQ(first.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
