#include "web.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bcrypt_hash.h"
#include "http_limits.h"
#include "raw_http.h"

namespace esim {
namespace {

using ::testing::HasSubstr;

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
  client_->set_decompress(false);
  auto res = client_->Get("/metrics", httplib::Headers{{"Accept-Encoding", "gzip"}});
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
  EXPECT_THAT(res->body, HasSubstr("config.yml:3:5: bad"));
}

// --- Limits (http_limits.h, docs/http-hardening.md) ---------------------------------------------

using esim_test::BcryptHash;
using esim_test::CountStatus;
using esim_test::RawConnection;
using esim_test::StatusOf;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// "Range: bytes=0-,0-,..." with as many ranges as fit in one 8 KB header line.
std::string ManyRanges() {
  std::string value = "bytes=0-";
  while (value.size() < 8000) value += ",0-";
  return value;
}

TEST_F(WebServerTest, RangeRequestsGetTheWholeBodyNeverAPart) {
  for (const char* path : {"/", "/metrics"}) {
    for (const std::string& range : {ManyRanges(), std::string("bytes=0-3"),
                                     std::string("bytes=0-3,5-9"), std::string("bytes=-5")}) {
      auto res = client_->Get(path, httplib::Headers{{"Range", range}});
      ASSERT_TRUE(res) << path << " " << range.substr(0, 20);
      EXPECT_EQ(res->status, 200) << path << " " << range.substr(0, 20);
      EXPECT_EQ(res->body.size(), std::string(path) == "/" ? 20u : 20001u) << path;
      EXPECT_FALSE(res->has_header("Content-Range")) << path;
    }
  }
}

TEST_F(WebServerTest, AHeaderFloodIsRefusedWithoutReadingIt) {
  RawConnection flood(server_->port());
  ASSERT_TRUE(flood.connected());
  // Up to 100 MB of 1 KB header lines (the flood): refused long before the end; the
  // sender is reset, or stalls once the socket buffers are full.
  std::atomic<size_t> sent{0};
  std::thread sender([&] {
    if (!flood.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n")) return;
    std::string block;
    while (block.size() < (1 << 20)) block += "X-Flood: " + std::string(1000, 'a') + "\r\n";
    for (int i = 0; i < 100; ++i) {
      if (!flood.Send(block, seconds(2))) return;
      sent += block.size();
    }
  });
  const std::string answer = flood.ReadUntilClosed(seconds(15));
  sender.join();
  EXPECT_EQ(StatusOf(answer), 400) << answer.substr(0, 200);
  EXPECT_LT(sent.load(), size_t{50} << 20) << "the server read on";

  // Up to the count limit is fine; one more is refused.
  auto with_headers = [&](size_t count) {
    httplib::Headers headers;
    for (size_t i = 0; i < count; ++i) headers.emplace("X-H" + std::to_string(i), "v");
    auto res = client_->Get("/-/healthy", headers);
    return res ? res->status : 0;
  };
  EXPECT_EQ(with_headers(http_limits::kMaxHeaderCount - 8), 200);
  EXPECT_EQ(with_headers(http_limits::kMaxHeaderCount + 1), 400);
}

TEST_F(WebServerTest, OversizedBodiesToReloadAreRefused) {
  // Chunked: 100 MB offered in 1 KiB chunks.
  RawConnection chunked(server_->port());
  ASSERT_TRUE(chunked.connected());
  std::thread sender([&] {
    chunked.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "400\r\n" + std::string(1024, 'x') + "\r\n";
    for (int i = 0; i < 100 * 1024; ++i) {
      if (!chunked.Send(chunk, seconds(2))) return;
    }
  });
  const std::string answer = chunked.ReadUntilClosed(seconds(10));
  sender.join();
  EXPECT_EQ(StatusOf(answer), 413) << answer.substr(0, 200);

  // A declared length over the cap: refused before reading it.
  RawConnection declared(server_->port());
  ASSERT_TRUE(
      declared.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\nxxxx"));
  EXPECT_EQ(StatusOf(declared.ReadUntilClosed(seconds(10))), 413);

  // Duplicate, differing Content-Length: the framing is ambiguous (request smuggling).
  RawConnection duplicate(server_->port());
  ASSERT_TRUE(duplicate.Send(
      "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"));
  EXPECT_EQ(StatusOf(duplicate.ReadUntilClosed(seconds(10))), 400);
  EXPECT_EQ(reloads_.load(), 0);

  // A small body (or none: no length, no chunking) is fine.
  EXPECT_EQ(client_->Post("/-/reload", std::string(100, 'x'), "text/plain")->status, 200);
  RawConnection no_length(server_->port());
  ASSERT_TRUE(no_length.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(StatusOf(no_length.ReadUntilClosed(seconds(10))), 200);
  EXPECT_EQ(reloads_.load(), 2);
}

TEST_F(WebServerTest, PipelinedRequestsAreAllAnswered) {
  RawConnection connection(server_->port());
  const std::string request = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(connection.Send(request + request + request +
                              "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string answers = connection.ReadUntilClosed(seconds(10));
  EXPECT_EQ(CountStatus(answers, 200), 4) << answers;
}

TEST_F(WebServerTest, ABurstOfTwoHundredConnectionsIsAllAnswered) {
  std::vector<RawConnection> connections;
  for (int i = 0; i < 200; ++i) {
    connections.emplace_back(server_->port());
    ASSERT_TRUE(connections.back().connected()) << i;
    ASSERT_TRUE(
        connections.back().Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  }
  int answered = 0;
  for (auto& connection : connections) {
    answered += StatusOf(connection.ReadUntilClosed(seconds(20))) == 200;
  }
  EXPECT_EQ(answered, 200);
}

// One header line every 300 ms: each read is quick, the request never ends. Cut at the request
// deadline, while other clients are served.
TEST_F(WebServerTest, ASlowHeaderTrickleIsCutAtTheRequestDeadline) {
  RawConnection trickle(server_->port());
  ASSERT_TRUE(trickle.Send("GET /-/healthy HTTP/1.1\r\n"));
  const auto started = Clock::now();
  bool cut = false;
  while (Clock::now() - started < http_limits::kRequestDeadline + seconds(10)) {
    if (!trickle.Send("X-Slow: 1\r\n") || trickle.ClosedByServer(milliseconds(300))) {
      cut = true;
      break;
    }
    EXPECT_EQ(client_->Get("/-/healthy")->status, 200);
  }
  EXPECT_TRUE(cut);
  EXPECT_GE(Clock::now() - started, http_limits::kRequestDeadline - seconds(1));
}

TEST(WebServerStopTest, StopEndsServeWhateverClientsDo) {
  WebHandlers handlers;
  // A page that never ends, for clients that never read it.
  handlers.metrics = [](const auto& write) {
    for (int i = 0; i < 100000; ++i) write(std::string(65536, 'm'));
  };
  handlers.landing_page = [](const auto&) { return std::string("<html></html>"); };
  handlers.ready = [] { return true; };
  handlers.reload = [] { return std::string(); };
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  WebServer server(options, handlers);
  std::string error;
  ASSERT_TRUE(server.Bind(error)) << error;
  std::atomic<bool> served{false};
  std::thread serving([&] {
    server.Serve();
    served = true;
  });
  std::vector<RawConnection> clients;
  for (int i = 0; i < 20; ++i) {  // trickling headers
    clients.emplace_back(server.port());
    clients.back().Send("GET / HTTP/1.1\r\nHost: x\r\n");
  }
  for (int i = 0; i < 5; ++i) {  // asking for /metrics and never reading it
    clients.emplace_back(server.port());
    clients.back().Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  std::this_thread::sleep_for(milliseconds(500));
  const auto stopping = Clock::now();
  server.Stop();
  while (!served && Clock::now() - stopping < seconds(10)) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(served.load());
  EXPECT_LT(Clock::now() - stopping, seconds(3));
  serving.join();
}

TEST(WebServerPathTest, TheTelemetryPathIsMatchedLiterally) {
  WebHandlers handlers;
  handlers.metrics = [](const auto& write) { write("up 1\n"); };
  handlers.landing_page = [](const auto&) { return std::string("<html></html>"); };
  handlers.ready = [] { return true; };
  handlers.reload = [] { return std::string(); };
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  options.telemetry_path = "/m.trics";
  WebServer server(options, handlers);
  std::string error;
  ASSERT_TRUE(server.Bind(error)) << error;
  std::thread serving([&] { server.Serve(); });
  httplib::Client client("127.0.0.1", server.port());
  const auto exact = client.Get("/m.trics");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->status, 200);
  EXPECT_EQ(exact->body, "up 1\n");
  for (const char* other : {"/mXtrics", "/m.trics/", "/m.tricsX"}) {
    const auto res = client.Get(other);
    ASSERT_TRUE(res) << other;
    EXPECT_EQ(res->status, 404) << other;
  }
  server.Stop();
  serving.join();
}

// The webhook receiver's path alone takes bodies up to 64 KiB; every other path keeps the 4 KiB
// cap, also on the listener that serves the receiver.
TEST(WebServerWebhookTest, OnlyTheReceiverPathTakesLargeBodies) {
  WebHandlers handlers;
  handlers.metrics = [](const auto& write) { write("up 1\n"); };
  handlers.landing_page = [](const auto&) { return std::string("<html></html>"); };
  handlers.ready = [] { return true; };
  std::atomic<int> reloads{0};
  handlers.reload = [&reloads] {
    ++reloads;
    return std::string();
  };
  std::atomic<size_t> received{0};
  handlers.webhook = [&received](const WebhookRequest& request) {
    if (request.body_size > kMaxWebhookBodyBytes)
      return WebhookAnswer{413, "too_large", "", "", ""};
    received = request.body.size();
    return WebhookAnswer{200, "applied", "", "ok\n", ""};
  };
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  options.webhook_paths = {"/webhook"};
  WebServer server(options, handlers);
  std::string error;
  ASSERT_TRUE(server.Bind(error)) << error;
  std::thread serving([&] { server.Serve(); });
  httplib::Client client("127.0.0.1", server.port());

  const std::string big(kMaxWebhookBodyBytes, ' ');
  auto res = client.Post("/webhook", big, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(received.load(), kMaxWebhookBodyBytes);
  // Chunked, as large: also read whole.
  received = 0;
  res = client.Post(
      "/webhook",
      [&big](size_t offset, httplib::DataSink& sink) {
        const size_t n = std::min<size_t>(1000, big.size() - offset);
        sink.write(big.data() + offset, n);
        if (offset + n == big.size()) sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(received.load(), kMaxWebhookBodyBytes);
  res = client.Post("/webhook", big + " ", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);

  // Elsewhere the general cap holds: declared, and chunked.
  httplib::Client other("127.0.0.1", server.port());
  res = other.Post("/-/reload", std::string(http_limits::kMaxBodyBytes + 1, 'x'), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  RawConnection chunked(server.port());
  ASSERT_TRUE(chunked.connected());
  std::thread sender([&] {
    chunked.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "400\r\n" + std::string(1024, 'x') + "\r\n";
    for (int i = 0; i < 1024; ++i) {
      if (!chunked.Send(chunk, seconds(2))) return;
    }
  });
  const std::string answer = chunked.ReadUntilClosed(seconds(10));
  sender.join();
  const int status = StatusOf(answer);
  EXPECT_TRUE(status == 413 || status == 400) << answer.substr(0, 200);
  EXPECT_EQ(reloads.load(), 0);
  server.Stop();
  serving.join();
}

// --- With a web config: basic auth, headers, rate limit ------------------------------------

class WebServerSecuredTest : public testing::Test {
 protected:
  void Start(WebConfig config) {
    WebHandlers handlers;
    handlers.metrics = [](const auto& write) { write("up 1\n"); };
    handlers.landing_page = [](const auto&) { return std::string("<html></html>"); };
    handlers.ready = [] { return true; };
    handlers.reload = [] { return std::string(); };
    WebOptions options;
    options.listen_address = "127.0.0.1:0";
    options.web_config = std::move(config);
    server_ = std::make_unique<WebServer>(options, handlers);
    std::string error;
    ASSERT_TRUE(server_->Bind(error)) << error;
    thread_ = std::thread([this] { server_->Serve(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  std::unique_ptr<WebServer> server_;
  std::thread thread_;
};

TEST_F(WebServerSecuredTest, BasicAuthGuardsEveryPathAndHeadersGoOnEveryResponse) {
  WebConfig config;
  config.basic_auth_users = {{"alice", BcryptHash("s3cret")}};
  config.headers = {{"X-Frame-Options", "deny"}, {"X-Content-Type-Options", "nosniff"}};
  Start(std::move(config));
  httplib::Client client("127.0.0.1", server_->port());
  for (const char* path : {"/metrics", "/", "/-/healthy", "/-/ready", "/no-such-page"}) {
    const auto res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Basic realm=\"esim_exporter\"");
    EXPECT_EQ(res->get_header_value("X-Frame-Options"), "deny") << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
  EXPECT_EQ(client.Post("/-/reload")->status, 401);
  client.set_basic_auth("alice", "s3cret");
  const auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "up 1\n");
  EXPECT_EQ(res->get_header_value("X-Frame-Options"), "deny");
  EXPECT_EQ(res->get_header_value_count("X-Frame-Options"), 1u);
  EXPECT_EQ(client.Get("/no-such-page")->status, 404);
  EXPECT_EQ(client.Post("/-/reload")->status, 200);
  client.set_basic_auth("alice", "wrong");
  EXPECT_EQ(client.Get("/-/healthy")->status, 401);
}

TEST_F(WebServerSecuredTest, ABadTlsContextIsABindError) {
  WebConfig config;
  config.path = "web.yml";
  config.tls = TlsServerConfig{};
  config.tls->cert_file = "/nonexistent/server.pem";
  config.tls->key_file = "/nonexistent/server.key";
  WebHandlers handlers;
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web_config = std::move(config);
  WebServer server(options, handlers);
  std::string error;
  EXPECT_FALSE(server.Bind(error));
  EXPECT_EQ(error,
            "cannot set up TLS from web.yml: cert_file \"/nonexistent/server.pem\": cannot read: "
            "No such file or directory");
}

// The measurement: a flood of wrong passwords right after a start delayed the first
// correct login by 4-10 s, each wrong attempt taking the one bcrypt slot again.
TEST_F(WebServerSecuredTest, AWrongPasswordFloodDoesNotDelayTheRightLogin) {
  WebConfig config;
  // Cost 10, as in a real web config: ~50-100 ms a check.
  config.basic_auth_users = {{"alice", BcryptHash("s3cret", /*cost=*/10)}};
  Start(std::move(config));
  std::atomic<bool> flooding{true};
  std::atomic<int> refused{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 32; ++i) {
    flood.emplace_back([&] {
      httplib::Client client("127.0.0.1", server_->port());
      client.set_basic_auth("alice", "guess");
      while (flooding) {
        auto res = client.Get("/metrics");
        if (res && res->status == 401) ++refused;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  httplib::Client client("127.0.0.1", server_->port());
  client.set_basic_auth("alice", "s3cret");
  const auto started = std::chrono::steady_clock::now();
  const auto res = client.Get("/metrics");
  const auto took = std::chrono::steady_clock::now() - started;
  flooding = false;
  for (auto& thread : flood) thread.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_GT(refused.load(), 32);
}

TEST_F(WebServerSecuredTest, RateLimitAnswers429BeforeCheckingPasswords) {
  WebConfig config;
  config.rate_limit = RateLimit{std::chrono::hours(1), 3};
  Start(std::move(config));
  httplib::Client client("127.0.0.1", server_->port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Get("/-/healthy")->status, 200) << i;
  const auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
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
  EXPECT_THAT(error, HasSubstr("cannot listen on 127.0.0.1:"));
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
