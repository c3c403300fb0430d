// The real esim_exporter binary receiving real signed webhook deliveries over HTTP (and HTTPS
// with a web config), sent like the vendor sends them by the fake's webhook sender.
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>

#include "fake_esimfly_api.h"
#include "harness.h"
#include "webhook_sender.h"

namespace esim_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using fake_esimfly::FakeEsimflyApi;
using fake_esimfly::WebhookFault;
using fake_esimfly::WebhookSender;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kCertDir = ESIM_TEST_CERT_DIR;
constexpr char kSecret[] = "sk_webhook_test_secret_0123456789";
constexpr char kAccessCode[] = "esf_webhook_test_access";
constexpr char kWebhookSecret[] = "whsec_integration_0123456789";
constexpr double kGb = 1024.0 * 1024.0 * 1024.0;

std::string Series(const std::string& name) {
  return name + "{iccid=\"" + fake_esimfly::kSpecExampleIccid + "\",name=\"router\"}";
}

std::string Deliveries(const std::string& event, const std::string& outcome) {
  return "esim_webhook_deliveries_total{event=\"" + event + "\",outcome=\"" + outcome + "\"}";
}

class WebhookTest : public testing::Test {
 protected:
  void SetUp() override {
    fake_esimfly::Options options;
    options.access_code = kAccessCode;
    options.secret_key = kSecret;
    api_ = std::make_unique<FakeEsimflyApi>(options);
    api_->Start();
    dir_.Write("secret_key", std::string(kSecret) + "\n");
    dir_.Write("webhook_secret", std::string(kWebhookSecret) + "\n");
  }

  std::string Config(const std::string& webhook_extra = "") {
    return dir_.Write("config.yml",
                      "api:\n  url: " + api_->BaseUrl() + "\n  access_code: " + kAccessCode +
                          "\n  secret_key_file: secret_key\n  timeout: 5s\n"
                          "  rate_limit: {per_minute: 600, per_hour: 100000, per_day: 1000000}\n"
                          "poll:\n  interval: 1h\n  stale_after: 6h\n"
                          "webhook:\n  path: /hooks/esimfly\n  secret_file: webhook_secret\n" +
                          webhook_extra + "esims:\n  - iccid: \"" +
                          fake_esimfly::kSpecExampleIccid + "\"\n    name: router\n");
  }

  std::unique_ptr<FakeEsimflyApi> api_;
  TempDir dir_;
};

TEST_F(WebhookTest, SignedThresholdCrossingReachesMetricsWithinASecond) {
  ExporterProcess exporter({"--config.file=" + Config()});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  WebhookSender sender("http://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly");

  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(
                kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.8, 5, 200)),
            200);
  const bool seen = exporter.WaitFor(
      [&] {
        const Samples samples = exporter.Scrape();
        const auto it = samples.find(Series("esim_data_used_bytes"));
        return it != samples.end() && std::abs(it->second - 4.8 * kGb) < 1;
      },
      seconds(1));
  EXPECT_TRUE(seen) << exporter.ScrapeText();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, milliseconds(1000));
  const Samples samples = exporter.Scrape();
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "applied")), 1);
  EXPECT_GT(samples.at("esim_webhook_last_applied_timestamp_seconds"), 0);
  EXPECT_GT(samples.at(Series("esim_last_event_timestamp_seconds")), 0);
}

TEST_F(WebhookTest, EveryWrongDeliveryIsRefusedOrNotAppliedTwice) {
  ExporterProcess exporter({"--config.file=" + Config()});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  const std::string url = "http://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly";
  WebhookSender sender(url);
  const std::string iccid = fake_esimfly::kSpecExampleIccid;
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(kWebhookSecret, iccid, 4.9, 5, 100,
                                                             WebhookFault::kBadSignature)),
            401);
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(kWebhookSecret, iccid, 4.9, 5, 100,
                                                             WebhookFault::kNoSignature)),
            401);
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery("whsec_wrong", iccid, 4.9, 5, 100)),
            401);
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(kWebhookSecret, iccid, 4.9, 5, 100,
                                                             WebhookFault::kStale)),
            400);
  const auto delivery = fake_esimfly::UsageThresholdDelivery(kWebhookSecret, iccid, 4.5, 5, 500);
  EXPECT_EQ(sender.Send(delivery), 200);
  EXPECT_EQ(sender.Send(delivery), 200);  // the vendor's retry of the same id
  EXPECT_EQ(sender.Send(
                fake_esimfly::SignedDelivery(kWebhookSecret, "esim.usage.threshold", "{not json")),
            400);
  EXPECT_EQ(sender.Send(fake_esimfly::SignedDelivery(
                kWebhookSecret, "esim.provisioned",
                R"({"event":"esim.provisioned","data":{"lpa_string":"LPA:1$x$SECRET-LPA"}})")),
            200);
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(kWebhookSecret, "8948010010092445039",
                                                             1, 5, 500)),
            200);
  // 64 KiB and more: 413 without reading it.
  EXPECT_EQ(sender.Send(fake_esimfly::SignedDelivery(kWebhookSecret, "esim.installed",
                                                     std::string(70000, ' '))),
            413);
  // Other methods: 405.
  httplib::Client client("127.0.0.1", exporter.port());
  auto get = client.Get("/hooks/esimfly");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");

  const Samples samples = exporter.Scrape();
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "invalid_signature")), 3);
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "stale")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "applied")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "duplicate")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "malformed")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.provisioned", "ignored")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "unknown_esim")), 1);
  EXPECT_EQ(samples.at(Deliveries("esim.installed", "too_large")), 1);
  EXPECT_NEAR(samples.at(Series("esim_data_used_bytes")), 4.5 * kGb, 1);
  // Install secrets are never logged.
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr("SECRET-LPA")));
  EXPECT_THAT(exporter.Stderr(), Not(HasSubstr(kWebhookSecret)));
}

TEST_F(WebhookTest, DeliveryIdsSurviveARestartWithStoragePath) {
  const std::string storage = dir_.path() + "/state";
  const auto delivery = fake_esimfly::UsageThresholdDelivery(
      kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.5, 5, 500);
  {
    ExporterProcess exporter({"--config.file=" + Config(), "--storage.path=" + storage});
    ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
    WebhookSender sender("http://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly");
    EXPECT_EQ(sender.Send(delivery), 200);
    EXPECT_EQ(exporter.Scrape().at(Deliveries("esim.usage.threshold", "applied")), 1);
    EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();  // the clean-stop write
  }
  ExporterProcess exporter({"--config.file=" + Config(), "--storage.path=" + storage});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  WebhookSender sender("http://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly");
  // The vendor's retry of the same delivery after the restart: known, not applied again.
  EXPECT_EQ(sender.Send(delivery), 200);
  const Samples samples = exporter.Scrape();
  EXPECT_EQ(samples.at(Deliveries("esim.usage.threshold", "duplicate")), 1);
  const auto applied = samples.find(Deliveries("esim.usage.threshold", "applied"));
  EXPECT_TRUE(applied == samples.end() || applied->second == 0);
}

TEST_F(WebhookTest, ADeliveryNeverCallsTheApiOnItsOwnThread) {
  ExporterProcess exporter({"--config.file=" + Config()});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  // The subscription read at startup is a request of its own: let it pass first.
  ASSERT_TRUE(exporter.WaitFor(
      [&] { return exporter.Scrape().contains("esim_webhook_subscription_read_success"); },
      seconds(10)));
  const size_t polls_before = api_->Requests().size();
  // The first live poll was just now: the event's live read waits for the 60 s minimum, so
  // this only checks that no request goes out on the delivery's own thread.
  WebhookSender sender("http://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly");
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(
                kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.8, 5, 200)),
            200);
  EXPECT_EQ(api_->Requests().size(), polls_before);
}

TEST_F(WebhookTest, BasicAuthDoesNotApplyToTheReceiverAndTlsCarriesIt) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("pw", salt, &data);
  const std::string web =
      dir_.Write("web.yml", "tls_server_config:\n  cert_file: " + kCertDir +
                                "/server.pem\n  key_file: " + kCertDir +
                                "/server.key\nbasic_auth_users:\n  prometheus: \"" + hash + "\"\n");
  ExporterProcess exporter({"--config.file=" + Config(), "--web.config.file=" + web});
  ASSERT_GT(exporter.port(), 0) << exporter.Stderr();
  WebhookSender sender("https://127.0.0.1:" + std::to_string(exporter.port()) + "/hooks/esimfly",
                       kCertDir + "/ca.pem");
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(
                kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.8, 5, 200)),
            200);
  // Basic auth never replaces the signature.
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(kWebhookSecret,
                                                             fake_esimfly::kSpecExampleIccid, 4.8,
                                                             5, 200, WebhookFault::kBadSignature)),
            401);
  // Every other path still wants the password.
  const auto metrics = exporter.HttpsGet("/metrics", HttpsRequest{.ca_file = kCertDir + "/ca.pem"});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
}

TEST_F(WebhookTest, OwnListenerServesTheReceiverAlone) {
  ExporterProcess exporter({"--config.file=" + Config("  listen_address: \"127.0.0.1:0\"\n")});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  std::smatch match;
  const std::string log = exporter.Stderr();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("webhook_port=([0-9]+)"))) << log;
  const int port = std::stoi(match[1]);
  ASSERT_NE(port, exporter.port());
  WebhookSender sender("http://127.0.0.1:" + std::to_string(port) + "/hooks/esimfly");
  EXPECT_EQ(sender.Send(fake_esimfly::UsageThresholdDelivery(
                kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.8, 5, 200)),
            200);
  httplib::Client own("127.0.0.1", port);
  auto metrics = own.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 404);
  // The main listener has no receiver.
  WebhookSender main_sender("http://127.0.0.1:" + std::to_string(exporter.port()) +
                            "/hooks/esimfly");
  EXPECT_EQ(main_sender.Send(fake_esimfly::UsageThresholdDelivery(
                kWebhookSecret, fake_esimfly::kSpecExampleIccid, 4.8, 5, 200)),
            404);
}

// GET /webhooks as the vendor answers it for a key whose URL belongs to another system (the
// ordering system), subscribed to one event the exporter needs, with a failed recent delivery.
TEST_F(WebhookTest, SubscriptionReadShowsWhereDeliveriesGoAndHowTheyFared) {
  api_->SetWebhookSubscription("https://orders.example.com/esimfly?token=abc",
                               {"esim.provisioned", "esim.usage.threshold"});
  api_->SetRecentDeliveries(nlohmann::json::array({{{"id", "whd_2"},
                                                    {"event", "esim.usage.threshold"},
                                                    {"order_reference", "ORD-2"},
                                                    {"status", "failed"},
                                                    {"attempts", 5},
                                                    {"last_attempt", "2026-06-26T14:00:00Z"},
                                                    {"delivered_at", nullptr}},
                                                   {{"id", "whd_1"},
                                                    {"event", "esim.provisioned"},
                                                    {"order_reference", "ORD-1"},
                                                    {"status", "delivered"},
                                                    {"attempts", 1},
                                                    {"last_attempt", "2026-06-26T13:00:00Z"},
                                                    {"delivered_at", "2026-06-26T13:00:01Z"}}}));
  ExporterProcess exporter(
      {"--config.file=" + Config("  public_url: https://esim.example.com/hooks/esimfly/\n")});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  ASSERT_TRUE(exporter.WaitFor(
      [&] { return exporter.Scrape().contains("esim_webhook_subscription_read_success"); },
      seconds(10)))
      << exporter.ScrapeText();
  const Samples samples = exporter.Scrape();
  EXPECT_EQ(samples.at("esim_webhook_subscription_read_success"), 1);
  EXPECT_GT(samples.at("esim_webhook_subscription_read_timestamp_seconds"), 0);
  EXPECT_EQ(samples.at("esim_webhook_subscription_points_here"), 0);
  EXPECT_EQ(samples.at("esim_webhook_subscribed{event=\"esim.usage.threshold\"}"), 1);
  EXPECT_EQ(samples.at("esim_webhook_subscribed{event=\"esim.status.changed\"}"), 0);
  EXPECT_EQ(samples.at("esim_webhook_subscribed{event=\"esim.installed\"}"), 0);
  EXPECT_EQ(samples.at("esim_webhook_recent_deliveries{status=\"failed\"}"), 1);
  EXPECT_EQ(samples.at("esim_webhook_recent_deliveries{status=\"delivered\"}"), 1);
  EXPECT_EQ(samples.at("esim_webhook_recent_deliveries{status=\"other\"}"), 0);
  EXPECT_EQ(samples.at("esim_webhook_recent_failed_delivery_timestamp_seconds"), 1782482400);
  EXPECT_EQ(samples.at("esim_api_requests_total{code=\"OK\"}"),
            static_cast<double>(api_->Requests().size()));
  // The other system's URL is logged once (without its query string), never exported.
  const std::string log = exporter.Stderr();
  EXPECT_THAT(log, HasSubstr("https://orders.example.com/esimfly"));
  EXPECT_THAT(log, Not(HasSubstr("token=abc")));
  EXPECT_THAT(exporter.ScrapeText(), Not(HasSubstr("orders.example.com")));
  EXPECT_THAT(log, Not(HasSubstr(kWebhookSecret)));
}

// Moved here (a PUT by the operator): with --storage.path the summary and the rhythm survive a
// restart, so the restarted exporter exports it at once without reading it again.
TEST_F(WebhookTest, SubscriptionPointingHereSurvivesARestartWithoutARead) {
  api_->SetWebhookSubscription("https://esim.example.com/hooks/esimfly",
                               {"esim.usage.threshold", "esim.status.changed"});
  const std::string storage = dir_.path() + "/state";
  const std::string config = Config("  public_url: https://esim.example.com/hooks/esimfly\n");
  const auto webhook_reads = [&] {
    size_t reads = 0;
    for (const auto& request : api_->Requests()) {
      reads += request.path == fake_esimfly::kWebhooksPath ? 1 : 0;
    }
    return reads;
  };
  {
    ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
    ASSERT_TRUE(exporter.WaitFor(
        [&] { return exporter.Scrape().contains("esim_webhook_subscription_points_here"); },
        seconds(10)))
        << exporter.Stderr();
    EXPECT_EQ(exporter.Scrape().at("esim_webhook_subscription_points_here"), 1);
    EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();
  }
  EXPECT_EQ(webhook_reads(), 1u);
  ExporterProcess exporter({"--config.file=" + config, "--storage.path=" + storage});
  ASSERT_TRUE(exporter.WaitUntilReady(seconds(10))) << exporter.Stderr();
  const Samples samples = exporter.Scrape();
  EXPECT_EQ(samples.at("esim_webhook_subscription_points_here"), 1);
  EXPECT_EQ(samples.at("esim_webhook_subscribed{event=\"esim.status.changed\"}"), 1);
  EXPECT_EQ(samples.at("esim_webhook_recent_deliveries{status=\"failed\"}"), 0);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(webhook_reads(), 1u);
  EXPECT_EQ(exporter.Terminate(), 0) << exporter.Stderr();

  // Reads turned off: the saved read is not shown as if it were current.
  ExporterProcess off(
      {"--config.file=" + Config("  check_interval: 0s\n"), "--storage.path=" + storage});
  ASSERT_TRUE(off.WaitUntilReady(seconds(10))) << off.Stderr();
  EXPECT_THAT(off.ScrapeText(), Not(HasSubstr("esim_webhook_subscri")));
  EXPECT_EQ(webhook_reads(), 1u);
}

// --webhook.show: one signed read, printed; nothing secret in it.
TEST_F(WebhookTest, WebhookShowPrintsTheSubscription) {
  api_->SetWebhookSubscription("https://orders.example.com/esimfly", {"esim.provisioned"});
  api_->SetRecentDeliveries(nlohmann::json::array({{{"id", "whd_9"},
                                                    {"event", "esim.status.changed"},
                                                    {"status", "failed"},
                                                    {"attempts", 5},
                                                    {"last_attempt", "2026-06-26T14:00:00Z"}}}));
  const CommandResult shown = RunCommand(
      {ESIM_EXPORTER_BINARY, "--webhook.show",
       "--config.file=" + Config("  public_url: https://esim.example.com/hooks/esimfly\n")});
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_THAT(shown.output,
              HasSubstr("https://orders.example.com/esimfly  (NOT webhook.public_url"));
  EXPECT_THAT(shown.output, HasSubstr("whd_9  esim.status.changed  failed  attempts 5"));
  EXPECT_THAT(shown.output, Not(HasSubstr(kSecret)));
  EXPECT_THAT(shown.output, Not(HasSubstr(kWebhookSecret)));
  ASSERT_EQ(api_->Requests().size(), 1u);
  EXPECT_EQ(api_->Requests()[0].method, "GET");

  // Refused credentials: exit 1 with the code, no secret.
  dir_.Write("secret_key", "sk_wrong\n");
  const CommandResult refused =
      RunCommand({ESIM_EXPORTER_BINARY, "--webhook.show", "--config.file=" + Config()});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("INVALID_SIGNATURE"));
  EXPECT_THAT(refused.output, Not(HasSubstr("sk_wrong")));
}

}  // namespace
}  // namespace esim_test
