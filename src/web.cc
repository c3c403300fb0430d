#include "web.h"

#include <crypt.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>

#include "body_response.h"
#include "connection_queue.h"
#include "exposition.h"
#include "log.h"

namespace esim {

bool ParseListenAddress(const std::string& address, std::string& host, int& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = address.substr(colon + 1);
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535 || port_text.empty()) {
    return false;
  }
  if (host.empty()) host = "0.0.0.0";
  return true;
}

namespace {

// bcrypt uses only the first 72 bytes of a password; longer ones are refused rather than
// accepted on a prefix.
constexpr size_t kMaxPasswordLength = 72;
// A hash of a password nobody has: unknown users cost one bcrypt too, so timing does not tell
// which user names exist. Cost 10, the usual one.
constexpr char kDummyHash[] = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict standard base64 with optional padding; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int value = Base64Value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users,
                                   size_t max_cached_logins)
    : users_(std::move(users)),
      max_cached_logins_(max_cached_logins),
      crypt_data_(std::make_unique<crypt_data>()) {
  std::memset(crypt_data_.get(), 0, sizeof(crypt_data));
  cache_salt_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(cache_salt_.data()),
                 static_cast<int>(cache_salt_.size())) != 1) {
    throw std::runtime_error("cannot get random bytes for the login cache");
  }
}

BasicAuthChecker::~BasicAuthChecker() = default;

std::string BasicAuthChecker::CacheKey(const std::string& user, const std::string& password) const {
  std::string input = cache_salt_;
  input += user;
  input.push_back('\0');
  input += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool BasicAuthChecker::Verify(const std::string& hash, const std::string& password) {
  std::lock_guard lock(bcrypt_mutex_);
  ++bcrypt_runs_;
  const char* result = crypt_r(password.c_str(), hash.c_str(), crypt_data_.get());
  // On failure libcrypt returns NULL or a string starting with '*', never equal to a hash.
  const bool ok = result != nullptr && std::strlen(result) == hash.size() &&
                  CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(crypt_data_.get(), sizeof(crypt_data));
  return ok;
}

bool BasicAuthChecker::Check(const std::string& authorization) {
  const size_t space = authorization.find(' ');
  if (space == std::string::npos ||
      !EqualsIgnoreCase(std::string_view(authorization).substr(0, space), "Basic")) {
    return false;
  }
  std::string_view encoded = std::string_view(authorization).substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::optional<std::string> decoded = DecodeBase64(encoded);
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (password.size() > kMaxPasswordLength || password.find('\0') != std::string::npos) {
    return false;
  }
  const std::string key = CacheKey(user, password);
  {
    std::lock_guard lock(cache_mutex_);
    if (cache_.count(key) > 0) return true;
  }
  const auto it = users_.find(user);
  const bool ok =
      Verify(it != users_.end() ? it->second : kDummyHash, password) && it != users_.end();
  OPENSSL_cleanse(password.data(), password.size());
  if (ok) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= max_cached_logins_) cache_.clear();  // bounded; refilled on next logins
    cache_.insert(key);
  }
  return ok;
}

WebServer::WebServer(WebOptions options, WebHandlers handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)) {
  if (options_.web_config && options_.web_config->tls) {
    const TlsServerConfig tls = *options_.web_config->tls;
    server_ = std::make_unique<httplib::SSLServer>(
        [this, tls](SSL_CTX& ctx) { return ConfigureSslContext(ctx, tls, tls_error_); });
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  // A thread per connection up to a cap: clients that connect and never send a request must
  // not keep a real scrape waiting (see connection_queue.h).
  const size_t threads = static_cast<size_t>(options_.max_connections);
  server_->new_task_queue = [threads] { return new ConnectionQueue(threads); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(10, 0);
  // Idle keep-alive connections hold a worker thread each: keep that short so scrapers' idle
  // connections neither starve a real scrape nor delay a stop.
  server_->set_keep_alive_timeout(2);
  server_->set_tcp_nodelay(true);  // no Nagle delay on the last segment of an answer
  server_->set_payload_max_length(64 * 1024);
  // cpp-httplib's default SO_REUSEPORT would let a second exporter share the port silently;
  // SO_REUSEADDR alone still allows a quick restart.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  Route();
  Secure();
}

WebServer::~WebServer() { Stop(); }

void WebServer::Secure() {
  if (!options_.web_config) return;
  const WebConfig& config = *options_.web_config;
  if (!config.headers.empty()) {
    // Every response starts with these, also 401, 404 and 400 answers.
    server_->set_default_headers(httplib::Headers(config.headers.begin(), config.headers.end()));
  }
  if (config.basic_auth_users.empty()) return;
  auth_ = std::make_unique<BasicAuthChecker>(config.basic_auth_users);
  // Before routing: every path is protected, including unknown ones and /-/healthy, as in
  // exporter-toolkit.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    try {
      if (auth_->Check(req.get_header_value("Authorization"))) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"esim_exporter\"");
      res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
    } catch (const std::exception& e) {
      LogError("basic auth check failed", {{"path", req.path}, {"error", e.what()}});
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
}

void WebServer::Route() {
  // Wraps a handler so an exception becomes a 500 for this request only.
  auto guarded = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const std::exception& e) {
        LogError("HTTP handler failed", {{"path", req.path}, {"error", e.what()}});
        res.status = 500;
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      }
    };
  };

  server_->Get(options_.telemetry_path,
               guarded([this](const httplib::Request& req, httplib::Response& res) {
                 ServeStream(handlers_.metrics, kExpositionContentType, req, res);
               }));
  server_->Get("/", guarded([this](const httplib::Request& req, httplib::Response& res) {
                 res.set_content(handlers_.landing_page(req.params), "text/html; charset=utf-8");
               }));
  server_->Get("/-/healthy", guarded([](const httplib::Request&, httplib::Response& res) {
                 res.set_content("Healthy\n", "text/plain; charset=utf-8");
               }));
  server_->Get("/-/ready", guarded([this](const httplib::Request&, httplib::Response& res) {
                 if (handlers_.ready()) {
                   res.set_content("Ready\n", "text/plain; charset=utf-8");
                 } else {
                   res.status = 503;
                   res.set_content("Not ready: not every eSIM has been polled yet\n",
                                   "text/plain; charset=utf-8");
                 }
               }));
  // cpp-httplib 0.11 reads the body of every POST, PUT, PATCH and DELETE before routing, and
  // without Content-Length it reads until the client closes: `curl -X POST` (no body, no
  // Content-Length, connection kept open) would wait for the read timeout and get 400. A route
  // with a content reader runs first; it reads a body only when the request announces one
  // (HTTP/1.1: no Content-Length and no chunked encoding means no body).
  auto without_waiting_for_a_body = [guarded](auto handler) {
    return [handler = guarded(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& content) {
      const bool has_body = req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
      // The body means nothing here, but it must leave the connection before the next request.
      if (has_body && !content([](const char*, size_t) { return true; })) {
        if (res.status < 400) res.status = 400;
        res.set_header("Connection", "close");
        return;
      }
      handler(req, res);
    };
  };
  server_->Post("/-/reload",
                without_waiting_for_a_body([this](const httplib::Request&, httplib::Response& res) {
                  const std::string error = handlers_.reload();
                  if (error.empty()) {
                    res.set_content("Config reloaded\n", "text/plain; charset=utf-8");
                  } else {
                    res.status = 500;
                    res.set_content("Config reload failed: " + error + "\n",
                                    "text/plain; charset=utf-8");
                  }
                }));
  auto method_not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("Only POST reloads the config\n", "text/plain; charset=utf-8");
  };
  server_->Get("/-/reload", guarded(method_not_allowed));
  server_->Put("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Delete("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Patch("/-/reload", without_waiting_for_a_body(method_not_allowed));
  server_->Options("/-/reload", guarded(method_not_allowed));
}

bool WebServer::Bind(std::string& error) {
  std::string host;
  int port = 0;
  if (!server_->is_valid()) {
    error = "cannot set up TLS" +
            (options_.web_config ? " from " + options_.web_config->path : std::string()) + ": " +
            tls_error_;
    return false;
  }
  if (!ParseListenAddress(options_.listen_address, host, port)) {
    error = "invalid --web.listen-address '" + options_.listen_address + "': want [HOST]:PORT";
    return false;
  }
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) port_ = 0;
  } else {
    port_ = server_->bind_to_port(host, port) ? port : 0;
  }
  if (port_ == 0) {
    error = "cannot listen on " + options_.listen_address + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool WebServer::Serve() {
  serving_ = true;
  if (!stop_requested_) server_->listen_after_bind();
  serving_ = false;
  return stop_requested_;
}

void WebServer::Stop() {
  stop_requested_ = true;
  // cpp-httplib's stop() does nothing until the accept loop runs; wait for it to start.
  while (serving_ && !server_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

}  // namespace esim
