#include "web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "basic_auth.h"
#include "bcrypt_hash.h"
#include "temp_dir.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using esim_test::BcryptHash;

const std::string kCertDir = ESIM_TEST_CERT_DIR;

std::string Base64(const std::string& text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const uint32_t n =
        (uint8_t(text[i]) << 16) | (uint8_t(text[i + 1]) << 8) | uint8_t(text[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i + 1 == text.size()) {
    const uint32_t n = uint8_t(text[i]) << 16;
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63]} + "==";
  } else if (i + 2 == text.size()) {
    const uint32_t n = (uint8_t(text[i]) << 16) | (uint8_t(text[i + 1]) << 8);
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63],
                       kAlphabet[(n >> 6) & 63]} +
           "=";
  }
  return out;
}

std::string BasicHeader(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
}

class WebConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy_file(kCertDir + "/server.pem", dir_ + "/server.pem");
    std::filesystem::copy_file(kCertDir + "/server.key", dir_ + "/server.key");
    std::filesystem::copy_file(kCertDir + "/ca.pem", dir_ + "/ca.pem");
  }

  std::string Write(const std::string& text, const std::string& name = "web.yml") {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  }
  // The error LoadWebConfig throws for `text`, with the file's path replaced by "FILE".
  std::string Error(const std::string& text) {
    const std::string path = Write(text);
    try {
      LoadWebConfig(path);
    } catch (const WebConfigError& e) {
      std::string message = e.what();
      if (message.rfind(path, 0) == 0) message = "FILE" + message.substr(path.size());
      return message;
    }
    return "(no error)";
  }

  esim_test::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(WebConfigTest, ParsesEveryKeyAndResolvesPathsAgainstTheFile) {
  const std::string hash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
  const WebConfig config =
      LoadWebConfig(Write("tls_server_config:\n"
                          "  cert_file: server.pem\n"
                          "  key_file: " +
                          dir_ +
                          "/server.key\n"
                          "  min_version: TLS13\n"
                          "  client_auth_type: RequireAndVerifyClientCert\n"
                          "  client_ca_file: ca.pem\n"
                          "http_server_config:\n"
                          "  http2: false\n"
                          "  headers:\n"
                          "    x-frame-options: deny\n"
                          "    Strict-Transport-Security: max-age=31536000\n"
                          "basic_auth_users:\n"
                          "  alice: '" +
                          hash + "'\n"));
  ASSERT_TRUE(config.tls);
  EXPECT_EQ(config.tls->cert_file, dir_ + "/server.pem");
  EXPECT_EQ(config.tls->key_file, dir_ + "/server.key");
  EXPECT_EQ(config.tls->client_ca_file, dir_ + "/ca.pem");
  EXPECT_EQ(config.tls->min_version, TlsVersion::kTls13);
  EXPECT_EQ(config.tls->max_version, TlsVersion::kTls13);
  EXPECT_EQ(config.tls->client_auth, ClientAuth::kRequireAndVerifyClientCert);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}};
  EXPECT_EQ(config.headers, headers);
  ASSERT_EQ(config.basic_auth_users.size(), 1u);
  EXPECT_EQ(config.basic_auth_users.at("alice"), hash);
  EXPECT_TRUE(config.warnings.empty());
}

TEST_F(WebConfigTest, ParsesCipherSuitesAndRateLimitAsExporterToolkitWritesThem) {
  const WebConfig config =
      LoadWebConfig(Write("tls_server_config:\n"
                          "  cert_file: server.pem\n"
                          "  key_file: server.key\n"
                          "  cipher_suites:\n"
                          "    - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
                          "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
                          "    - TLS_RSA_WITH_AES_128_GCM_SHA256\n"
                          "    - TLS_AES_128_GCM_SHA256\n"
                          "rate_limit:\n"
                          "  interval: 100ms\n"
                          "  burst: 20\n"));
  ASSERT_TRUE(config.tls);
  const std::vector<std::string> ciphers = {"ECDHE-RSA-CHACHA20-POLY1305",
                                            "ECDHE-RSA-AES256-GCM-SHA384", "AES128-GCM-SHA256"};
  EXPECT_EQ(config.tls->tls12_ciphers, ciphers);
  ASSERT_TRUE(config.rate_limit);
  EXPECT_EQ(config.rate_limit->interval, std::chrono::milliseconds(100));
  EXPECT_EQ(config.rate_limit->burst, 20);
  ASSERT_EQ(config.warnings.size(), 2u);
  EXPECT_EQ(config.warnings[0], dir_ +
                                    "/web.yml:7:7: tls_server_config.cipher_suites: "
                                    "\"TLS_RSA_WITH_AES_128_GCM_SHA256\" has no forward secrecy "
                                    "(RSA key exchange): a stolen key decrypts recorded traffic; "
                                    "prefer the ECDHE suites");
  EXPECT_EQ(config.warnings[1], dir_ +
                                    "/web.yml:5:5: tls_server_config.cipher_suites: TLS 1.3 "
                                    "suites are not configurable (as in Go) and are ignored; the "
                                    "list applies to TLS 1.2");

  // interval 0 disables the limit, as in exporter-toolkit.
  EXPECT_FALSE(LoadWebConfig(Write("rate_limit:\n  interval: 0\n  burst: 0\n")).rate_limit);
}

TEST_F(WebConfigTest, TheDefaultTls12SuitesAreForwardSecret) {
  TlsServerConfig tls;
  tls.cert_file = dir_ + "/server.pem";
  tls.key_file = dir_ + "/server.key";
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  std::string error;
  ASSERT_TRUE(ConfigureSslContext(*ctx, tls, error)) << error;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  ASSERT_NE(ciphers, nullptr);
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any) continue;  // TLS 1.3: always (EC)DHE
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << SSL_CIPHER_get_name(cipher);
    EXPECT_EQ(SSL_CIPHER_is_aead(cipher), 1) << SSL_CIPHER_get_name(cipher);
  }
  EXPECT_GT(tls12, 0);

  tls.tls12_ciphers = {"AES128-GCM-SHA256"};  // named explicitly: allowed (with a warning)
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> rsa(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  ASSERT_TRUE(ConfigureSslContext(*rsa, tls, error)) << error;
}

TEST_F(WebConfigTest, WarnsWhenTheTlsKeyIsReadableByOthers) {
  const std::string text = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
  std::filesystem::permissions(dir_ + "/server.key", std::filesystem::perms(0640));
  const WebConfig readable = LoadWebConfig(Write(text));
  ASSERT_EQ(readable.warnings.size(), 1u);
  EXPECT_EQ(readable.warnings[0], dir_ + "/web.yml:3:13: tls_server_config.key_file \"" + dir_ +
                                      "/server.key\" is readable by group or others (mode 0640); "
                                      "restrict it with chmod 600");
  std::filesystem::permissions(dir_ + "/server.key", std::filesystem::perms(0600));
  EXPECT_TRUE(LoadWebConfig(Write(text)).warnings.empty());
}

TEST_F(WebConfigTest, DefaultsAndWarnings) {
  const WebConfig tls_only =
      LoadWebConfig(Write("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"));
  ASSERT_TRUE(tls_only.tls);
  EXPECT_EQ(tls_only.tls->min_version, TlsVersion::kTls12);
  EXPECT_EQ(tls_only.tls->client_auth, ClientAuth::kNoClientCert);
  EXPECT_TRUE(tls_only.basic_auth_users.empty());

  const WebConfig empty = LoadWebConfig(Write(""));
  EXPECT_FALSE(empty.tls);
  ASSERT_EQ(empty.warnings.size(), 1u);
  EXPECT_THAT(empty.warnings[0], HasSubstr("the web config is empty"));

  const WebConfig auth_only = LoadWebConfig(Write(
      "basic_auth_users:\n  bob: $2b$05$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"));
  EXPECT_FALSE(auth_only.tls);
  ASSERT_EQ(auth_only.warnings.size(), 1u);
  EXPECT_EQ(auth_only.warnings[0],
            dir_ +
                "/web.yml:1:1: basic_auth_users without tls_server_config: passwords travel in "
                "clear text; add a tls_server_config");
}

TEST_F(WebConfigTest, RejectsWhatIsWrongWithFileLineColumnAndAFix) {
  Write("not a key\n", "other.key");
  Write("-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n", "bad.pem");
  const std::string tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
  const std::string hash = "$2b$05$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"tls_server_config: [\n",
       "FILE:2:1: YAML syntax error: end of sequence flow not found; check the indentation "
       "(spaces, not "
       "tabs), colons and quotes here or just above"},
      {"- a\n",
       "FILE:1:1: the web config must be a map with tls_server_config, http_server_config, "
       "basic_auth_users and/or rate_limit, got a list; start each section with \"name:\" at "
       "column 1"},
      {"tls_server_confg: {}\n",
       "FILE:1:1: unknown key \"tls_server_confg\" at the top level; did you mean "
       "\"tls_server_config\"? allowed keys: tls_server_config, http_server_config, "
       "basic_auth_users, rate_limit"},
      {"rate_limit: {interval: 1s}\n",
       "FILE:1:1: rate_limit.burst must be at least 1 with an interval: with no burst every "
       "request would get 429; give the requests allowed at once, e.g. burst: 10"},
      {"rate_limit: {interval: 1s, burst: 0}\n",
       "FILE:1:35: rate_limit.burst must be at least 1 with an interval: with burst 0 every "
       "request would get 429; give the requests allowed at once, e.g. burst: 10"},
      {"rate_limit: {interval: soon, burst: 5}\n",
       "FILE:1:24: rate_limit.interval \"soon\" is not a duration; write e.g. \"100ms\" or "
       "\"1s\" (units: ms, s, m, h), or 0 to disable"},
      {"rate_limit: {interval: 1s, burst: -1}\n",
       "FILE:1:35: rate_limit.burst \"-1\" is not a number of requests from 0 to 1000000"},
      {"rate_limit: {interval: 1s, bursts: 1}\n",
       "FILE:1:28: unknown key \"bursts\" in rate_limit; did you mean \"burst\"? allowed keys: "
       "interval, burst"},
      {tls + "tls_server_config: {}\n",
       "FILE:4:1: duplicate key \"tls_server_config\" at the top level (first at line 1); keep "
       "only one"},
      {"tls_server_config: yes\n",
       "FILE:1:20: tls_server_config must be a map, got a single value; write indented \"key: "
       "value\" lines under \"tls_server_config:\""},
      {"tls_server_config:\n  cert_file: server.pem\n",
       "FILE:1:1: tls_server_config has no key_file; give both cert_file (the server certificate, "
       "PEM) and key_file (its private key), or remove tls_server_config for plain HTTP"},
      {"tls_server_config:\n  min_version: TLS13\n",
       "FILE:1:1: tls_server_config has no cert_file; give both cert_file (the server "
       "certificate, PEM) and key_file (its private key), or remove tls_server_config for plain "
       "HTTP"},
      {tls + "  cert: |\n    PEM\n",
       "FILE:4:3: tls_server_config.cert is an exporter-toolkit option esim_exporter does not "
       "support; put the PEM text in a file and use cert_file"},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "FILE:4:18: tls_server_config.cipher_suites names only TLS 1.3 suites, which are not "
       "configurable; name TLS 1.2 suites or remove cipher_suites"},
      {tls + "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA]\n",
       "FILE:4:58: tls_server_config.cipher_suites: \"TLS_RSA_WITH_RC4_128_SHA\" is insecure (Go's "
       "tls.InsecureCipherSuites); use e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or "
       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      {tls + "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n",
       "FILE:4:19: tls_server_config.cipher_suites: \"ECDHE-RSA-AES128-GCM-SHA256\" is not a "
       "cipher suite Go's tls.CipherSuites knows; use e.g. "
       "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      {tls + "  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n",
       "FILE:4:18: tls_server_config.cipher_suites must be a non-empty list of Go cipher suite "
       "names, e.g. [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]; remove it for the default "
       "(forward-secret suites only)"},
      {tls + "  min_version: TLS10\n",
       "FILE:4:16: tls_server_config.min_version \"TLS10\" cannot work: OpenSSL 3 refuses TLS 1.0 "
       "and 1.1 handshakes at its default security level; use TLS12 (the default) or TLS13"},
      {tls + "  min_version: TLS11\n",
       "FILE:4:16: tls_server_config.min_version \"TLS11\" cannot work: OpenSSL 3 refuses TLS 1.0 "
       "and 1.1 handshakes at its default security level; use TLS12 (the default) or TLS13"},
      {tls + "  max_version: TLS11\n",
       "FILE:4:16: tls_server_config.max_version \"TLS11\" cannot work: OpenSSL 3 refuses TLS 1.0 "
       "and 1.1 handshakes at its default security level; use TLS12 (the default) or TLS13"},
      {tls + "  key_fle: x\n",
       "FILE:4:3: unknown key \"key_fle\" in tls_server_config; did you mean \"key_file\"? allowed "
       "keys: cert_file, key_file, client_ca_file, client_auth_type, min_version, max_version, "
       "cipher_suites"},
      {tls + "  min_version: TLS14\n",
       "FILE:4:16: tls_server_config.min_version \"TLS14\" is not a TLS version; use TLS12 or "
       "TLS13"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "FILE:5:16: tls_server_config.max_version TLS12 is below min_version TLS13; raise "
       "max_version or lower min_version"},
      {tls + "  client_auth_type: RequireClientCerts\n",
       "FILE:4:21: tls_server_config.client_auth_type \"RequireClientCerts\" is not valid; use one "
       "of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
       "RequireAndVerifyClientCert"},
      {tls + "  client_ca_file: ca.pem\n",
       "FILE:4:3: tls_server_config.client_ca_file is set but client_auth_type is NoClientCert, "
       "so client certificates are never checked; set client_auth_type: "
       "RequireAndVerifyClientCert for mutual TLS, or remove client_ca_file"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "FILE:4:21: tls_server_config.client_auth_type RequireAndVerifyClientCert needs "
       "client_ca_file: the CA certificates (PEM) that sign the client certificates"},
      {"tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n",
       "FILE:2:14: tls_server_config.cert_file \"" + dir_ +
           "/missing.pem\": cannot read: No such file or directory"},
      {"tls_server_config:\n  cert_file: bad.pem\n  key_file: server.key\n",
       "FILE:2:14: tls_server_config.cert_file \"" + dir_ +
           "/bad.pem\": no usable PEM certificate in it; give the "
           "server certificate, followed by any intermediates, in PEM format"},
      {"tls_server_config:\n  cert_file: server.pem\n  key_file: other.key\n",
       "FILE:3:13: tls_server_config.key_file \"" + dir_ +
           "/other.key\": not an unencrypted PEM private key; give the "
           "certificate's key in PEM format without a passphrase"},
      {"tls_server_config:\n  cert_file: ca.pem\n  key_file: server.key\n",
       "FILE:3:13: tls_server_config.key_file \"" + dir_ +
           "/server.key\": the key does not belong to the certificate in cert_file; give the key "
           "the certificate was issued for"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: other.key\n",
       "FILE:5:3: tls_server_config.client_ca_file \"" + dir_ +
           "/other.key\": no usable PEM CA certificate in it; give the "
           "CA certificates that sign the client certificates, in PEM format"},
      {"tls_server_config:\n  cert_file: ''\n",
       "FILE:2:14: tls_server_config.cert_file is empty; give a file path or remove the key"},
      {"http_server_config:\n  headers:\n    Content-Type: text/html\n",
       "FILE:3:5: http_server_config.headers: the header \"Content-Type\" can not be configured; "
       "allowed headers: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
       "X-XSS-Protection, Content-Security-Policy"},
      {"http_server_config:\n  headers:\n    Authorization: x\n",
       "FILE:3:5: http_server_config.headers: the header \"Authorization\" can not be configured; "
       "allowed headers: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
       "X-XSS-Protection, Content-Security-Policy"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "FILE:3:22: http_server_config.headers.X-Frame-Options \"allow\" is not allowed; use one of "
       "deny, sameorigin"},
      {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
       "FILE:3:23: http_server_config.headers.X-XSS-Protection contains a control character (a "
       "line break?); write the value on one line"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: deny\n    x-frame-options: deny\n",
       "FILE:3:5: http_server_config.headers names X-Frame-Options twice (in different letter "
       "case); keep only one"},
      {"http_server_config:\n  http2: maybe\n",
       "FILE:2:10: http_server_config.http2 must be true or false, got \"maybe\""},
      {"http_server_config:\n  header: {}\n",
       "FILE:2:3: unknown key \"header\" in http_server_config; did you mean \"headers\"? allowed "
       "keys: headers, http2"},
      {"basic_auth_users:\n  alice: secret-password\n",
       "FILE:2:10: basic_auth_users.alice is not a bcrypt hash; store the hash, not the password: "
       "generate one with \"htpasswd -nBC 10 '' | tr -d ':\\n'\" (apache2-utils) and put it in "
       "quotes"},
      {"basic_auth_users:\n  alice: $2b$03$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
       "FILE:2:10: basic_auth_users.alice is not a bcrypt hash; store the hash, not the password: "
       "generate one with \"htpasswd -nBC 10 '' | tr -d ':\\n'\" (apache2-utils) and put it in "
       "quotes"},
      {"basic_auth_users:\n  \"a:b\": " + hash + "\n",
       "FILE:2:3: basic_auth_users: the user name \"a:b\" contains \":\", which basic auth cannot "
       "carry; choose another name"},
      {"basic_auth_users:\n  alice:\n",
       "FILE:2:3: basic_auth_users.alice has no value; write one after \"alice:\" or remove the "
       "line"},
      {"basic_auth_users: [alice]\n",
       "FILE:1:19: basic_auth_users must be a map, got a list; write indented \"key: value\" lines "
       "under \"basic_auth_users:\""},
      {"---\na: 1\n---\nb: 2\n",
       "FILE:4:1: a second YAML document starts here; keep only one document in the file (remove "
       "the \"---\" line above and merge the two)"},
  };
  for (const Case& c : cases) EXPECT_EQ(Error(c.yaml), c.error) << c.yaml;
}

TEST_F(WebConfigTest, NeverEchoesAPasswordOrHash) {
  const std::string message = Error("basic_auth_users:\n  alice: hunter2-the-password\n");
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
}

TEST_F(WebConfigTest, AMissingFileSaysWhichFlag) {
  try {
    LoadWebConfig(dir_ + "/nope.yml");
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir_ +
                                         "/nope.yml: cannot read: No such file or directory; "
                                         "check the path given to --web.config.file");
  }
}

TEST_F(WebConfigTest, SslContextGetsTheVersionsAndClientPolicy) {
  TlsServerConfig tls;
  tls.cert_file = dir_ + "/server.pem";
  tls.key_file = dir_ + "/server.key";
  tls.client_ca_file = dir_ + "/ca.pem";
  tls.min_version = TlsVersion::kTls13;
  tls.client_auth = ClientAuth::kRequireAndVerifyClientCert;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  std::string error;
  ASSERT_TRUE(ConfigureSslContext(*ctx, tls, error)) << error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(ctx.get())), 1);

  tls.client_ca_file.clear();
  tls.client_auth = ClientAuth::kNoClientCert;
  tls.min_version = TlsVersion::kTls12;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> plain(SSL_CTX_new(TLS_server_method()),
                                                          &SSL_CTX_free);
  ASSERT_TRUE(ConfigureSslContext(*plain, tls, error)) << error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(plain.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(plain.get()), SSL_VERIFY_NONE);
}

TEST(WebConfigBcryptTest, RecognisesBcryptHashes) {
  EXPECT_TRUE(IsBcryptHash(BcryptHash("pw")));
  EXPECT_TRUE(IsBcryptHash("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  for (const char* bad :
       {"", "password", "$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
        "$2y$32$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
        "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS",
        "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS!", "$6$salt$hash"}) {
    EXPECT_FALSE(IsBcryptHash(bad)) << bad;
  }
}

TEST(WebServerBasicAuthTest, ChecksPasswordsAndCachesBothOutcomes) {
  BasicAuthChecker checker({{"alice", BcryptHash("s3cret")}, {"bob", BcryptHash("other")}});
  EXPECT_TRUE(checker.Check(BasicHeader("alice", "s3cret")));
  EXPECT_EQ(checker.bcrypt_runs(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(checker.Check(BasicHeader("alice", "s3cret")));
  EXPECT_EQ(checker.bcrypt_runs(), 1u) << "successful logins are cached";
  EXPECT_TRUE(checker.Check("basic  " + Base64("bob:other")));
  EXPECT_EQ(checker.bcrypt_runs(), 2u);

  EXPECT_FALSE(checker.Check(BasicHeader("alice", "wrong")));
  EXPECT_FALSE(checker.Check(BasicHeader("alice", "wrong")));
  EXPECT_EQ(checker.bcrypt_runs(), 3u) << "failures are cached too, as in exporter-toolkit";
  EXPECT_FALSE(checker.Check(BasicHeader("alice", "other"))) << "bob's password";
  EXPECT_FALSE(checker.Check(BasicHeader("mallory", "s3cret")));
  EXPECT_EQ(checker.bcrypt_runs(), 5u) << "unknown users cost a bcrypt too";
  EXPECT_TRUE(checker.Check(BasicHeader("alice", "s3cret")));
  EXPECT_EQ(checker.bcrypt_runs(), 5u);

  // Malformed headers never reach bcrypt.
  for (const std::string& bad :
       {std::string(), std::string("Basic"), std::string("Bearer ") + Base64("alice:s3cret"),
        std::string("Basic !!!!"), std::string("Basic ") + Base64("alice"),
        std::string("Basic ") + Base64(std::string("alice:s3cret\0x", 14)),
        std::string("Basic ") + Base64("alice:" + std::string(73, 'x'))}) {
    EXPECT_FALSE(checker.Check(bad)) << bad;
  }
  EXPECT_EQ(checker.bcrypt_runs(), 5u);
}

TEST(WebServerBasicAuthTest, TheCachesAreBoundedAndFailuresNeverPushOutSuccesses) {
  BasicAuthChecker checker(
      {{"a", BcryptHash("pa")}, {"b", BcryptHash("pb")}, {"c", BcryptHash("pc")}},
      /*max_cached_successes=*/2, /*max_cached_failures=*/2);
  EXPECT_TRUE(checker.Check(BasicHeader("a", "pa")));
  EXPECT_TRUE(checker.Check(BasicHeader("b", "pb")));
  EXPECT_TRUE(checker.Check(BasicHeader("a", "pa")));  // a is now the most recent
  EXPECT_EQ(checker.bcrypt_runs(), 2u);
  EXPECT_TRUE(checker.Check(BasicHeader("c", "pc")));  // full: b, the least recent, goes
  EXPECT_TRUE(checker.Check(BasicHeader("a", "pa")));
  EXPECT_EQ(checker.bcrypt_runs(), 3u);
  EXPECT_TRUE(checker.Check(BasicHeader("b", "pb")));
  EXPECT_EQ(checker.bcrypt_runs(), 4u);
  // Many distinct wrong passwords: each costs one bcrypt, and the logins stay cached.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(checker.Check(BasicHeader("a", std::to_string(i))));
  EXPECT_EQ(checker.bcrypt_runs(), 14u);
  EXPECT_TRUE(checker.Check(BasicHeader("b", "pb")));
  EXPECT_EQ(checker.bcrypt_runs(), 14u);
}

TEST(LruSetTest, KeepsTheMostRecentlyUsed) {
  LruSet set(2);
  set.Insert("x");
  set.Insert("y");
  EXPECT_TRUE(set.Touch("x"));
  set.Insert("z");  // y goes
  EXPECT_TRUE(set.Touch("x"));
  EXPECT_FALSE(set.Touch("y"));
  EXPECT_TRUE(set.Touch("z"));
  EXPECT_EQ(set.size(), 2u);
}

TEST(RequestRateLimiterTest, ATokenBucket) {
  using std::chrono::milliseconds;
  const auto start = RequestRateLimiter::Clock::now();
  RequestRateLimiter limiter(milliseconds(100), 3, start);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow(start)) << i;
  EXPECT_FALSE(limiter.Allow(start));
  EXPECT_FALSE(limiter.Allow(start + milliseconds(50)));
  EXPECT_TRUE(limiter.Allow(start + milliseconds(100)));
  EXPECT_FALSE(limiter.Allow(start + milliseconds(100)));
  // Idle time refills up to the burst, not beyond.
  const auto later = start + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow(later)) << i;
  EXPECT_FALSE(limiter.Allow(later));
}

}  // namespace
}  // namespace esim
