#include "http_transport.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

namespace esim {
namespace {

// A real cpp-httplib server on an ephemeral loopback port.
class LoopbackServer {
 public:
  explicit LoopbackServer(bool tls = false, const char* host = "127.0.0.1") {
    if (tls) {
      const std::string dir = ESIM_TEST_CERT_DIR;
      server_ = std::make_unique<httplib::SSLServer>((dir + "/server.pem").c_str(),
                                                     (dir + "/server.key").c_str());
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    server_->set_socket_options([](int) {});
    server_->Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      res.set_header("X-Seen-Path", req.path);
      res.set_content(req.body, "application/json");
    });
    server_->Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(4 * 1024 * 1024, 'x'), "text/plain");
    });
    server_->Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.set_content("late", "text/plain");
    });
    server_->set_keep_alive_max_count(1000);
    port_ = server_->bind_to_any_port(host);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() is a no-op until the accept loop runs: wait for it, or the destructor may hang.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

HttpRequest Echo(const std::string& body) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/echo";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body;
  return request;
}

TEST(HttplibTransportTest, SendsTheBodyAndLowercasesHeaders) {
  LoopbackServer server;
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port())});
  const HttpResponse response = transport.Send(Echo(R"({"iccid":"1"})"));
  ASSERT_EQ(response.error, TransportError::kNone) << response.error_detail;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"iccid":"1"})");
  EXPECT_EQ(response.headers.find("x-seen-path")->second, "/echo");
}

TEST(HttplibTransportTest, KeepsThePathPrefixOfTheBaseUrl) {
  LoopbackServer server;
  HttplibTransport transport(
      {.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/proxy/"});
  const HttpResponse response = transport.Send(Echo("{}"));
  EXPECT_EQ(response.status, 404);  // /proxy/echo is not served: the prefix was sent
}

TEST(HttplibTransportTest, CutsOffAnswersAboveTheCap) {
  LoopbackServer server;
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port()),
                              .max_body_bytes = 1024 * 1024});
  HttpRequest request;
  request.method = "GET";
  request.path = "/big";
  const HttpResponse response = transport.Send(request);
  EXPECT_EQ(response.error, TransportError::kBodyTooLarge);
  EXPECT_TRUE(response.body.empty());
}

TEST(HttplibTransportTest, ReportsATimeout) {
  LoopbackServer server;
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port()),
                              .timeout = std::chrono::milliseconds(300)});
  HttpRequest request;
  request.method = "GET";
  request.path = "/slow";
  EXPECT_EQ(transport.Send(request).error, TransportError::kTimeout);
}

TEST(HttplibTransportTest, ReportsARefusedConnection) {
  int port;
  {
    LoopbackServer server;
    port = server.port();
  }
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(transport.Send(Echo("{}")).error, TransportError::kConnection);
}

TEST(HttplibTransportTest, VerifiesTheServerCertificate) {
  LoopbackServer server(/*tls=*/true);
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());
  const std::string certs = ESIM_TEST_CERT_DIR;
  HttplibTransport trusted({.base_url = url, .ca_file = certs + "/ca.pem"});
  const HttpResponse ok = trusted.Send(Echo("{}"));
  EXPECT_EQ(ok.error, TransportError::kNone) << ok.error_detail;
  EXPECT_EQ(ok.status, 200);
  // Not in the system store, and another CA: refused.
  HttplibTransport system_store({.base_url = url});
  EXPECT_EQ(system_store.Send(Echo("{}")).error, TransportError::kTls);
  HttplibTransport other({.base_url = url, .ca_file = certs + "/other_ca.pem"});
  EXPECT_EQ(other.Send(Echo("{}")).error, TransportError::kTls);
}

TEST(HttplibTransportTest, CertificateMustNameTheHost) {
  // The certificate is for 127.0.0.1 and localhost, not for 127.0.0.2.
  LoopbackServer server(/*tls=*/true, "127.0.0.2");
  HttplibTransport transport({.base_url = "https://127.0.0.2:" + std::to_string(server.port()),
                              .ca_file = std::string(ESIM_TEST_CERT_DIR) + "/ca.pem"});
  EXPECT_EQ(transport.Send(Echo("{}")).error, TransportError::kTls);
}

TEST(HttplibTransportTest, ReusesConnectionsAcrossRequests) {
  LoopbackServer server;
  HttplibTransport transport(
      {.base_url = "http://127.0.0.1:" + std::to_string(server.port()), .max_connections = 1});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(transport.Send(Echo("{}")).status, 200);
  EXPECT_EQ(server.requests(), 5);
  // The pool held one client; its socket stayed open between requests (see the integration
  // test for the count of TCP connections the fake API accepted).
}

TEST(HttplibTransportTest, RejectsAnUnusableCaFile) {
  EXPECT_THROW(HttplibTransport({.base_url = "https://127.0.0.1:1",
                                 .ca_file = std::string(ESIM_TESTDATA_DIR) + "/no-such-ca.pem"}),
               std::invalid_argument);
}

}  // namespace
}  // namespace esim
