// The web config (--web.config.file): TLS, mTLS, basic auth and extra response headers for the
// exporter's own endpoints, in the Prometheus exporter-toolkit format
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
// Loaded once at startup; LoadWebConfig validates everything it can, including that the
// certificate and key load and match, so a bad file stops the exporter before it binds.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// OpenSSL's context type, declared here so that this header does not pull in OpenSSL.
struct ssl_ctx_st;

namespace esim {

class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

// Go's crypto/tls client authentication policies, as exporter-toolkit names them.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,           // asks for a certificate, does not verify it, none is fine
  kRequireAnyClientCert,        // a certificate is required but not verified
  kVerifyClientCertIfGiven,     // verified against client_ca_file when the client sends one
  kRequireAndVerifyClientCert,  // required and verified against client_ca_file (mTLS)
};

struct TlsServerConfig {
  std::string cert_file;                        // resolved against the web config's directory
  std::string key_file;                         // ditto
  std::string client_ca_file;                   // ditto; empty when not given
  TlsVersion min_version = TlsVersion::kTls12;  // TLS12 or TLS13: OpenSSL 3 refuses older ones
  TlsVersion max_version = TlsVersion::kTls13;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  // TLS 1.2 cipher suites, OpenSSL names, in preference order (the web config gives Go's names,
  // cipher_suites). Empty: kDefaultTls12Ciphers. TLS 1.3 suites are not configurable, as in Go.
  std::vector<std::string> tls12_ciphers;
};

// Forward-secret (ECDHE) AEAD suites only, the server's preference first.
inline constexpr char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// exporter-toolkit's rate_limit: a token bucket over every request, `burst` requests at once and
// one more every `interval`; others get 429.
struct RateLimit {
  std::chrono::milliseconds interval{0};
  int burst = 0;
};

struct WebConfig {
  std::string path;
  std::optional<TlsServerConfig> tls;  // absent: plain HTTP
  // Extra headers on every response; only the names exporter-toolkit allows, canonical case.
  std::vector<std::pair<std::string, std::string>> headers;
  // User name -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  std::optional<RateLimit> rate_limit;  // absent (or interval 0): no limit
  // Things that are allowed but probably not meant (e.g. basic auth without TLS).
  std::vector<std::string> warnings;
};

// Reads and validates the web config at `path`. Throws WebConfigError on the first problem, with
// "FILE:LINE:COL: what is wrong; how to fix it". Never echoes a password hash.
WebConfig LoadWebConfig(const std::string& path);

// Sets up `ctx` for serving with `tls`: certificate chain, key, protocol versions, client
// certificate policy. Returns false with `error` set (no secret in it) when something fails.
// Used by LoadWebConfig to validate and by the web server to serve.
bool ConfigureSslContext(ssl_ctx_st& ctx, const TlsServerConfig& tls, std::string& error);

// Whether `hash` has the shape of a bcrypt hash libcrypt verifies ("$2b$10$" + 53 characters).
bool IsBcryptHash(const std::string& hash);

}  // namespace esim
