// The real esim_exporter binary with --web.config.file: HTTPS only, basic auth on every path,
// mutual TLS, the minimum TLS version, and a bad web config stopping the startup.
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::seconds;

const std::string kCertDir = ESIM_TEST_CERT_DIR;
constexpr char kSecret[] = "sk_web_tls_secret_0123456789";
constexpr char kAccessCode[] = "esf_web_tls_access";
constexpr char kPassword[] = "correct horse battery staple";

// bcrypt by libcrypt, with a random salt; cost 5 keeps the test quick.
std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt) == nullptr) {
    throw std::runtime_error("crypt_gensalt_rn failed");
  }
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  if (hash == nullptr || hash[0] == '*') throw std::runtime_error("crypt_r failed");
  return hash;
}

class WebTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    fake_esimfly::Options options;
    options.access_code = kAccessCode;
    options.secret_key = kSecret;
    api_ = std::make_unique<FakeEsimflyApi>(options);
    api_->Start();
    dir_.Write("secret_key", std::string(kSecret) + "\n");
    config_ = dir_.Write("config.yml",
                         "api:\n  url: " + api_->BaseUrl() + "\n  access_code: " + kAccessCode +
                             "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                             "  rate_limit: {per_minute: 600, per_hour: 100000, per_day: 1000000}\n"
                             "poll:\n  interval: 60s\nesims:\n  - iccid: \"" +
                             fake_esimfly::kSpecExampleIccid + "\"\n    name: router\n");
  }

  // A client certificate for CN=scraper signed by `ca` ("ca" or "other_ca" of the test certs).
  void MakeClientCert(const std::string& ca, const std::string& name) {
    const std::string key = dir_.path() + "/" + name + ".key";
    const std::string csr = dir_.path() + "/" + name + ".csr";
    const std::string ext = dir_.Write(name + ".ext", "extendedKeyUsage=clientAuth\n");
    CommandResult result =
        RunCommand({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=scraper"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
    result =
        RunCommand({"openssl", "x509", "-req", "-in", csr, "-CA", kCertDir + "/" + ca + ".pem",
                    "-CAkey", kCertDir + "/" + ca + ".key", "-set_serial",
                    std::to_string(std::chrono::system_clock::now().time_since_epoch().count()),
                    "-days", "1", "-extfile", ext, "-out", dir_.path() + "/" + name + ".pem"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }

  std::string WebConfig(const std::string& text) { return dir_.Write("web.yml", text); }

  HttpsRequest Request(const std::string& user = "", const std::string& password = "") const {
    return HttpsRequest{.ca_file = kCertDir + "/ca.pem", .user = user, .password = password};
  }

  std::unique_ptr<FakeEsimflyApi> api_;
  TempDir dir_;
  std::string config_;
};

TEST_F(WebTlsTest, HttpsWithBasicAuthOnEveryPathAndNoPlainHttp) {
  const std::string web = WebConfig("tls_server_config:\n  cert_file: " + kCertDir +
                                    "/server.pem\n  key_file: " + kCertDir +
                                    "/server.key\n"
                                    "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
                                    "basic_auth_users:\n  prometheus: \"" +
                                    BcryptHash(kPassword) + "\"\n");
  ExporterProcess exporter({"--config.file=" + config_, "--web.config.file=" + web});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr("tls=true")) << exporter.Stderr();

  // The right password: every endpoint answers.
  auto answer = exporter.HttpsGet("/metrics", Request("prometheus", kPassword));
  ASSERT_TRUE(answer) << exporter.Stderr();
  EXPECT_EQ(answer->status, 200);
  EXPECT_THAT(answer->body, HasSubstr("esim_exporter_build_info"));
  EXPECT_EQ(answer->headers["X-Frame-Options"], "deny");
  answer = exporter.HttpsGet("/-/healthy", Request("prometheus", kPassword));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  // Cached after the first bcrypt: many scrapes stay cheap.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    answer = exporter.HttpsGet("/metrics", Request("prometheus", kPassword));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));

  // Everything else: 401 with a challenge, on every path.
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"prometheus", "wrong"}, {"prometheus", ""}, {"intruder", kPassword}, {"", ""}}) {
    for (const char* path : {"/metrics", "/", "/-/healthy", "/-/ready", "/nothing-here"}) {
      answer = exporter.HttpsGet(path, Request(user, password));
      ASSERT_TRUE(answer) << path;
      EXPECT_EQ(answer->status, 401) << user << " " << path;
      EXPECT_EQ(answer->headers["WWW-Authenticate"], "Basic realm=\"esim_exporter\"");
      EXPECT_EQ(answer->headers["X-Frame-Options"], "deny");
      EXPECT_THAT(answer->body, Not(HasSubstr("esim_")));
    }
  }

  // Plain HTTP to the TLS port gets no HTTP answer at all.
  EXPECT_FALSE(exporter.Get("/metrics"));
  EXPECT_FALSE(exporter.Get("/-/healthy"));
  // A client that does not trust the exporter's CA refuses it.
  HttpsRequest untrusted = Request("prometheus", kPassword);
  untrusted.ca_file = kCertDir + "/other_ca.pem";
  EXPECT_FALSE(exporter.HttpsGet("/metrics", untrusted));
  // Still serving after all that.
  answer = exporter.HttpsGet("/-/healthy", Request("prometheus", kPassword));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(exporter.Terminate(), 0);
  // No password or hash in the log.
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr(kPassword)));
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr("$2b$")));
}

TEST_F(WebTlsTest, MutualTlsRefusesTheHandshakeWithoutATrustedClientCertificate) {
  MakeClientCert("ca", "client");
  MakeClientCert("other_ca", "stranger");
  const std::string web = WebConfig(
      "tls_server_config:\n  cert_file: " + kCertDir + "/server.pem\n  key_file: " + kCertDir +
      "/server.key\n  client_auth_type: RequireAndVerifyClientCert\n" +
      "  client_ca_file: " + kCertDir + "/ca.pem\n");
  ExporterProcess exporter({"--config.file=" + config_, "--web.config.file=" + web});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();

  EXPECT_FALSE(exporter.HttpsGet("/metrics", Request())) << "no client certificate";
  HttpsRequest stranger = Request();
  stranger.cert_file = dir_.path() + "/stranger.pem";
  stranger.key_file = dir_.path() + "/stranger.key";
  EXPECT_FALSE(exporter.HttpsGet("/metrics", stranger)) << "certificate from another CA";
  EXPECT_FALSE(exporter.Get("/metrics")) << "plain HTTP";

  HttpsRequest client = Request();
  client.cert_file = dir_.path() + "/client.pem";
  client.key_file = dir_.path() + "/client.key";
  for (int i = 0; i < 3; ++i) {
    const auto answer = exporter.HttpsGet("/metrics", client);
    ASSERT_TRUE(answer) << exporter.Stderr();
    EXPECT_EQ(answer->status, 200);
    EXPECT_THAT(answer->body, HasSubstr("esim_exporter_build_info"));
  }
}

TEST_F(WebTlsTest, MinVersionIsEnforced) {
  const std::string web =
      WebConfig("tls_server_config:\n  cert_file: " + kCertDir +
                "/server.pem\n  key_file: " + kCertDir + "/server.key\n  min_version: TLS13\n");
  ExporterProcess exporter({"--config.file=" + config_, "--web.config.file=" + web});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const std::string address = "127.0.0.1:" + std::to_string(exporter.port());
  const CommandResult tls12 = RunCommand({"openssl", "s_client", "-connect", address, "-tls1_2",
                                          "-CAfile", kCertDir + "/ca.pem", "-verify_return_error"},
                                         "", seconds(20));
  EXPECT_NE(tls12.exit_code, 0) << tls12.output;
  const CommandResult tls13 = RunCommand({"openssl", "s_client", "-connect", address, "-tls1_3",
                                          "-CAfile", kCertDir + "/ca.pem", "-verify_return_error"},
                                         "", seconds(20));
  EXPECT_EQ(tls13.exit_code, 0) << tls13.output;
  EXPECT_THAT(tls13.output, HasSubstr("TLSv1.3")) << tls13.output;
}

TEST_F(WebTlsTest, AnInvalidWebConfigIsAStartupErrorWithExitCode1) {
  const std::string web = WebConfig(
      "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  ciphers: [x]\n");
  const CommandResult run =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.file=" + config_, "--web.config.file=" + web,
                  "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr(web + ":4:3: unknown key \\\"ciphers\\\" in tls_server_config"))
      << run.output;

  const CommandResult missing = RunCommand({ESIM_EXPORTER_BINARY, "--config.file=" + config_,
                                            "--web.config.file=" + dir_.path() + "/absent.yml",
                                            "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("absent.yml: cannot read")) << missing.output;

  // --config.check validates the web config too.
  const CommandResult check = RunCommand({ESIM_EXPORTER_BINARY, "--config.file=" + config_,
                                          "--web.config.file=" + web, "--config.check"});
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_THAT(check.output, HasSubstr(web + ":4:3: unknown key \"ciphers\"")) << check.output;
  const std::string good =
      dir_.Write("good.yml", "tls_server_config:\n  cert_file: " + kCertDir +
                                 "/server.pem\n  key_file: " + kCertDir + "/server.key\n");
  const CommandResult ok = RunCommand({ESIM_EXPORTER_BINARY, "--config.file=" + config_,
                                       "--web.config.file=" + good, "--config.check"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr(good + ": valid; HTTPS only, no basic auth")) << ok.output;
}

}  // namespace
}  // namespace esim_test
