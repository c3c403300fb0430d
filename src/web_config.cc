#include "web_config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>
#include <string_view>

#include "config.h"
#include "config_values.h"
#include "local_file.h"
#include "text.h"
#include "yaml_reader.h"

namespace esim {

using YAML::Mark;
using YAML::Node;

namespace {

// Caps on what is read (ReadLocalFile): far above any real file, far below harm.
constexpr size_t kMaxWebConfigSize = 1 << 20;
constexpr size_t kMaxPemFileSize = 4 << 20;   // a certificate chain or a CA bundle
constexpr size_t kMaxKeyFileSize = 64 << 10;  // one private key
constexpr char kSessionIdContext[] = "esim_exporter";

// The headers exporter-toolkit lets a web config add, with their allowed values (empty: any).
// Kept the same on purpose: a web config must mean the same for every exporter.
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const std::array<AllowedHeader, 5>& AllowedHeaders() {
  static const std::array<AllowedHeader, 5> headers = {{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  }};
  return headers;
}

struct NamedVersion {
  std::string_view name;
  TlsVersion version;
  int openssl;
};
constexpr std::array<NamedVersion, 4> kTlsVersions = {{
    {"TLS10", TlsVersion::kTls10, TLS1_VERSION},
    {"TLS11", TlsVersion::kTls11, TLS1_1_VERSION},
    {"TLS12", TlsVersion::kTls12, TLS1_2_VERSION},
    {"TLS13", TlsVersion::kTls13, TLS1_3_VERSION},
}};

// Go's crypto/tls cipher suite names (tls.CipherSuites(), the ones exporter-toolkit accepts) and
// OpenSSL's names for them. Empty: a TLS 1.3 suite, which Go (and this exporter) does not let a
// config choose.
struct NamedCipher {
  std::string_view go;
  std::string_view openssl;
};
constexpr std::array<NamedCipher, 17> kCipherSuites = {{
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    // RSA key exchange: allowed when named, never by default (no forward secrecy).
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
}};
// Go's tls.InsecureCipherSuites(): exporter-toolkit refuses them too.
constexpr std::array<std::string_view, 8> kInsecureCipherSuites = {
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
};

struct NamedClientAuth {
  std::string_view name;
  ClientAuth auth;
};
constexpr std::array<NamedClientAuth, 6> kClientAuths = {{
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
    // exporter-toolkit keeps the old name for backwards compatibility; so do we (not listed).
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
}};

std::string_view VersionName(TlsVersion version) {
  for (const auto& named : kTlsVersions) {
    if (named.version == version) return named.name;
  }
  return "?";
}

int OpenSslVersion(TlsVersion version) {
  for (const auto& named : kTlsVersions) {
    if (named.version == version) return named.openssl;
  }
  return 0;
}

std::string_view ClientAuthName(ClientAuth auth) {
  for (const auto& named : kClientAuths) {
    if (named.auth == auth) return named.name;
  }
  return "?";
}

bool NeedsClientCa(ClientAuth auth) {
  return auth == ClientAuth::kVerifyClientCertIfGiven ||
         auth == ClientAuth::kRequireAndVerifyClientCert;
}

// The first OpenSSL error's reason (the cause; later ones only add context), for messages;
// clears the error queue.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_error();
  std::string reason;
  if (code != 0) {
    const char* text = ERR_reason_error_string(code);
    reason = text != nullptr ? text : "error " + std::to_string(ERR_GET_REASON(code));
  }
  ERR_clear_error();
  return reason.empty() ? "unknown error" : reason;
}

// Whether the pending OpenSSL errors say that a key does not match its certificate.
bool KeyMismatchPending() {
  const unsigned long code = ERR_peek_error();
  return ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
}

// Never prompts on the terminal for a key passphrase: an encrypted key is an error instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

// RequestClientCert and RequireAnyClientCert: a certificate is asked for but not verified.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

enum class SslStep { kOk, kCertFile, kKeyFile, kKeyMismatch, kClientCaFile, kCiphers, kVersions };

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

// Reads a PEM file through ReadLocalFile (no FIFO, device or oversized file) into a memory BIO
// for OpenSSL, which then never opens the path itself. Null with `error` set on failure.
Bio ReadPem(const std::string& path, size_t max_bytes, std::string& error) {
  Bio none(nullptr, BIO_free);
  std::string reason;
  const std::optional<LocalFile> file = ReadLocalFile(path, max_bytes, reason);
  if (!file) {
    error = "cannot read: " + reason;
    return none;
  }
  // BIO_new_mem_buf would point into `file`, gone on return: copy it into the BIO instead.
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || BIO_write(bio.get(), file->content.data(), static_cast<int>(file->content.size())) !=
                  static_cast<int>(file->content.size())) {
    error = "cannot read: out of memory";
    return none;
  }
  return bio;
}

// SSL_CTX_use_certificate_chain_file from memory: the first certificate is the server's, the
// others its chain. False when there is no usable first certificate.
bool UseCertificateChain(SSL_CTX& ctx, BIO& pem) {
  X509* cert = PEM_read_bio_X509_AUX(&pem, nullptr, NoPassphrase, nullptr);
  const bool used = cert != nullptr && SSL_CTX_use_certificate(&ctx, cert) == 1;
  X509_free(cert);
  if (!used || SSL_CTX_clear_chain_certs(&ctx) != 1) return false;
  while (X509* chain = PEM_read_bio_X509(&pem, nullptr, NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(&ctx, chain) != 1) {  // takes ownership only on success
      X509_free(chain);
      return false;
    }
  }
  // The loop ends at the end of the text, which OpenSSL reports as "no start line".
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) != ERR_LIB_PEM || ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    return false;
  }
  ERR_clear_error();
  return true;
}

// SSL_load_client_CA_file plus SSL_CTX_load_verify_locations from memory: every certificate
// becomes trusted for client verification and its subject is named in the request. False when
// the text holds no certificate.
bool UseClientCas(SSL_CTX& ctx, BIO& pem) {
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  if (names == nullptr) return false;
  X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
  while (X509* cert = PEM_read_bio_X509(&pem, nullptr, NoPassphrase, nullptr)) {
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert));
    const bool added = X509_STORE_add_cert(store, cert) == 1 && name != nullptr &&
                       sk_X509_NAME_push(names, name) > 0;
    X509_free(cert);
    if (!added) {
      X509_NAME_free(name);
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return false;
    }
  }
  ERR_clear_error();  // the end of the text ("no start line"), or a broken block after good ones
  if (sk_X509_NAME_num(names) == 0) {
    sk_X509_NAME_free(names);
    return false;
  }
  SSL_CTX_set_client_CA_list(&ctx, names);  // takes ownership
  return true;
}

SslStep SetUpSsl(SSL_CTX& ctx, const TlsServerConfig& tls, std::string& error) {
  SSL_CTX_set_default_passwd_cb(&ctx, NoPassphrase);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE);
  const Bio cert_pem = ReadPem(tls.cert_file, kMaxPemFileSize, error);
  if (!cert_pem) return SslStep::kCertFile;
  if (!UseCertificateChain(ctx, *cert_pem)) {
    ERR_clear_error();  // OpenSSL 3's reasons here ("unsupported", "PEM lib") mislead
    error =
        "no usable PEM certificate in it; give the server certificate, followed by any "
        "intermediates, in PEM format";
    return SslStep::kCertFile;
  }
  const Bio key_pem = ReadPem(tls.key_file, kMaxKeyFileSize, error);
  if (!key_pem) return SslStep::kKeyFile;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_pem.get(), nullptr, NoPassphrase, nullptr);
  const bool key_loaded = key != nullptr && SSL_CTX_use_PrivateKey(&ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!key_loaded && !KeyMismatchPending()) {
    ERR_clear_error();
    error =
        "not an unencrypted PEM private key; give the certificate's key in PEM format "
        "without a passphrase";
    return SslStep::kKeyFile;
  }
  if (!key_loaded || SSL_CTX_check_private_key(&ctx) != 1) {
    ERR_clear_error();
    error =
        "the key does not belong to the certificate in cert_file; give the key the "
        "certificate was issued for";
    return SslStep::kKeyMismatch;
  }
  std::string ciphers;
  for (const auto& cipher : tls.tls12_ciphers) ciphers += (ciphers.empty() ? "" : ":") + cipher;
  if (SSL_CTX_set_cipher_list(&ctx, ciphers.empty() ? kDefaultTls12Ciphers : ciphers.c_str()) !=
      1) {
    error = "OpenSSL refuses the TLS 1.2 cipher suites " +
            (ciphers.empty() ? std::string(kDefaultTls12Ciphers) : ciphers) + " (" +
            OpenSslReason() + ")";
    return SslStep::kCiphers;
  }
  if (SSL_CTX_set_min_proto_version(&ctx, OpenSslVersion(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(&ctx, OpenSslVersion(tls.max_version)) != 1) {
    error = "OpenSSL refuses the TLS versions " + std::string(VersionName(tls.min_version)) +
            " to " + std::string(VersionName(tls.max_version)) + " (" + OpenSslReason() + ")";
    return SslStep::kVersions;
  }
  if (!tls.client_ca_file.empty()) {
    const Bio ca_pem = ReadPem(tls.client_ca_file, kMaxPemFileSize, error);
    if (!ca_pem) return SslStep::kClientCaFile;
    if (!UseClientCas(ctx, *ca_pem)) {
      ERR_clear_error();
      error =
          "no usable PEM CA certificate in it; give the CA certificates that sign the "
          "client certificates, in PEM format";
      return SslStep::kClientCaFile;
    }
  }
  int mode = SSL_VERIFY_NONE;
  SSL_verify_cb callback = nullptr;
  switch (tls.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    case ClientAuth::kRequestClientCert:
      mode = SSL_VERIFY_PEER;
      callback = AcceptAnyCertificate;
      break;
    case ClientAuth::kRequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      callback = AcceptAnyCertificate;
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  SSL_CTX_set_verify(&ctx, mode, callback);
  // Without a session id context, OpenSSL fails resumed sessions when client certificates are
  // verified.
  SSL_CTX_set_session_id_context(&ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext),
                                 sizeof kSessionIdContext - 1);
  return SslStep::kOk;
}

// The message for an exporter-toolkit key this exporter does not implement.
std::string NotSupported(const std::string& what_to_do) {
  return "is an exporter-toolkit option esim_exporter does not support; " + what_to_do;
}

class Loader : public YamlReader {
 public:
  explicit Loader(std::string path) : YamlReader(std::move(path), "") {
    config_.path = this->path();
  }

  WebConfig Load() {
    std::string error;
    const std::optional<LocalFile> file = ReadLocalFile(path(), kMaxWebConfigSize, error);
    if (!file) {
      throw WebConfigError(path() + ": cannot read: " + error +
                           "; check the path given to --web.config.file");
    }
    ParseYaml(file->content, [this](const Node& root) { ParseRoot(root); });
    config_.warnings = TakeWarnings();
    return std::move(config_);
  }

 private:
  std::exception_ptr MakeError(const std::string& message) const override {
    return std::make_exception_ptr(WebConfigError(message));
  }

  void ParseRoot(const Node& root) {
    if (root.IsNull()) {
      Warn(Mark(),
           "the web config is empty: plain HTTP without authentication, as without "
           "--web.config.file");
      return;
    }
    if (!root.IsMap()) {
      Fail(root.Mark(),
           "the web config must be a map with tls_server_config, http_server_config, "
           "basic_auth_users and/or rate_limit, got " +
               KindOf(root) + "; start each section with \"name:\" at column 1");
    }
    ForEachField(
        root, "",
        {
            {"tls_server_config", [this](const Node& k, const Node& v) { ParseTls(k, v); }},
            {"http_server_config", [this](const Node& k, const Node& v) { ParseHttp(k, v); }},
            {"basic_auth_users", [this](const Node& k, const Node& v) { ParseUsers(k, v); }},
            {"rate_limit", [this](const Node& k, const Node& v) { ParseRateLimit(k, v); }},
        });
    if (!config_.basic_auth_users.empty() && !config_.tls) {
      Warn(users_mark_,
           "basic_auth_users without tls_server_config: passwords travel in clear text; add a "
           "tls_server_config");
    }
  }

  // --- tls_server_config -----------------------------------------------------------------------

  void ParseTls(const Node& key, const Node& value) {
    const std::string section = "tls_server_config";
    if (!ExpectMap(key, value, section)) return;  // empty: no TLS, as in exporter-toolkit
    TlsServerConfig tls;
    Mark cert_mark, key_mark, ca_mark, max_mark, auth_mark = key.Mark();
    const std::string file_hint = "put the PEM text in a file and use ";
    ForEachField(
        value, section,
        {
            {"cert_file",
             [&](const Node& k, const Node& v) {
               tls.cert_file = PathValue(k, v, section + ".cert_file");
               cert_mark = v.Mark();
             }},
            {"key_file",
             [&](const Node& k, const Node& v) {
               tls.key_file = PathValue(k, v, section + ".key_file");
               key_mark = v.Mark();
             }},
            {"client_ca_file",
             [&](const Node& k, const Node& v) {
               tls.client_ca_file = PathValue(k, v, section + ".client_ca_file");
               ca_mark = k.Mark();
             }},
            {"client_auth_type",
             [&](const Node& k, const Node& v) {
               tls.client_auth = ParseClientAuth(k, v, section + ".client_auth_type");
               auth_mark = v.Mark();
             }},
            {"min_version",
             [&](const Node& k, const Node& v) {
               tls.min_version = ParseVersion(k, v, section + ".min_version");
             }},
            {"max_version",
             [&](const Node& k, const Node& v) {
               tls.max_version = ParseVersion(k, v, section + ".max_version");
               max_mark = v.Mark();
             }},
            {"cipher_suites",
             [&](const Node& k, const Node& v) {
               tls.tls12_ciphers = ParseCipherSuites(k, v, section + ".cipher_suites");
             }},
        },
        {
            {"cert", NotSupported(file_hint + "cert_file")},
            {"key", NotSupported(file_hint + "key_file")},
            {"client_ca", NotSupported(file_hint + "client_ca_file")},
            {"curve_preferences", NotSupported("remove it (OpenSSL's defaults apply)")},
            {"prefer_server_cipher_suites",
             NotSupported("remove it (the server's preference always applies)")},
            {"client_allowed_sans",
             NotSupported("remove it and give each client a certificate from a CA of its own")},
        });
    if (tls.cert_file.empty() || tls.key_file.empty()) {
      Fail(key.Mark(), section + " has no " + (tls.cert_file.empty() ? "cert_file" : "key_file") +
                           "; give both cert_file (the server certificate, PEM) and key_file "
                           "(its private key), or remove tls_server_config for plain HTTP");
    }
    if (tls.max_version < tls.min_version) {
      Fail(max_mark, section + ".max_version " + std::string(VersionName(tls.max_version)) +
                         " is below min_version " + std::string(VersionName(tls.min_version)) +
                         "; raise max_version or lower min_version");
    }
    if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
      Fail(ca_mark, section +
                        ".client_ca_file is set but client_auth_type is NoClientCert, so client "
                        "certificates are never checked; set client_auth_type: "
                        "RequireAndVerifyClientCert for mutual TLS, or remove client_ca_file");
    }
    if (tls.client_ca_file.empty() && NeedsClientCa(tls.client_auth)) {
      Fail(auth_mark, section + ".client_auth_type " +
                          std::string(ClientAuthName(tls.client_auth)) +
                          " needs client_ca_file: the CA certificates (PEM) that sign the client "
                          "certificates");
    }
    // Load everything once now, so that a bad file stops the exporter before it binds.
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                          &SSL_CTX_free);
    if (!ctx) Fail(key.Mark(), "cannot create a TLS context: " + OpenSslReason());
    std::string error;
    switch (SetUpSsl(*ctx, tls, error)) {
      case SslStep::kOk:
        break;
      case SslStep::kCertFile:
        Fail(cert_mark, section + ".cert_file " + Quoted(tls.cert_file) + ": " + error);
      case SslStep::kKeyFile:
      case SslStep::kKeyMismatch:
        Fail(key_mark, section + ".key_file " + Quoted(tls.key_file) + ": " + error);
      case SslStep::kClientCaFile:
        Fail(ca_mark, section + ".client_ca_file " + Quoted(tls.client_ca_file) + ": " + error);
      case SslStep::kCiphers:
        Fail(key.Mark(), section + ": " + error + "; choose other cipher_suites");
      case SslStep::kVersions:
        Fail(key.Mark(), section + ": " + error + "; choose other min_version/max_version");
    }
    WarnIfReadableByOthers(tls.key_file, section + ".key_file", key_mark);
    config_.tls = std::move(tls);
  }

  TlsVersion ParseVersion(const Node& key, const Node& value, const std::string& path) {
    const std::string& text = Text(key, value, path);
    for (const auto& named : kTlsVersions) {
      if (named.name != text) continue;
      if (named.version < TlsVersion::kTls12) {
        // Go would serve them; OpenSSL 3 at its default security level fails every such
        // handshake (it refuses their SHA-1 / MD5 signatures), so the setting cannot work.
        Fail(value.Mark(), path + " " + Quoted(text) +
                               " cannot work: OpenSSL 3 refuses TLS 1.0 and 1.1 handshakes at its "
                               "default security level; use TLS12 (the default) or TLS13");
      }
      return named.version;
    }
    Fail(value.Mark(), path + " " + Quoted(text) + " is not a TLS version; use TLS12 or TLS13");
  }

  // Go's names (as exporter-toolkit takes them) -> OpenSSL's, TLS 1.2 suites only.
  std::vector<std::string> ParseCipherSuites(const Node& key, const Node& value,
                                             const std::string& path) {
    if (!value.IsSequence() || value.size() == 0) {
      Fail(value.Mark(), path + " must be a non-empty list of Go cipher suite names, e.g. [" +
                             std::string(kCipherSuites[0].go) +
                             "]; remove it for the default (forward-secret suites only)");
    }
    std::vector<std::string> ciphers;
    bool tls13_named = false;
    for (const Node& item : value) {
      const std::string& name = Text(key, item, path);
      const auto named = std::find_if(kCipherSuites.begin(), kCipherSuites.end(),
                                      [&](const NamedCipher& c) { return c.go == name; });
      if (named == kCipherSuites.end()) {
        const bool insecure = std::find(kInsecureCipherSuites.begin(), kInsecureCipherSuites.end(),
                                        name) != kInsecureCipherSuites.end();
        Fail(item.Mark(), path + ": " + Quoted(name) +
                              (insecure ? " is insecure (Go's tls.InsecureCipherSuites)"
                                        : " is not a cipher suite Go's tls.CipherSuites knows") +
                              "; use e.g. " + std::string(kCipherSuites[0].go) + " or " +
                              std::string(kCipherSuites[1].go));
      }
      if (named->openssl.empty()) {
        tls13_named = true;
        continue;
      }
      if (std::find(ciphers.begin(), ciphers.end(), named->openssl) != ciphers.end()) {
        Fail(item.Mark(), path + " names " + Quoted(name) + " twice; keep one");
      }
      if (named->openssl.rfind("ECDHE-", 0) != 0) {
        Warn(item.Mark(), path + ": " + Quoted(name) +
                              " has no forward secrecy (RSA key exchange): a stolen key "
                              "decrypts recorded traffic; prefer the ECDHE suites");
      }
      ciphers.emplace_back(named->openssl);
    }
    if (tls13_named) {
      Warn(value.Mark(), path +
                             ": TLS 1.3 suites are not configurable (as in Go) and are ignored; "
                             "the list applies to TLS 1.2");
    }
    if (ciphers.empty()) {
      Fail(value.Mark(), path +
                             " names only TLS 1.3 suites, which are not configurable; name TLS "
                             "1.2 suites or remove cipher_suites");
    }
    return ciphers;
  }

  // --- rate_limit ------------------------------------------------------------------------------

  void ParseRateLimit(const Node& key, const Node& value) {
    const std::string section = "rate_limit";
    if (!ExpectMap(key, value, section)) return;
    RateLimit limit;
    Mark burst_mark = key.Mark();
    bool has_burst = false;
    ForEachField(value, section,
                 {
                     {"interval",
                      [&](const Node& k, const Node& v) {
                        const std::string& text = Text(k, v, section + ".interval");
                        if (text == "0") return;  // disabled, as in exporter-toolkit
                        const std::optional<std::chrono::milliseconds> interval =
                            ParseDuration(text);
                        if (!interval) {
                          Fail(v.Mark(), section + ".interval " + Quoted(text) +
                                             " is not a duration; write e.g. \"100ms\" or "
                                             "\"1s\" (units: ms, s, m, h), or 0 to disable");
                        }
                        limit.interval = *interval;
                      }},
                     {"burst",
                      [&](const Node& k, const Node& v) {
                        const std::string& text = Text(k, v, section + ".burst");
                        int burst = 0;
                        const auto [end, error] =
                            std::from_chars(text.data(), text.data() + text.size(), burst);
                        if (error != std::errc() || end != text.data() + text.size() || burst < 0 ||
                            burst > 1000000) {
                          Fail(v.Mark(), section + ".burst " + Quoted(text) +
                                             " is not a number of requests from 0 to 1000000");
                        }
                        limit.burst = burst;
                        burst_mark = v.Mark();
                        has_burst = true;
                      }},
                 });
    if (limit.interval.count() == 0) return;  // no limit
    if (limit.burst < 1) {
      // golang.org/x/time/rate with burst 0 refuses every request.
      Fail(has_burst ? burst_mark : key.Mark(),
           section + ".burst must be at least 1 with an interval: with " +
               (has_burst ? "burst 0" : "no burst") +
               " every request would get 429; give the requests allowed at once, e.g. burst: 10");
    }
    config_.rate_limit = limit;
  }

  ClientAuth ParseClientAuth(const Node& key, const Node& value, const std::string& path) {
    const std::string& text = Text(key, value, path);
    for (const auto& named : kClientAuths) {
      if (named.name == text) return named.auth;
    }
    Fail(value.Mark(), path + " " + Quoted(text) +
                           " is not valid; use one of NoClientCert, RequestClientCert, "
                           "RequireAnyClientCert, VerifyClientCertIfGiven, "
                           "RequireAndVerifyClientCert");
  }

  // --- http_server_config ----------------------------------------------------------------------

  void ParseHttp(const Node& key, const Node& value) {
    const std::string section = "http_server_config";
    if (!ExpectMap(key, value, section)) return;
    ForEachField(value, section,
                 {
                     {"headers", [&](const Node& k, const Node& v) { ParseHeaders(k, v); }},
                     // HTTP/2 is never offered; accepted so that a shared web config still loads.
                     {"http2",
                      [&](const Node& k, const Node& v) {
                        const std::string& text = Text(k, v, section + ".http2");
                        if (text != "true" && text != "false") {
                          Fail(v.Mark(),
                               section + ".http2 must be true or false, got " + Quoted(text));
                        }
                      }},
                 });
  }

  void ParseHeaders(const Node& key, const Node& value) {
    const std::string path = "http_server_config.headers";
    if (!ExpectMap(key, value, path)) return;
    ForEachEntry(value, path, [&](const std::string& name, const Node& k, const Node& v) {
      const auto& allowed = AllowedHeaders();
      const auto header = std::find_if(allowed.begin(), allowed.end(), [&](const auto& h) {
        return EqualsIgnoringAsciiCase(h.name, name);
      });
      if (header == allowed.end()) {
        std::string names;
        for (const auto& h : allowed) names += (names.empty() ? "" : ", ") + std::string(h.name);
        Fail(k.Mark(), path + ": the header " + Quoted(name) +
                           " can not be configured; allowed headers: " + names);
      }
      const std::string field = path + "." + std::string(header->name);
      const std::string& text = Text(k, v, field);
      if (std::any_of(text.begin(), text.end(), IsAsciiControl)) {
        Fail(v.Mark(), field +
                           " contains a control character (a line break?); write the value "
                           "on one line");
      }
      if (!header->values.empty() &&
          std::find(header->values.begin(), header->values.end(), text) == header->values.end()) {
        std::string values;
        for (const auto& allowed_value : header->values) {
          values += (values.empty() ? "" : ", ") + std::string(allowed_value);
        }
        Fail(v.Mark(), field + " " + Quoted(text) + " is not allowed; use one of " + values);
      }
      if (text.empty()) Fail(v.Mark(), field + " is empty; give a value or remove the line");
      config_.headers.emplace_back(std::string(header->name), text);
    });
    // Two spellings of one name ("x-frame-options" and "X-Frame-Options") would both be sent.
    for (size_t i = 0; i < config_.headers.size(); ++i) {
      for (size_t j = i + 1; j < config_.headers.size(); ++j) {
        if (config_.headers[i].first == config_.headers[j].first) {
          Fail(value.Mark(), path + " names " + config_.headers[i].first +
                                 " twice (in different letter case); keep only one");
        }
      }
    }
  }

  // --- basic_auth_users ------------------------------------------------------------------------

  void ParseUsers(const Node& key, const Node& value) {
    const std::string section = "basic_auth_users";
    users_mark_ = key.Mark();
    if (!ExpectMap(key, value, section)) return;
    ForEachEntry(value, section, [&](const std::string& user, const Node& k, const Node& v) {
      if (user.empty()) Fail(k.Mark(), section + " has an empty user name; give each user a name");
      if (user.find(':') != std::string::npos) {
        Fail(k.Mark(), section + ": the user name " + Quoted(user) +
                           " contains \":\", which basic auth cannot carry; choose another name");
      }
      if (std::any_of(user.begin(), user.end(), IsAsciiControl)) {
        Fail(k.Mark(), section + ": a user name contains a control character; remove it");
      }
      const std::string field = section + "." + user;
      const std::string& hash = Text(k, v, field);
      if (!IsBcryptHash(hash)) {
        // The value is never echoed: it may be a password typed in by mistake.
        Fail(v.Mark(), field +
                           " is not a bcrypt hash; store the hash, not the password: generate "
                           "one with \"htpasswd -nBC 10 '' | tr -d ':\\n'\" (apache2-utils) and "
                           "put it in quotes");
      }
      config_.basic_auth_users.emplace(user, hash);
    });
  }

  WebConfig config_;
  Mark users_mark_;
};

}  // namespace

bool IsBcryptHash(const std::string& hash) {
  // $2a$ / $2b$ / $2y$, a two-digit cost from 04 to 31, then 22 salt and 31 hash characters.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

WebConfig LoadWebConfig(const std::string& path) { return Loader(path).Load(); }

bool ConfigureSslContext(ssl_ctx_st& ctx, const TlsServerConfig& tls, std::string& error) {
  switch (SetUpSsl(ctx, tls, error)) {
    case SslStep::kOk:
      return true;
    case SslStep::kCertFile:
      error = "cert_file " + Quoted(tls.cert_file) + ": " + error;
      return false;
    case SslStep::kKeyFile:
    case SslStep::kKeyMismatch:
      error = "key_file " + Quoted(tls.key_file) + ": " + error;
      return false;
    case SslStep::kClientCaFile:
      error = "client_ca_file " + Quoted(tls.client_ca_file) + ": " + error;
      return false;
    case SslStep::kCiphers:
    case SslStep::kVersions:
      return false;
  }
  return false;
}

}  // namespace esim
