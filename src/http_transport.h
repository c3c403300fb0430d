// "Send this request, get status, headers and body, or a transport failure": the seam between
// the API client and the network. HttplibTransport is the only user of cpp-httplib's client.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace httplib {
class Client;
}
struct x509_store_st;  // OpenSSL's X509_STORE

namespace esim {

struct HttpRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // path and query, e.g. /api/v1/business/esims/status
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Header names are stored lowercase.
using HeaderMap = std::multimap<std::string, std::string>;

enum class TransportError {
  kNone,
  kTimeout,
  kConnection,    // refused, reset, DNS failure
  kTls,           // handshake or certificate verification failed
  kBodyTooLarge,  // the answer exceeded the configured cap and was cut off
};

struct HttpResponse {
  TransportError error = TransportError::kNone;
  std::string error_detail;  // human text for the log when error != kNone
  int status = 0;
  HeaderMap headers;
  std::string body;
};

// Thread safe: Send may be called from several threads at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Send(const HttpRequest& request) = 0;
};

struct HttpTransportOptions {
  std::string base_url = {};  // scheme://host[:port][/prefix]
  std::string ca_file = {};   // extra trusted CAs on top of the system store
  std::string ca_pem = {};    // ca_file's content when already read (the config's); else read
  std::chrono::milliseconds timeout{30000};
  size_t max_connections = 4;           // kept-alive connections reused across requests
  size_t max_body_bytes = 1024 * 1024;  // larger answers are cut off
};

// How long after an answer with `Keep-Alive: <keep_alive>` its connection may be reused: the
// server's `timeout=N` (seconds it keeps an idle connection) minus a second, for the request's
// way there and the server's idle clock starting before ours; so never with N <= 1. None when
// the header names no timeout in whole seconds (the connection is then reused while open).
std::optional<std::chrono::seconds> KeepAliveReuseWindow(std::string_view keep_alive);

// A pool of keep-alive cpp-httplib clients, one per concurrent request, so a poll cycle costs
// about max_connections TLS handshakes, not one per request. Server certificates are always
// verified (system CA store plus ca_file). A connection is not reused past its
// KeepAliveReuseWindow: a request sent just as the server closes it would fail without reaching
// the API, and sending it again would need a new request id and signature, and might be a second
// request the API counts. A server that names no timeout keeps that race: its connections are
// reused for as long as they are open.
class HttplibTransport : public HttpTransport {
 public:
  explicit HttplibTransport(HttpTransportOptions options);
  ~HttplibTransport() override;
  HttpResponse Send(const HttpRequest& request) override;

 private:
  std::unique_ptr<httplib::Client> NewClient() const;
  std::unique_ptr<httplib::Client> Acquire();
  // Pools `client` for reuse within `reuse_within` (no limit when absent).
  void Release(std::unique_ptr<httplib::Client> client,
               std::optional<std::chrono::steady_clock::duration> reuse_within);

  struct IdleClient {
    std::unique_ptr<httplib::Client> client;
    std::optional<std::chrono::steady_clock::time_point> reuse_before;
  };

  HttpTransportOptions options_;
  // The trusted CAs, parsed once and shared by every pooled client (reference counted): parsing
  // the system bundle costs ~20 ms of CPU and ~1 MiB per copy. Null for plain http://.
  std::shared_ptr<x509_store_st> ca_store_;
  std::string scheme_host_port_;
  std::string path_prefix_;
  std::mutex mutex_;
  std::vector<IdleClient> idle_;  // guarded by mutex_
};

}  // namespace esim
