// The real esim_exporter binary against the fake eSIMfly API (an independent implementation of
// the upstream spec) over loopback HTTP and HTTPS.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "fake_esimfly_api.h"
#include "harness.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using fake_esimfly::FakeEsimflyApi;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr char kSecret[] = "sk_integration_secret_0123456789";
constexpr char kAccessCode[] = "esf_integration_access";
// Luhn-valid, but unknown to the fake API.
constexpr char kUnknownIccid[] = "8948010010036785078";

fake_esimfly::Options FakeOptions() {
  fake_esimfly::Options options;
  options.access_code = kAccessCode;
  options.secret_key = kSecret;
  return options;
}

struct ConfigSpec {
  std::string url = {};
  std::string esims = {};  // the YAML list under esims:
  std::string extra_api = {};
  std::string rate_limit = "    per_minute: 600\n    per_hour: 100000\n    per_day: 1000000\n";
  std::string interval = "60s";
  std::string extra = {};
  int max_concurrency = 2;
};

std::string WriteConfig(const TempDir& dir, const ConfigSpec& spec,
                        const std::string& name = "config.yml") {
  dir.Write("secret_key", std::string(kSecret) + "\n");
  return dir.Write(name, "api:\n  url: " + spec.url + "\n  access_code: " + kAccessCode +
                             "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                             "  max_concurrency: " +
                             std::to_string(spec.max_concurrency) + "\n" + spec.extra_api +
                             "  rate_limit:\n" + spec.rate_limit + "poll:\n  interval: " +
                             spec.interval + "\n" + spec.extra + "esims:\n" + spec.esims);
}

std::string AllShapes() {
  using namespace fake_esimfly;
  return std::string("  - iccid: \"") + kSpecExampleIccid +
         "\"\n    name: router-sydney-01\n    labels: {site: syd, fleet: routers}\n" +
         "  - iccid: \"" + kUnlimitedIccid + "\"\n    name: unlimited\n" + "  - iccid: \"" +
         kDepletedIccid + "\"\n    name: depleted\n" + "  - iccid: \"" + kExpiredIccid +
         "\"\n    name: expired\n" + "  - iccid: \"" + kNewIccid +
         "\"\n    name: never-connected\n" + "  - esim_id: 12345\n    name: by-id\n" +
         "  - iccid: \"" + kForbiddenIccid + "\"\n    name: forbidden\n" + "  - iccid: \"" +
         kProviderErrorIccid + "\"\n    name: provider-error\n" + "  - iccid: \"" + kAlertingIccid +
         "\"\n    name: alerting\n" + "  - iccid: \"" + kHealthy5gIccid +
         "\"\n    name: healthy\n" + "  - iccid: \"" + kUnknownIccid + "\"\n    name: unknown\n";
}

// The config labels AllShapes gives the spec's example eSIM: they follow iccid and name on every
// one of its series.
// esim_poll_success of the live-status polls (the only source without inventory sweeps).
constexpr char kLive[] = ",source=\"live\"";
constexpr char kExampleLabels[] = ",fleet=\"routers\",site=\"syd\"";

double FleetTime(const fake_esimfly::FakeEsim& esim, const char* field) {
  const std::string text = esim.status_data.at(field).get<std::string>();
  std::tm tm{};
  strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<double>(timegm(&tm)) + std::stod(text.substr(19, 4));
}

fake_esimfly::FakeEsim FleetEsim(const FakeEsimflyApi& api, const std::string& iccid) {
  for (const auto& esim : api.Fleet()) {
    if (esim.iccid == iccid) return esim;
  }
  throw std::runtime_error("no such eSIM in the fake fleet: " + iccid);
}

std::string Key(const std::string& metric, const std::string& iccid, const std::string& name,
                const std::string& more = "") {
  return metric + "{iccid=\"" + iccid + "\",name=\"" + name + "\"" + more + "}";
}

bool Has(const Samples& samples, const std::string& key) { return samples.count(key) > 0; }

bool AnyKeyStartsWith(const Samples& samples, const std::string& prefix) {
  for (const auto& [key, value] : samples) {
    if (key.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

TEST(ExporterIntegrationTest, EveryDocumentedShapeYieldsTheContractsMetrics) {
  using namespace fake_esimfly;
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = AllShapes()});
  ExporterProcess exporter({"--config.file=" + config, "--log.level=debug"});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const std::string text = exporter.ScrapeText();
  const Samples m = ParseExposition(text);

  // The spec's example record, field by field.
  const FakeEsim example = FleetEsim(api, kSpecExampleIccid);
  const std::string ex = kSpecExampleIccid;
  const std::string ex_labels = kExampleLabels;
  EXPECT_EQ(m.at(Key("esim_data_used_bytes", ex, "router-sydney-01", ex_labels)), 0);
  EXPECT_EQ(m.at(Key("esim_data_total_bytes", ex, "router-sydney-01", ex_labels)), 1 * kGiB);
  EXPECT_EQ(m.at(Key("esim_unlimited", ex, "router-sydney-01", ex_labels)), 0);
  EXPECT_EQ(m.at(Key("esim_status", ex, "router-sydney-01", ex_labels + ",status=\"ACTIVE\"")), 1);
  EXPECT_EQ(m.at(Key("esim_status", ex, "router-sydney-01", ex_labels + ",status=\"DEPLETED\"")),
            0);
  EXPECT_EQ(m.at(Key("esim_active", ex, "router-sydney-01", ex_labels)), 1);
  EXPECT_DOUBLE_EQ(m.at(Key("esim_expiry_timestamp_seconds", ex, "router-sydney-01", ex_labels)),
                   FleetTime(example, "expiry_date"));
  EXPECT_DOUBLE_EQ(
      m.at(Key("esim_activation_timestamp_seconds", ex, "router-sydney-01", ex_labels)),
      FleetTime(example, "activation_date"));
  EXPECT_DOUBLE_EQ(
      m.at(Key("esim_last_usage_timestamp_seconds", ex, "router-sydney-01", ex_labels)),
      FleetTime(example, "last_usage_date"));
  EXPECT_GE(m.at(Key("esim_last_usage_age_seconds", ex, "router-sydney-01", ex_labels)), 0);
  EXPECT_EQ(m.at(Key("esim_network_info", ex, "router-sydney-01",
                     ex_labels + ",operator=\"Optus\",mcc=\"505\",mnc=\"2\",country=\"Australia\","
                                 "country_iso2=\"AU\",connection_type=\"4G - LTE\"")),
            1);
  EXPECT_EQ(m.at(Key("esim_device_info", ex, "router-sydney-01", ex_labels + ",model=\"GTF7P\"")),
            1);
  EXPECT_EQ(
      m.at(Key("esim_info", ex, "router-sydney-01",
               ex_labels + ",esim_status=\"Active\",smdp_status=\"AFFECTED\",profile=\"Enabled\","
                           "esim_id=\"\"")),
      1);
  EXPECT_EQ(m.at(Key("esim_poll_success", ex, "router-sydney-01", ex_labels + kLive)), 1);
  // The IMEI is personal data: not exported without the opt-in.
  EXPECT_THAT(text, Not(HasSubstr(example.status_data["device"]["imei"].get<std::string>())));

  // Unlimited: no allowance at all.
  EXPECT_EQ(m.at(Key("esim_unlimited", kUnlimitedIccid, "unlimited")), 1);
  EXPECT_FALSE(Has(m, Key("esim_data_total_bytes", kUnlimitedIccid, "unlimited")));
  EXPECT_DOUBLE_EQ(
      m.at(Key("esim_data_used_bytes", kUnlimitedIccid, "unlimited")),
      FleetEsim(api, kUnlimitedIccid).status_data["data_usage"]["used_gb"].get<double>() * kGiB);

  // Depleted and expired.
  EXPECT_EQ(m.at(Key("esim_status", kDepletedIccid, "depleted", ",status=\"DEPLETED\"")), 1);
  EXPECT_EQ(m.at(Key("esim_data_used_bytes", kDepletedIccid, "depleted")), 3 * kGiB);
  EXPECT_EQ(m.at(Key("esim_data_total_bytes", kDepletedIccid, "depleted")), 3 * kGiB);
  EXPECT_EQ(m.at(Key("esim_active", kDepletedIccid, "depleted")), 0);
  EXPECT_EQ(m.at(Key("esim_status", kExpiredIccid, "expired", ",status=\"EXPIRED\"")), 1);
  EXPECT_LT(m.at(Key("esim_expiry_timestamp_seconds", kExpiredIccid, "expired")),
            static_cast<double>(std::time(nullptr)));

  // Never connected: every nullable series is absent, the rest present.
  EXPECT_EQ(m.at(Key("esim_poll_success", kNewIccid, "never-connected", kLive)), 1);
  EXPECT_EQ(m.at(Key("esim_status", kNewIccid, "never-connected", ",status=\"NEW\"")), 1);
  EXPECT_EQ(m.at(Key("esim_data_total_bytes", kNewIccid, "never-connected")), 5 * kGiB);
  for (const char* absent : {"esim_network_info", "esim_device_info",
                             "esim_activation_timestamp_seconds", "esim_expiry_timestamp_seconds",
                             "esim_last_usage_timestamp_seconds", "esim_last_usage_age_seconds"}) {
    EXPECT_FALSE(AnyKeyStartsWith(m, std::string(absent) + "{iccid=\"" + kNewIccid + "\""))
        << absent;
  }

  // Looked up by esimId: the ICCID label is learned from the answer.
  EXPECT_EQ(m.at(Key("esim_data_used_bytes", kByIdIccid, "by-id")), 0.5 * kGiB);
  EXPECT_EQ(m.at(Key("esim_data_total_bytes", kByIdIccid, "by-id")), 2 * kGiB);
  EXPECT_TRUE(AnyKeyStartsWith(m, Key("esim_info", kByIdIccid, "by-id").substr(0, 50)));
  EXPECT_THAT(text, HasSubstr("esim_id=\"12345\""));

  // Failed eSIMs are marked failed, with no data, while the others are served.
  for (const auto& [iccid, name] :
       std::vector<std::pair<std::string, std::string>>{{kForbiddenIccid, "forbidden"},
                                                        {kProviderErrorIccid, "provider-error"},
                                                        {kUnknownIccid, "unknown"}}) {
    EXPECT_EQ(m.at(Key("esim_poll_success", iccid, name, kLive)), 0) << name;
    EXPECT_FALSE(Has(m, Key("esim_data_used_bytes", iccid, name))) << name;
  }
  EXPECT_GE(m.at("esim_api_requests_total{code=\"FORBIDDEN\"}"), 1);
  EXPECT_GE(m.at("esim_api_requests_total{code=\"PROVIDER_ERROR\"}"), 1);
  EXPECT_GE(m.at("esim_api_requests_total{code=\"ESIM_NOT_FOUND\"}"), 1);
  EXPECT_GE(m.at("esim_api_requests_total{code=\"OK\"}"), 8);
  EXPECT_EQ(m.at("esim_up"), 1);
  EXPECT_EQ(m.at("esim_monitored_esims"), 11);
  EXPECT_EQ(m.at("esim_poll_interval_seconds"), 60);
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 1);
  EXPECT_TRUE(Has(m, "process_resident_memory_bytes"));

  // Every request was correctly signed, and connections were reused.
  size_t error_answers = 0;
  for (const auto& record : api.Requests()) {
    EXPECT_TRUE(record.code.empty() || record.code == "FORBIDDEN" ||
                record.code == "PROVIDER_ERROR" || record.code == "ESIM_NOT_FOUND")
        << record.code;
    error_answers += record.http_status >= 400;
  }
  // cpp-httplib's server (the fake API's) closes the connection after each 4xx/5xx answer.
  EXPECT_LE(api.ConnectionCount(), 2u + error_answers) << "max_concurrency 2, keep-alive";
  EXPECT_LT(api.ConnectionCount(), api.Requests().size()) << "connections were not reused";

  // promtool, from Debian's prometheus package, has nothing to say about the output.
  const CommandResult lint = RunCommand({"promtool", "check", "metrics"}, text);
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");

  // The secret appears nowhere: not in logs (debug level), metrics, the landing page or argv.
  const auto landing = exporter.Get("/");
  ASSERT_TRUE(landing);
  EXPECT_THAT(landing->body, HasSubstr("router-sydney-01"));
  EXPECT_THAT(landing->body, HasSubstr("PROVIDER_ERROR"));
  EXPECT_THAT(landing->body, Not(HasSubstr(kSecret)));
  EXPECT_THAT(text, Not(HasSubstr(kSecret)));
  EXPECT_THAT(ReadFile("/proc/" + std::to_string(exporter.pid()) + "/cmdline"),
              Not(HasSubstr(kSecret)));
  EXPECT_EQ(exporter.Terminate(), 0);
  const std::string log = exporter.Stderr();
  EXPECT_THAT(log, HasSubstr("level=debug"));
  EXPECT_THAT(log, Not(HasSubstr(kSecret))) << log;
}

TEST(ExporterIntegrationTest, GzipWhenTheScraperAsks) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = AllShapes()});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  auto gzipped = exporter.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->headers["Content-Encoding"], "gzip");
  EXPECT_EQ(static_cast<unsigned char>(gzipped->body[0]), 0x1f);  // gzip magic
  EXPECT_EQ(gzipped->headers["Transfer-Encoding"], "chunked");    // streamed while rendered
  EXPECT_EQ(gzipped->headers["Vary"], "Accept-Encoding");
  const std::string plain = exporter.ScrapeText();
  EXPECT_LT(gzipped->body.size(), plain.size() / 3);

  // gzip(1) reads it back to a page that promtool accepts, with the same series as a plain
  // scrape (values of the exporter's own metrics move between the two scrapes).
  const CommandResult inflated = RunCommand({"gzip", "-dc"}, gzipped->body);
  ASSERT_EQ(inflated.exit_code, 0) << inflated.output;
  const CommandResult lint = RunCommand({"promtool", "check", "metrics"}, inflated.output);
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  auto series_names = [](const std::string& text) {
    std::set<std::string> names;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line[0] != '#') names.insert(line.substr(0, line.find_first_of("{ ")));
    }
    return names;
  };
  EXPECT_EQ(series_names(inflated.output), series_names(plain));
  EXPECT_THAT(inflated.output, HasSubstr("esim_up 1\n"));

  // A scraper that refuses gzip gets the plain page.
  auto refused = exporter.Get("/metrics", {{"Accept-Encoding", "gzip;q=0, identity"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->headers.count("Content-Encoding"), 0u);
  EXPECT_THAT(refused->body, HasSubstr("esim_up 1\n"));
}

TEST(ExporterIntegrationTest, HttpsWithATrustedCaWorksAndAnUntrustedOneIsRefused) {
  fake_esimfly::Options options = FakeOptions();
  options.tls_cert_file = std::string(ESIM_TEST_CERT_DIR) + "/server.pem";
  options.tls_key_file = std::string(ESIM_TEST_CERT_DIR) + "/server.key";
  FakeEsimflyApi api(options);
  api.Start();
  ASSERT_THAT(api.BaseUrl(), StartsWith("https://"));
  const std::string esims =
      std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n    name: tls\n";
  {
    TempDir dir;
    const std::string config = WriteConfig(
        dir, {.url = api.BaseUrl(),
              .esims = esims,
              .extra_api = "  ca_file: " + std::string(ESIM_TEST_CERT_DIR) + "/ca.pem\n"});
    ExporterProcess exporter({"--config.file=" + config});
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
    const Samples m = exporter.Scrape();
    EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kSpecExampleIccid, "tls", kLive)), 1);
    EXPECT_EQ(m.at("esim_up"), 1);
  }
  {
    TempDir dir;
    const std::string config = WriteConfig(
        dir, {.url = api.BaseUrl(),
              .esims = esims,
              .extra_api = "  ca_file: " + std::string(ESIM_TEST_CERT_DIR) + "/other_ca.pem\n",
              .extra = "balance:\n  interval: 0s\n"});  // count the live poll only
    ExporterProcess exporter({"--config.file=" + config});
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
    const Samples m = exporter.Scrape();
    EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kSpecExampleIccid, "tls", kLive)), 0);
    EXPECT_EQ(m.at("esim_api_requests_total{code=\"TLS_ERROR\"}"), 1);
    EXPECT_EQ(m.at("esim_up"), 0);
    EXPECT_THAT(exporter.Stderr(), HasSubstr("code=TLS_ERROR"));
  }
}

// Without api.ca_file the system trust store decides, loaded once and shared by every pooled
// connection. OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR stand in for the system bundle and the
// hashed directory here; AllShapes() with max_concurrency 2 and a slow API opens two
// connections.
TEST(ExporterIntegrationTest, HttpsTrustsTheSystemStoreOnEveryPooledConnection) {
  fake_esimfly::Options options = FakeOptions();
  options.tls_cert_file = std::string(ESIM_TEST_CERT_DIR) + "/server.pem";
  options.tls_key_file = std::string(ESIM_TEST_CERT_DIR) + "/server.key";
  options.latency = milliseconds(200);  // so that two requests overlap
  FakeEsimflyApi api(options);
  api.Start();
  TempDir hashed;  // what update-ca-certificates makes: <subject hash>.0 per CA
  const CommandResult hash = RunCommand(
      {"openssl", "x509", "-hash", "-noout", "-in", std::string(ESIM_TEST_CERT_DIR) + "/ca.pem"});
  ASSERT_EQ(hash.exit_code, 0) << hash.output;
  std::ifstream ca_pem(std::string(ESIM_TEST_CERT_DIR) + "/ca.pem");
  hashed.Write(hash.output.substr(0, hash.output.find('\n')) + ".0",
               std::string(std::istreambuf_iterator<char>(ca_pem), {}));
  const std::vector<std::vector<std::string>> trust_stores = {
      {"SSL_CERT_FILE=" + std::string(ESIM_TEST_CERT_DIR) + "/ca.pem",
       "SSL_CERT_DIR=" + hashed.path() + "/none"},
      {"SSL_CERT_FILE=" + hashed.path() + "/none", "SSL_CERT_DIR=" + hashed.path()}};
  for (const auto& environment : trust_stores) {
    SCOPED_TRACE(environment[0] + " " + environment[1]);
    const size_t connections_before = api.ConnectionCount();
    TempDir dir;
    const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = AllShapes()});
    ExporterProcess exporter({"--config.file=" + config}, environment);
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
    const Samples m = exporter.Scrape();
    EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kSpecExampleIccid, "router-sydney-01",
                       std::string(kExampleLabels) + kLive)),
              1);
    EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kHealthy5gIccid, "healthy", kLive)), 1);
    EXPECT_FALSE(Has(m, "esim_api_requests_total{code=\"TLS_ERROR\"}"));
    EXPECT_GE(api.ConnectionCount() - connections_before, 2u) << "more than one pooled client";
  }
}

TEST(ExporterIntegrationTest, WrongSecretIsCountedAndSaysWhatToCheck) {
  fake_esimfly::Options options = FakeOptions();
  options.secret_key = "sk_the_server_expects_another_one";
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n",
            .extra = "balance:\n  interval: 0s\n"});  // count the live poll only
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_api_requests_total{code=\"INVALID_SIGNATURE\"}"), 1);
  EXPECT_EQ(m.at("esim_up"), 0);
  EXPECT_EQ(m.at("esim_api_credentials_refused"), 1);  // distinct from an API that is down
  EXPECT_THAT(exporter.Stderr(), HasSubstr("check api.secret_key"));
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr(kSecret)));
}

TEST(ExporterIntegrationTest, BudgetTooSmallStretchesTheIntervalInsteadOfExceedingIt) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  std::string esims;
  size_t count = 0;
  for (const auto& esim : api.Fleet()) {
    if (count++ == 10) break;
    esims += "  - iccid: \"" + esim.iccid + "\"\n";
  }
  // 10 eSIMs every 60 s need 10 requests a minute; the budget allows 5.
  const std::string config =
      WriteConfig(dir, {.url = api.BaseUrl(),
                        .esims = esims,
                        .rate_limit = "    per_minute: 5\n    per_hour: 300\n    per_day: 7200\n"});
  const CommandResult check =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.check", "--config.file=" + config});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_THAT(check.output,
              HasSubstr("10 eSIMs every 1m need 10 requests/min but rate_limit.per_minute "
                        "allows 5"))
      << check.output;
  EXPECT_EQ(api.RequestCount(), 0u) << "--config.check must not touch the network";

  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  EXPECT_THAT(exporter.Stderr(), HasSubstr("the request budget is too small"));
  const Samples m = exporter.Scrape();
  EXPECT_NEAR(m.at("esim_poll_interval_seconds"), 10 * 60 / 4.5, 0.01);
  // 5 a minute means one every 12 s: within 13 s at most 2 requests were sent.
  std::this_thread::sleep_for(seconds(13));
  EXPECT_LE(api.RequestCount(), 2u);
  EXPECT_GE(api.RequestCount(), 1u);
}

// Another client of the same API key (the business's ordering system) sends a signed request.
void SpendOneRequestOfTheKey(const FakeEsimflyApi& api) {
  httplib::Client client(api.BaseUrl());
  const std::string body = std::string("{\"iccid\":\"") + fake_esimfly::kSpecExampleIccid + "\"}";
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  static int counter = 0;
  char request_id[40];
  std::snprintf(request_id, sizeof request_id, "3b241101-e2bb-4255-8caf-%012d", ++counter);
  const auto res = client.Post(
      fake_esimfly::kStatusPath,
      {{"RT-AccessCode", kAccessCode},
       {"RT-RequestID", request_id},
       {"RT-Timestamp", timestamp},
       {"RT-Signature",
        fake_esimfly::ComputeSignature(kSecret, timestamp, request_id, kAccessCode, body)}},
      body, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
}

TEST(ExporterIntegrationTest, ExhaustedRateLimitHeadersPauseEveryPoll) {
  fake_esimfly::Options options = FakeOptions();
  options.rate_limit_per_minute = 3;
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  std::string esims;
  for (const auto& esim : api.Fleet()) esims += "  - iccid: \"" + esim.iccid + "\"\n";
  // The exporter's own budget would allow 10 requests a second; the API's says 3 a minute.
  // One request at a time: the answer saying none are left arrives before the next request
  // could go out (with two in flight, a fourth may be on its way already, on any API).
  const std::string config =
      WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims, .max_concurrency = 1});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor([&] { return api.RequestCount() >= 3; }, seconds(10)));
  std::this_thread::sleep_for(seconds(3));
  // X-RateLimit-Remaining: 0 on the third answer stops every poll until the window resets.
  EXPECT_EQ(api.RequestCount(), 3u);
  const Samples m = exporter.Scrape();
  EXPECT_FALSE(Has(m, "esim_api_requests_total{code=\"RATE_LIMIT_EXCEEDED\"}"));
  EXPECT_EQ(m.at("esim_api_rate_limit_remaining"), 0);
  EXPECT_EQ(m.at("esim_api_rate_limit_limit"), 3);
  EXPECT_GT(m.at("esim_api_rate_limit_reset_timestamp_seconds"),
            static_cast<double>(std::time(nullptr)));
}

TEST(ExporterIntegrationTest, RateLimitExceededFromASharedKeyPausesThePoller) {
  fake_esimfly::Options options = FakeOptions();
  options.rate_limit_per_minute = 3;
  FakeEsimflyApi api(options);
  api.Start();
  // The ordering system has spent the key's window before the exporter starts.
  for (int i = 0; i < 3; ++i) SpendOneRequestOfTheKey(api);
  api.ClearRequests();
  TempDir dir;
  std::string esims;
  for (const auto& esim : api.Fleet()) esims += "  - iccid: \"" + esim.iccid + "\"\n";
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor([&] { return api.RequestCount() >= 1; }, seconds(10)));
  std::this_thread::sleep_for(seconds(3));
  // Refused with Retry-After: nothing more is sent until then (at most the second worker's
  // request was already under way).
  EXPECT_LE(api.RequestCount(), 2u);
  const Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_api_requests_total{code=\"RATE_LIMIT_EXCEEDED\"}"),
            static_cast<double>(api.RequestCount()));
  EXPECT_EQ(m.at("esim_up"), 1);
  EXPECT_EQ(m.at("esim_api_rate_limit_remaining"), 0);
}

TEST(ExporterIntegrationTest, ReloadAddsAndRemovesEsimsAndRefusesABadConfig) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string a = fake_esimfly::kSpecExampleIccid, b = fake_esimfly::kHealthy5gIccid,
                    c = fake_esimfly::kDepletedIccid;
  auto esims = [](const std::vector<std::string>& iccids) {
    std::string yaml;
    for (const auto& iccid : iccids) yaml += "  - iccid: \"" + iccid + "\"\n";
    return yaml;
  };
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims({a, b})});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  EXPECT_TRUE(Has(exporter.Scrape(), Key("esim_poll_success", b, "", kLive)));

  // SIGHUP: b removed, c added and polled promptly.
  WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims({a, c})});
  exporter.Signal(SIGHUP);
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const Samples m = exporter.Scrape();
        return !Has(m, Key("esim_poll_success", b, "", kLive)) &&
               m.count(Key("esim_poll_success", c, "", kLive)) &&
               m.at(Key("esim_poll_success", c, "", kLive)) == 1;
      },
      seconds(20)))
      << exporter.ScrapeText();
  EXPECT_FALSE(AnyKeyStartsWith(exporter.Scrape(), "esim_data_used_bytes{iccid=\"" + b));
  EXPECT_EQ(exporter.Scrape().at("esim_monitored_esims"), 2);

  // A config that does not validate is refused; the running one stays.
  dir.Write("config.yml", "api:\n  url: ftp://nope\n");
  const auto refused = exporter.Post("/-/reload");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 500);
  EXPECT_THAT(refused->body, HasSubstr("config.yml:2:")) << refused->body;
  Samples m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 0);
  EXPECT_EQ(m.at(Key("esim_poll_success", a, "", kLive)), 1);
  EXPECT_EQ(m.at(Key("esim_poll_success", c, "", kLive)), 1);

  // Fixed again: POST /-/reload takes it, GET is refused.
  WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims({a})});
  EXPECT_EQ(exporter.Get("/-/reload")->status, 405);
  EXPECT_EQ(exporter.Post("/-/reload")->status, 200);
  m = exporter.Scrape();
  EXPECT_EQ(m.at("esim_config_last_reload_successful"), 1);
  EXPECT_EQ(m.at("esim_monitored_esims"), 1);
  EXPECT_EQ(exporter.Terminate(), 0);
}

TEST(ExporterIntegrationTest, StopsCleanlyOnSigtermAndSigintEvenWithARequestInFlight) {
  fake_esimfly::Options options = FakeOptions();
  options.latency = seconds(4);  // every answer takes 4 s
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n"});
  for (int signal_number : {SIGTERM, SIGINT}) {
    ExporterProcess exporter({"--config.file=" + config});
    ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
    ASSERT_TRUE(exporter.WaitFor([&] { return api.RequestCount() > 0; }, seconds(10)));
    const auto started = std::chrono::steady_clock::now();
    exporter.Signal(signal_number);
    EXPECT_EQ(exporter.WaitForExit(seconds(10)), 0) << exporter.Stderr();
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
    api.ClearRequests();
  }
}

TEST(ExporterIntegrationTest, OncePrintsTheExpositionAndExits) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = AllShapes()});
  const CommandResult once =
      RunCommand({ESIM_EXPORTER_BINARY, "--once", "--log.level=error", "--config.file=" + config});
  ASSERT_EQ(once.exit_code, 0) << once.output;
  const Samples m = ParseExposition(once.output);
  EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kSpecExampleIccid, "router-sydney-01",
                     std::string(kExampleLabels) + kLive)),
            1);
  EXPECT_EQ(m.at(Key("esim_poll_success", fake_esimfly::kForbiddenIccid, "forbidden", kLive)), 0);
  size_t status_requests = 0;
  for (const auto& record : api.Requests())
    status_requests += record.path == fake_esimfly::kStatusPath;
  EXPECT_EQ(status_requests, 11u) << "exactly one live poll per eSIM";
}

TEST(ExporterIntegrationTest, StartupFailuresHaveTheirExitCodes) {
  TempDir dir;
  // Invalid config: exit 1 with file:line:col.
  const std::string bad = dir.Write("bad.yml", "api:\n  url: https://esimfly.net\n  bogus: 1\n");
  ExporterProcess invalid({"--config.file=" + bad});
  EXPECT_EQ(invalid.WaitForExit(seconds(60)), 1);
  EXPECT_THAT(invalid.Stderr(), HasSubstr(bad + ":3:3:")) << invalid.Stderr();
  const CommandResult check =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.check", "--config.file=" + bad});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.output, HasSubstr(bad + ":3:3:")) << check.output;
  // Unknown flag: exit 1.
  EXPECT_EQ(RunCommand({ESIM_EXPORTER_BINARY, "--no-such-flag"}).exit_code, 1);

  // Port in use: exit 2.
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n"});
  ExporterProcess first({"--config.file=" + config});
  ASSERT_GT(first.port(), 0) << first.Stderr();
  ExporterProcess second({"--config.file=" + config,
                          "--web.listen-address=127.0.0.1:" + std::to_string(first.port())});
  EXPECT_EQ(second.WaitForExit(seconds(60)), 2) << second.Stderr();
}

}  // namespace
}  // namespace esim_test

namespace esim_test {
namespace {

TEST(ExporterIntegrationTest, ShardsSplitTheFleetWithNoEsimPolledTwice) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(dir, {.url = api.BaseUrl(), .esims = AllShapes()});
  std::vector<double> monitored;
  for (const char* index : {"esim-exporter-0", "esim-exporter-1"}) {
    ExporterProcess replica(
        {"--config.file=" + config, "--shard.total=2", std::string("--shard.index=") + index});
    ASSERT_TRUE(replica.WaitUntilReady(seconds(30))) << replica.Stderr();
    monitored.push_back(replica.Scrape().at("esim_monitored_esims"));
    EXPECT_EQ(replica.Terminate(), 0);
  }
  EXPECT_EQ(monitored[0] + monitored[1], 11);
  EXPECT_GT(monitored[0], 0);
  EXPECT_GT(monitored[1], 0);
  // Every eSIM was asked for exactly once over both replicas.
  std::map<std::string, int> asked;
  for (const auto& record : api.Requests()) {
    if (record.path != fake_esimfly::kStatusPath) continue;  // the balance reads
    ++asked[record.iccid.empty() ? std::to_string(record.esim_id) : record.iccid];
  }
  EXPECT_EQ(asked.size(), 11u);
  for (const auto& [esim, count] : asked) EXPECT_EQ(count, 1) << esim;

  const CommandResult bad = RunCommand(
      {ESIM_EXPORTER_BINARY, "--config.file=" + config, "--shard.total=2", "--shard.index=2"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.output, HasSubstr("--shard.index '2' must be a number from 0 to 1"));
}

}  // namespace
}  // namespace esim_test

namespace esim_test {
namespace {

// What a service manager sees: datagrams on $NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    timeval timeout{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NotifySocket() { close(fd_); }
  // Everything received so far, messages joined by '|'.
  std::string Drain() {
    char buffer[4096];
    for (;;) {
      const ssize_t size = recv(fd_, buffer, sizeof buffer, 0);
      if (size <= 0) break;
      received_ += std::string(buffer, static_cast<size_t>(size)) + "|";
    }
    return received_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string received_;
};

TEST(ExporterIntegrationTest, TellsSystemdWhenReadyReloadingStoppingAndFeedsTheWatchdog) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n"});
  NotifySocket notify(dir.path() + "/notify");
  ExporterProcess exporter({"--config.file=" + config},
                           {"NOTIFY_SOCKET=" + dir.path() + "/notify", "WATCHDOG_USEC=400000"});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] {
        const std::string got = notify.Drain();
        return got.find("READY=1") != std::string::npos &&
               got.find("WATCHDOG=1|WATCHDOG=1|") != std::string::npos;
      },
      seconds(10)))
      << notify.Drain();
  exporter.Signal(SIGHUP);
  ASSERT_TRUE(exporter.WaitFor(
      [&] { return notify.Drain().find("RELOADING=1") != std::string::npos; }, seconds(10)));
  EXPECT_EQ(exporter.Terminate(), 0);
  EXPECT_THAT(notify.Drain(), HasSubstr("STOPPING=1"));
}

}  // namespace
}  // namespace esim_test

namespace esim_test {
namespace {

TEST(ExporterIntegrationTest, IdleKeepAliveScrapersNeitherDelayAStopNorStarveAScrape) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n"});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  // Scrapers that keep their connection open between scrapes, more than the server's threads.
  std::vector<std::unique_ptr<httplib::Client>> idle;
  for (int i = 0; i < 24; ++i) {
    idle.push_back(std::make_unique<httplib::Client>("127.0.0.1", exporter.port()));
    idle.back()->set_keep_alive(true);
    const auto res = idle.back()->Get("/metrics");
    ASSERT_TRUE(res) << i;
  }
  const auto scrape_started = std::chrono::steady_clock::now();
  EXPECT_FALSE(exporter.ScrapeText().empty());
  EXPECT_LT(std::chrono::steady_clock::now() - scrape_started, seconds(5));
  const auto stop_started = std::chrono::steady_clock::now();
  EXPECT_EQ(exporter.Terminate(seconds(10)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, seconds(5));
}

}  // namespace
}  // namespace esim_test

namespace esim_test {
namespace {

TEST(ExporterIntegrationTest, ShortHelpFlagIsTheLongOne) {
  const CommandResult long_help = RunCommand({ESIM_EXPORTER_BINARY, "--help"});
  const CommandResult short_help = RunCommand({ESIM_EXPORTER_BINARY, "-h"});
  EXPECT_EQ(short_help.exit_code, 0) << short_help.output;
  EXPECT_THAT(short_help.output, HasSubstr("usage: esim_exporter")) << short_help.output;
  EXPECT_EQ(short_help.output, long_help.output);
  // Other single-dash flags still read as their long form; unknown ones are still refused.
  EXPECT_EQ(RunCommand({ESIM_EXPORTER_BINARY, "-version"}).exit_code, 0);
  EXPECT_EQ(RunCommand({ESIM_EXPORTER_BINARY, "-x"}).exit_code, 1);
}

// One HTTP/1.1 exchange per request on a single kept-alive connection, as curl sends it: no
// Content-Length when there is no body. Returns each answer's head and body ("" when none came
// within `timeout`).
std::vector<std::string> RawExchange(int port, const std::vector<std::string>& requests,
                                     std::chrono::milliseconds timeout) {
  std::vector<std::string> answers;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return answers;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string pending;
  for (const std::string& request : requests) {
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) break;
    std::string answer;
    while (true) {
      const size_t head_end = pending.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        const size_t at = pending.substr(0, head_end).find("Content-Length: ");
        if (at != std::string::npos) length = std::stoul(pending.substr(at + 16));
        if (pending.size() >= head_end + 4 + length) {
          answer = pending.substr(0, head_end + 4 + length);
          pending.erase(0, answer.size());
          break;
        }
      }
      char buffer[4096];
      const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) break;
      pending.append(buffer, static_cast<size_t>(got));
    }
    answers.push_back(answer);
    if (answer.empty()) break;
  }
  close(fd);
  return answers;
}

// The contract's `curl -X POST http://HOST:PORT/-/reload`: no body, no Content-Length, the
// connection kept open. It reloads at once (not after a read timeout, not 400 or 411), and the
// connection stays usable, also after a POST that does send a body.
TEST(ExporterIntegrationTest, ABarePostReloadsAtOnceLikeCurlSendsIt) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = std::string("  - iccid: \"") + fake_esimfly::kSpecExampleIccid + "\"\n"});
  // Debug level: a reload of an unchanged config says so at debug level only.
  ExporterProcess exporter({"--config.file=" + config, "--log.level=debug"});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  const std::string host = "Host: 127.0.0.1:" + std::to_string(exporter.port()) + "\r\n";
  const auto started = std::chrono::steady_clock::now();
  const std::vector<std::string> answers = RawExchange(
      exporter.port(),
      {"POST /-/reload HTTP/1.1\r\n" + host + "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
       "POST /-/reload HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello",
       // The server closes a connection after an error answer: the 405 comes last.
       "GET /-/healthy HTTP/1.1\r\n" + host + "\r\n", "PUT /-/reload HTTP/1.1\r\n" + host + "\r\n"},
      seconds(3));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(3)) << "no read timeout";
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_TRUE(answers[0].starts_with("HTTP/1.1 200")) << answers[0];
  EXPECT_TRUE(answers[0].ends_with("Config reloaded\n")) << answers[0];
  EXPECT_TRUE(answers[1].starts_with("HTTP/1.1 200")) << answers[1];
  EXPECT_TRUE(answers[2].starts_with("HTTP/1.1 200")) << answers[2];
  EXPECT_TRUE(answers[3].starts_with("HTTP/1.1 405")) << answers[3];
  size_t reloads = 0;
  const std::string reloaded = "config unchanged, nothing to reload";
  for (size_t at = exporter.Stderr().find(reloaded); at != std::string::npos;
       at = exporter.Stderr().find(reloaded, at + 1)) {
    ++reloads;
  }
  EXPECT_EQ(reloads, 2u) << exporter.Stderr();
  EXPECT_EQ(exporter.Scrape().at("esim_config_last_reload_successful"), 1);
}

// The lines --config.check adds about the cost of the fleet, for 10 eSIMs.
TEST(ExporterIntegrationTest, ConfigCheckPrintsWhatTheFleetCostsTheKeyADay) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  std::string esims;
  for (size_t i = 0; i < 10; ++i) esims += "  - iccid: \"" + api.Fleet().at(i).iccid + "\"\n";
  const std::string config =
      WriteConfig(dir, {.url = api.BaseUrl(),
                        .esims = esims,
                        .rate_limit = "    per_minute: 30\n    per_hour: 500\n    per_day: 5000\n",
                        .interval = "15m"});
  const CommandResult check =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.check", "--config.file=" + config});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_THAT(check.output,
              HasSubstr(config + ": valid; 10 eSIMs, each polled every 900 s\n"
                                 "estimated API requests per day:\n"
                                 "  live status polls        960  (10 eSIMs, each every 15m)\n"
                                 "  inventory sweep pages      0  (inventory off)\n"
                                 "  balance reads             24  (one every 1h)\n"
                                 "  total                    984  (41 an hour, 0.68 a minute on "
                                 "average)\n"
                                 "  of the API key's vendor limits (10,000/day, 1,000/h, 60/min): "
                                 "9.8 % a day, 4.1 % an hour, 1.1 % a minute\n"
                                 "  of api.rate_limit (5,000/day, 500/h, 30/min): 19.7 % a day, "
                                 "8.2 % an hour, 2.3 % a minute\n"))
      << check.output;

  // With discovery the account decides: the numbers are an estimate, and say so.
  const std::string discovery =
      WriteConfig(dir,
                  {.url = api.BaseUrl(),
                   .esims = "",
                   .rate_limit = "    per_minute: 30\n    per_hour: 500\n    per_day: 5000\n",
                   .interval = "15m",
                   .extra = "inventory:\n  enabled: true\n  discover: true\n  statuses: [all]\n"},
                  "discovery.yml");
  const CommandResult estimate =
      RunCommand({ESIM_EXPORTER_BINARY, "--config.check", "--config.file=" + discovery});
  EXPECT_EQ(estimate.exit_code, 0) << estimate.output;
  EXPECT_THAT(estimate.output,
              HasSubstr("  inventory sweep pages    144  (144 sweeps, one every 10m, of "
                        "about 1 page: 1 for the listing of all statuses, estimated from "
                        "the 0 eSIMs in the config at 100 a page; with discovery the "
                        "account's real size decides)\n"))
      << estimate.output;
  EXPECT_THAT(estimate.output, HasSubstr("(an estimate: with inventory.discover"));
  EXPECT_EQ(api.RequestCount(), 0u) << "--config.check must not touch the network";
}

// The bug report's silent pause: X-RateLimit-Remaining: 0 stops every request until the reset;
// now it says so once in the log and in esim_api_paused_until_timestamp_seconds.
TEST(ExporterIntegrationTest, AnApiImposedPauseIsLoggedOnceAndExported) {
  fake_esimfly::Options options = FakeOptions();
  options.rate_limit_per_minute = 3;
  FakeEsimflyApi api(options);
  api.Start();
  TempDir dir;
  std::string esims;
  for (const auto& esim : api.Fleet()) esims += "  - iccid: \"" + esim.iccid + "\"\n";
  // One request at a time, so the answer with no requests left is the cause of the pause (two in
  // flight: the second may meet RATE_LIMIT_EXCEEDED first).
  const std::string config =
      WriteConfig(dir, {.url = api.BaseUrl(), .esims = esims, .max_concurrency = 1});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor([&] { return api.RequestCount() >= 3; }, seconds(10)));
  std::this_thread::sleep_for(seconds(2));
  const double now = static_cast<double>(std::time(nullptr));
  const Samples m = exporter.Scrape();
  EXPECT_GT(m.at("esim_api_paused_until_timestamp_seconds"), now);
  EXPECT_LE(m.at("esim_api_paused_until_timestamp_seconds"), now + 61);
  EXPECT_EQ(m.at("esim_api_paused_until_timestamp_seconds"),
            m.at("esim_api_rate_limit_reset_timestamp_seconds"));
  const std::string log = exporter.Stderr();
  const size_t first = log.find("the API imposed a pause");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_THAT(log.substr(first + 1), Not(HasSubstr("the API imposed a pause"))) << log;
  const std::string line = log.substr(first, log.find('\n', first) - first);
  EXPECT_THAT(line, HasSubstr("until=20")) << line;
  EXPECT_THAT(line, HasSubstr("X-RateLimit-Remaining: 0")) << line;
}

// Thresholds from the config reach /metrics for the rules: the defaults always, per eSIM only
// what its group or its own alerts: set, with the eSIM's config labels.
TEST(ExporterIntegrationTest, AlertThresholdsAndConfigLabelsReachTheMetrics) {
  FakeEsimflyApi api(FakeOptions());
  api.Start();
  TempDir dir;
  const std::string tracker = fake_esimfly::kSpecExampleIccid;
  const std::string router = fake_esimfly::kHealthy5gIccid;
  const std::string config = WriteConfig(
      dir, {.url = api.BaseUrl(),
            .esims = "  - iccid: \"" + tracker +
                     "\"\n    labels: {fleet: trackers, team: field}\n    alerts: "
                     "{expiry_critical: 2d}\n  - iccid: \"" +
                     router + "\"\n    labels: {fleet: routers}\n",
            .extra = "alerts:\n  expiry_warning: 10d\n  balance_low: 25.5\n  groups:\n    - match: "
                     "{fleet: trackers}\n      data_usage_warning_ratio: 0.9\n"});
  ExporterProcess exporter({"--config.file=" + config});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(30))) << exporter.Stderr();
  const Samples m = exporter.Scrape();
  const std::string tracker_labels =
      "{iccid=\"" + tracker + "\",name=\"\",fleet=\"trackers\",team=\"field\"";
  EXPECT_EQ(
      m.at("esim_alert_threshold" + tracker_labels + ",threshold=\"data_usage_warning_ratio\"}"),
      0.9);
  EXPECT_EQ(
      m.at("esim_alert_threshold" + tracker_labels + ",threshold=\"expiry_critical_seconds\"}"),
      2 * 86400);
  EXPECT_FALSE(AnyKeyStartsWith(m, "esim_alert_threshold{iccid=\"" + router + "\""));
  EXPECT_EQ(m.at("esim_alert_threshold_default{threshold=\"data_usage_warning_ratio\"}"), 0.8);
  EXPECT_EQ(m.at("esim_alert_threshold_default{threshold=\"expiry_warning_seconds\"}"), 10 * 86400);
  EXPECT_EQ(m.at("esim_alert_threshold_default{threshold=\"balance_low\"}"), 25.5);
  // Balance reads are on (1h by default) and no balance.low: the account's is the default.
  EXPECT_EQ(m.at("esim_account_balance_low_threshold"), 25.5);
  EXPECT_TRUE(Has(m, "esim_data_used_bytes{iccid=\"" + router + "\",name=\"\",fleet=\"routers\"}"));
  EXPECT_TRUE(Has(m, "esim_active" + tracker_labels + "}"));
  EXPECT_EQ(m.at("esim_poll_interval_configured_seconds"), 60);
  EXPECT_EQ(m.at("esim_api_credentials_refused"), 0);
  EXPECT_EQ(m.at("esim_api_paused_until_timestamp_seconds"), 0);
}

}  // namespace
}  // namespace esim_test
