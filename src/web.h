// The exporter's HTTP server (cpp-httplib): /metrics, the landing page, /-/healthy, /-/ready and
// /-/reload. It only routes; what each page says comes from the handlers main.cc wires in.
// Every handler's exceptions are caught: one bad request never affects another.
// With a web config (--web.config.file) it serves HTTPS only, checks basic auth on every path and
// adds the configured headers to every response.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "body_response.h"
#include "web_config.h"

struct crypt_data;

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
};

struct WebOptions {
  std::string listen_address = ":10417";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  // Connections served at once (a thread each); more wait in line. Bounds memory.
  int max_connections = 1024;
  std::optional<WebConfig> web_config;  // TLS, basic auth, headers; none: plain HTTP, open
};

// Checks "Authorization: Basic ..." values against bcrypt hashes with libcrypt's crypt_r.
// bcrypt is slow on purpose (~50-100 ms at cost 10), so successful checks are remembered, keyed
// by a salted SHA-256 of user and password: a scraper pays for bcrypt once, not per scrape.
// Thread-safe; bcrypt runs one at a time so that password guessing cannot take every core.
class BasicAuthChecker {
 public:
  explicit BasicAuthChecker(std::map<std::string, std::string> users,
                            size_t max_cached_logins = 1024);
  ~BasicAuthChecker();
  BasicAuthChecker(const BasicAuthChecker&) = delete;
  BasicAuthChecker& operator=(const BasicAuthChecker&) = delete;

  // `authorization`: the Authorization header's value (empty when absent).
  bool Check(const std::string& authorization);
  // How many times bcrypt ran (for tests of the cache).
  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

 private:
  bool Verify(const std::string& hash, const std::string& password);
  std::string CacheKey(const std::string& user, const std::string& password) const;

  const std::map<std::string, std::string> users_;
  const size_t max_cached_logins_;
  std::string cache_salt_;
  std::mutex cache_mutex_;
  std::unordered_set<std::string> cache_;  // keys of logins that succeeded
  std::mutex bcrypt_mutex_;
  std::unique_ptr<crypt_data> crypt_data_;  // guarded by bcrypt_mutex_
  std::atomic<uint64_t> bcrypt_runs_{0};
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

  void Secure();

  WebOptions options_;
  WebHandlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::string tls_error_;  // why the TLS context could not be set up
  std::unique_ptr<BasicAuthChecker> auth_;
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> serving_{false};
};

}  // namespace esim
