// The web config (--web.config.file): TLS, mTLS, basic auth and extra response headers for the
// exporter's own endpoints, in the Prometheus exporter-toolkit format
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
// Loaded once at startup; LoadWebConfig validates everything it can, including that the
// certificate and key load and match, so a bad file stops the exporter before it binds.
#pragma once

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
  std::string cert_file;       // resolved against the web config's directory
  std::string key_file;        // ditto
  std::string client_ca_file;  // ditto; empty when not given
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
};

struct WebConfig {
  std::string path;
  std::optional<TlsServerConfig> tls;  // absent: plain HTTP
  // Extra headers on every response; only the names exporter-toolkit allows, canonical case.
  std::vector<std::pair<std::string, std::string>> headers;
  // User name -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
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
