#include "web.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace esim {
namespace {

TEST(ParseListenAddressTest, AcceptsTheExporterForms) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseListenAddress(":10417", host, port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 10417);
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:9", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9);
  ASSERT_TRUE(ParseListenAddress("[::1]:10417", host, port));
  EXPECT_EQ(host, "::1");
  for (const char* bad : {"10417", "host:", "host:port", ":70000", ":-1", ":1x"}) {
    EXPECT_FALSE(ParseListenAddress(bad, host, port)) << bad;
  }
}

class WebServerTest : public testing::Test {
 protected:
  void SetUp() override {
    WebHandlers handlers;
    handlers.metrics = [](const auto& write) { write(std::string(20000, 'm') + "\n"); };
    handlers.landing_page = [](const auto&) { return std::string("<html>landing</html>"); };
    handlers.ready = [this] { return ready_.load(); };
    handlers.reload = [this] {
      ++reloads_;
      return reload_error_;
    };
    WebOptions options;
    options.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<WebServer>(options, handlers);
    std::string error;
    ASSERT_TRUE(server_->Bind(error)) << error;
    thread_ = std::thread([this] { server_->Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_decompress(false);
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::atomic<bool> ready_{false};
  std::atomic<int> reloads_{0};
  std::string reload_error_;
  std::unique_ptr<WebServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WebServerTest, ServesMetricsWithTheExpositionContentType) {
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body.size(), 20001u);
}

TEST_F(WebServerTest, GzipsMetricsWhenAsked) {
  auto res = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(res->body.size(), 1000u);
}

TEST_F(WebServerTest, HealthAndReadiness) {
  EXPECT_EQ(client_->Get("/-/healthy")->status, 200);
  EXPECT_EQ(client_->Get("/-/ready")->status, 503);
  ready_ = true;
  EXPECT_EQ(client_->Get("/-/ready")->status, 200);
  EXPECT_EQ(client_->Get("/")->body, "<html>landing</html>");
  EXPECT_EQ(client_->Get("/nope")->status, 404);
}

TEST_F(WebServerTest, ReloadOnlyByPost) {
  EXPECT_EQ(client_->Get("/-/reload")->status, 405);
  EXPECT_EQ(client_->Put("/-/reload", "", "text/plain")->status, 405);
  EXPECT_EQ(reloads_.load(), 0);
  EXPECT_EQ(client_->Post("/-/reload")->status, 200);
  EXPECT_EQ(reloads_.load(), 1);
  reload_error_ = "config.yml:3:5: bad";
  auto res = client_->Post("/-/reload");
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("config.yml:3:5: bad"), std::string::npos);
}

TEST(WebServerBindTest, ReportsAPortInUse) {
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  WebServer first(options, {});
  std::string error;
  ASSERT_TRUE(first.Bind(error));
  options.listen_address = "127.0.0.1:" + std::to_string(first.port());
  WebServer second(options, {});
  EXPECT_FALSE(second.Bind(error));
  EXPECT_NE(error.find("cannot listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

TEST(WebServerStopTest, StopBeforeServeStillEndsServe) {
  for (int i = 0; i < 20; ++i) {
    WebOptions options;
    options.listen_address = "127.0.0.1:0";
    WebServer server(options, {});
    std::string error;
    ASSERT_TRUE(server.Bind(error)) << error;
    // A SIGTERM right at startup: Stop races with Serve starting; Serve must return either way.
    std::thread stopper([&] { server.Stop(); });
    std::thread serving([&] { server.Serve(); });
    stopper.join();
    serving.join();
  }
}

}  // namespace
}  // namespace esim
