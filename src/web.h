// The exporter's HTTP server (cpp-httplib): /metrics, the landing page, /-/healthy, /-/ready and
// /-/reload. It only routes; what each page says comes from the handlers main.cc wires in.
// Every handler's exceptions are caught: one bad request never affects another.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace esim {

struct WebHandlers {
  std::function<std::string()> metrics;       // exposition text
  std::function<std::string()> landing_page;  // HTML
  std::function<bool()> ready;
  // Reloads the config; returns an empty string on success, else the error.
  std::function<std::string()> reload;
};

struct WebOptions {
  std::string listen_address = ":10417";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  int worker_threads = 16;
};

// Splits "[HOST]:PORT" ("::10417", "[::1]:10417", "127.0.0.1:10417") into host and port.
// An empty host means every IPv4 address. Returns false when malformed.
bool ParseListenAddress(const std::string& address, std::string& host, int& port);

class WebServer {
 public:
  WebServer(WebOptions options, WebHandlers handlers);
  ~WebServer();

  // Binds the listening socket; false with `error` set when it cannot (exit code 2).
  bool Bind(std::string& error);
  int port() const { return port_; }
  // Serves until Stop(); call after a successful Bind. Returns false when the server ended on
  // its own (an accept error), not because of Stop.
  bool Serve();
  // Safe from any thread at any time, also before Serve has started listening (a SIGTERM right
  // at startup must still stop the server).
  void Stop();

 private:
  void Route();

  WebOptions options_;
  WebHandlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serving_{false};
};

}  // namespace esim
