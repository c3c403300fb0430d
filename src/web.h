// The exporter's HTTP server (cpp-httplib): /metrics, the landing page, /-/healthy, /-/ready and
// /-/reload. It only routes; what each page says comes from the handlers main.cc wires in.
// Every handler's exceptions are caught: one bad request never affects another.
// With a web config (--web.config.file) it serves HTTPS only, checks basic auth on every path,
// rate-limits requests and adds the configured headers to every response.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "basic_auth.h"
#include "body_response.h"
#include "web_config.h"
#include "webhook_receiver.h"

namespace httplib {
class Server;
}

namespace esim {

struct WebHandlers {
  PageWriter metrics;  // exposition text, written piece by piece
  // HTML for the request's query parameters (percent-decoded; a name may repeat).
  std::function<std::string(const std::multimap<std::string, std::string>& query)> landing_page;
  std::function<bool()> ready;
  // Reloads the config; returns an empty string on success, else the error.
  std::function<std::string()> reload;
  // One webhook delivery to one of WebOptions::webhook_paths (WebhookRequest::path says which);
  // never blocks on the network.
  std::function<WebhookAnswer(const WebhookRequest&)> webhook;
};

// The server's limits (connections, timeouts, request sizes) are constants in http_limits.h.
struct WebOptions {
  std::string listen_address = ":10417";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  std::optional<WebConfig> web_config;  // TLS, basic auth, headers; none: plain HTTP, open
  // The webhook receivers' paths (POST only), one per account with a receiver; empty: none.
  // Basic auth never applies to them: the vendor cannot send credentials, and the delivery's
  // signature authenticates it.
  std::vector<std::string> webhook_paths;
  // Serve the receiver alone (webhook.listen_address): every other path is 404.
  bool webhook_only = false;
};

// Splits "[HOST]:PORT" ("::10417", "[::1]:10417", "127.0.0.1:10417") into host and port.
// An empty host means every IPv4 address. Returns false when malformed.
bool ParseListenAddress(const std::string& address, std::string& host, int& port);

class ActiveConnections;

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
  // at startup must still stop the server). Cuts every open connection, whatever its client
  // does, so Serve returns within moments.
  void Stop();

 private:
  void Route();
  void RouteWebhook(const std::string& path);

  void Secure();

  WebOptions options_;
  WebHandlers handlers_;
  std::unique_ptr<ActiveConnections> connections_;
  std::unique_ptr<httplib::Server> server_;
  std::string tls_error_;  // why the TLS context could not be set up
  std::unique_ptr<BasicAuthChecker> auth_;
  std::unique_ptr<RequestRateLimiter> rate_limiter_;
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serving_{false};
};

}  // namespace esim
