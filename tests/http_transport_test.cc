#include "http_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
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

// A loopback HTTP/1.1 server written on raw sockets, for what a real server does only by chance:
// closing a kept-alive connection just as a request arrives, or in the middle of an answer. It
// counts connections, and never closes an idle one. Connections are served one at a time;
// `script(connection, request)` (both counted from 0) says what each request gets; every answer
// carries `headers` ("Name: value\r\n" lines).
class ScriptedServer {
 public:
  enum class Reply { kAnswer, kCloseWithoutAnswer, kCloseMidAnswer };
  using Script = std::function<Reply(int connection, int request)>;

  explicit ScriptedServer(Script script, std::string headers = "")
      : script_(std::move(script)), headers_(std::move(headers)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    socklen_t length = sizeof address;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listener_, 8) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  // Waits up to 50 ms for `fd` to be readable, so that the destructor is never kept waiting.
  static bool Readable(int fd) {
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, 50) > 0;
  }

  void Serve() {
    while (!stop_) {
      if (!Readable(listener_)) continue;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ServeConnection(fd, connections_++);
      close(fd);
    }
  }

  // Serves requests on one connection until the script or the client closes it.
  void ServeConnection(int fd, int connection) {
    std::string buffer;
    for (int request = 0; !stop_; ++request) {
      if (!ReadRequest(fd, buffer)) return;
      ++requests_;
      switch (script_(connection, request)) {
        case Reply::kAnswer:
          SendAll(fd, "HTTP/1.1 200 OK\r\n" + headers_ + "Content-Length: 2\r\n\r\nok");
          break;
        case Reply::kCloseWithoutAnswer:
          return;
        case Reply::kCloseMidAnswer:
          SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok");
          return;
      }
    }
  }

  // Reads one request (headers and a Content-Length body) off the front of `buffer` and `fd`.
  bool ReadRequest(int fd, std::string& buffer) {
    size_t body_length = 0;
    size_t head_end = std::string::npos;
    while (!stop_) {
      if (head_end == std::string::npos) {
        head_end = buffer.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          head_end += 4;
          const size_t field = buffer.find("Content-Length: ");
          if (field != std::string::npos && field < head_end)
            body_length = std::strtoul(buffer.c_str() + field + 16, nullptr, 10);
        }
      }
      if (head_end != std::string::npos && buffer.size() >= head_end + body_length) {
        buffer.erase(0, head_end + body_length);
        return true;
      }
      if (!Readable(fd)) continue;
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    return false;
  }

  static void SendAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  Script script_;
  std::string headers_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
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

using Reply = ScriptedServer::Reply;

Reply AlwaysAnswer(int, int) { return Reply::kAnswer; }

// The TCP connections two requests `pause` apart take, when every answer carries `headers`.
int ConnectionsForTwoRequests(const std::string& headers, std::chrono::milliseconds pause) {
  ScriptedServer server(AlwaysAnswer, headers);
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port())});
  EXPECT_EQ(transport.Send(Echo("{}")).status, 200);
  std::this_thread::sleep_for(pause);
  EXPECT_EQ(transport.Send(Echo("{}")).status, 200);
  EXPECT_EQ(server.requests(), 2);
  return server.connections();
}

TEST(HttplibTransportTest, ReusesAConnectionOnlyWhileTheServerSaidItKeepsItOpen) {
  using std::chrono::milliseconds;
  // Kept open 2 s: reused within 1 s, a second short of it.
  EXPECT_EQ(ConnectionsForTwoRequests("Keep-Alive: timeout=2, max=100\r\n", milliseconds(0)), 1);
  EXPECT_EQ(ConnectionsForTwoRequests("Keep-Alive: timeout=2, max=100\r\n", milliseconds(1100)), 2);
  // Kept open 1 s: never reused, the request might arrive as the server closes it.
  EXPECT_EQ(ConnectionsForTwoRequests("Keep-Alive: timeout=1\r\n", milliseconds(0)), 2);
  // The server did not say: reused for as long as it is open.
  EXPECT_EQ(ConnectionsForTwoRequests("", milliseconds(1100)), 1);
  EXPECT_EQ(ConnectionsForTwoRequests("Keep-Alive: max=100\r\n", milliseconds(1100)), 1);
}

TEST(KeepAliveReuseWindowTest, IsTheServersTimeoutLessASecond) {
  using std::chrono::seconds;
  EXPECT_EQ(KeepAliveReuseWindow("timeout=5, max=100"), seconds(4));
  EXPECT_EQ(KeepAliveReuseWindow("max=100, timeout=75"), seconds(74));
  EXPECT_EQ(KeepAliveReuseWindow(" Timeout = 5 "), seconds(4));
  EXPECT_EQ(KeepAliveReuseWindow("TIMEOUT=\"30\""), seconds(29));
  EXPECT_EQ(KeepAliveReuseWindow("timeout=1"), seconds(0));
  EXPECT_EQ(KeepAliveReuseWindow("timeout=0"), seconds(0));
  EXPECT_EQ(KeepAliveReuseWindow("timeout=999999999"), seconds(999999998));
}

TEST(KeepAliveReuseWindowTest, IsNoneWithoutATimeoutInSeconds) {
  EXPECT_EQ(KeepAliveReuseWindow(""), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("max=100"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("idle-timeout=5"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout="), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout=-1"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout=5s"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout=1.5"), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout=\""), std::nullopt);
  EXPECT_EQ(KeepAliveReuseWindow("timeout=1000000000"), std::nullopt);
}

TEST(HttplibTransportTest, DoesNotSendARequestAgainWhenTheServerClosesTheConnectionUnderIt) {
  // As a server does whose idle timeout ends as the request arrives. Sending it again would
  // need a new request id and signature, and might be a second request the API counts: the
  // caller's retry decides, within the budget.
  ScriptedServer server([](int connection, int request) {
    return connection == 0 && request == 1 ? Reply::kCloseWithoutAnswer : Reply::kAnswer;
  });
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port())});
  ASSERT_EQ(transport.Send(Echo("{}")).status, 200);
  EXPECT_EQ(transport.Send(Echo("{}")).error, TransportError::kConnection);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), 2);
  // The next request goes out on a new connection.
  EXPECT_EQ(transport.Send(Echo("{}")).status, 200);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttplibTransportTest, ReportsAnAnswerCutOffAsAConnectionError) {
  ScriptedServer server([](int, int) { return Reply::kCloseMidAnswer; });
  HttplibTransport transport({.base_url = "http://127.0.0.1:" + std::to_string(server.port())});
  const HttpResponse cut = transport.Send(Echo("{}"));
  EXPECT_EQ(cut.error, TransportError::kConnection) << cut.status;
  EXPECT_TRUE(cut.body.empty());
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttplibTransportTest, RejectsAnUnusableCaFile) {
  EXPECT_THROW(HttplibTransport({.base_url = "https://127.0.0.1:1",
                                 .ca_file = std::string(ESIM_TESTDATA_DIR) + "/no-such-ca.pem"}),
               std::invalid_argument);
}

}  // namespace
}  // namespace esim
