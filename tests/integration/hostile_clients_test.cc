// Scrapers that misbehave must not starve a real scrape.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "fake_esimfly_api.h"
#include "harness.h"
#include "raw_http.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;

using std::chrono::seconds;

int ConnectAndSendNothing(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The fake API and a config for it, in a directory others may read (for a run as nobody).
struct ExporterSetup {
  ExporterSetup() : api(Options()) {
    api.Start();
    chmod(dir.path().c_str(), 0755);
    chmod(dir.Write("secret_key", "sk_hostile\n").c_str(), 0644);
    config = dir.Write("config.yml", "api:\n  url: " + api.BaseUrl() +
                                         "\n  access_code: esf_hostile\n  secret_key_file: "
                                         "secret_key\nesims:\n  - iccid: \"" +
                                         fake_esimfly::kSpecExampleIccid + "\"\n");
    chmod(config.c_str(), 0644);
  }
  static fake_esimfly::Options Options() {
    fake_esimfly::Options options;
    options.access_code = "esf_hostile";
    options.secret_key = "sk_hostile";
    return options;
  }
  fake_esimfly::FakeEsimflyApi api;
  TempDir dir;
  std::string config;
};

using Clock = std::chrono::steady_clock;

// 300 clients (more than the server's 128 workers) that send a request line, then one header
// line a second, for ever. A scrape is still answered within Prometheus' 10 s timeout, and
// SIGTERM ends the exporter within a few seconds.
TEST(HostileClientsTest, ASlowHeaderTrickleNeitherStarvesAScrapeNorDelaysAStop) {
  ExporterSetup setup;
  ExporterProcess exporter({"--config.file=" + setup.config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  std::vector<RawConnection> tricklers;
  for (int i = 0; i < 300; ++i) {
    tricklers.emplace_back(exporter.port());
    ASSERT_TRUE(tricklers.back().connected()) << i;
    tricklers.back().Send("GET / HTTP/1.1\r\n");
  }
  std::atomic<bool> trickling{true};
  std::thread trickle([&] {
    while (trickling) {
      for (auto& trickler : tricklers) trickler.Send("X-Slow: 1\r\n", std::chrono::milliseconds(1));
      std::this_thread::sleep_for(seconds(1));
    }
  });
  std::this_thread::sleep_for(seconds(2));
  const auto started = Clock::now();
  const std::string text = exporter.ScrapeText();
  const auto took = Clock::now() - started;
  EXPECT_THAT(text, HasSubstr("esim_poll_success"));
  EXPECT_LT(took, seconds(9)) << "the scrape waited behind the trickling clients";

  const auto stopping = Clock::now();
  EXPECT_EQ(exporter.Terminate(seconds(10)), 0);
  EXPECT_LT(Clock::now() - stopping, seconds(5)) << "SIGTERM waited for the trickling clients";
  trickling = false;
  trickle.join();
}

// The systemd unit's TasksMax, as `ulimit -u` for an unprivileged user: with threads running
// out, a connection flood makes the exporter refuse connections, not abort (exit 134 before).
TEST(HostileClientsTest, RunningOutOfThreadsRefusesConnectionsInsteadOfAborting) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run the exporter as nobody";
  ExporterSetup setup;
  ExporterProcess exporter(
      {"--config.file=" + setup.config}, {},
      {"prlimit", "--nproc=48:48", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  std::vector<RawConnection> flood;
  for (int i = 0; i < 600; ++i) {
    flood.emplace_back(exporter.port());
    // A partial request: past TCP_DEFER_ACCEPT, holding a worker until the request deadline.
    if (flood.back().connected()) flood.back().Send("GET / HTTP/1.1\r\n");
  }
  std::this_thread::sleep_for(seconds(3));
  int status = 0;
  ASSERT_EQ(waitpid(exporter.pid(), &status, WNOHANG), 0) << "the exporter died\n"
                                                          << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr("cannot start a thread for an HTTP connection"))
      << "the flood did not reach the thread limit; the test proves nothing";
  flood.clear();
  EXPECT_TRUE(exporter.WaitFor([&] { return !exporter.ScrapeText().empty(); }, seconds(20)))
      << exporter.Stderr();
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST(HostileClientsTest, AScrapeIsAnsweredWhileThreeHundredConnectionsHang) {
  fake_esimfly::Options options;
  options.access_code = "esf_hostile";
  options.secret_key = "sk_hostile";
  fake_esimfly::FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  dir.Write("secret_key", "sk_hostile\n");
  const std::string config =
      dir.Write("config.yml", "api:\n  url: " + api.BaseUrl() +
                                  "\n  access_code: esf_hostile\n  secret_key_file: secret_key\n"
                                  "esims:\n  - iccid: \"" +
                                  fake_esimfly::kSpecExampleIccid + "\"\n");
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();

  std::vector<int> hanging;
  for (int i = 0; i < 300; ++i) {
    const int fd = ConnectAndSendNothing(exporter.port());
    ASSERT_GE(fd, 0) << i;
    hanging.push_back(fd);
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string text = exporter.ScrapeText();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_THAT(text, HasSubstr("esim_poll_success"));
  EXPECT_LT(took, seconds(2)) << "a scrape waited behind connections that never send";
  for (int fd : hanging) close(fd);
  EXPECT_EQ(exporter.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
