// Scrapers that misbehave must not starve a real scrape.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

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
  EXPECT_NE(text.find("esim_poll_success"), std::string::npos);
  EXPECT_LT(took, seconds(2)) << "a scrape waited behind connections that never send";
  for (int fd : hanging) close(fd);
  EXPECT_EQ(exporter.Terminate(), 0);
}

}  // namespace
}  // namespace esim_test
