// The exporter-level families of /metrics and those built from the config: alert thresholds,
// the API's pauses and credential refusals, the configured poll interval, and the config labels
// on every per-eSIM series.
#include <gtest/gtest.h>

#include <string>

#include "collector.h"

namespace esim {
namespace {

constexpr double kNow = 1782500000.0;

std::string Render(const StateSnapshot& snapshot, const ExporterStatus& status = {}) {
  return RenderMetrics(snapshot, status, nullptr, kNow, {.process_metrics = false});
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::shared_ptr<EsimRecord> Polled(const std::string& iccid, const std::string& name,
                                   std::map<std::string, std::string> labels = {}) {
  auto record = std::make_shared<EsimRecord>();
  record->config.iccid = iccid;
  record->config.name = name;
  record->config.labels = std::move(labels);
  EsimStatus status;
  status.status = "ACTIVE";
  status.used_bytes = 1;
  status.total_bytes = 2;
  status.expiry_time = kNow + 86400;
  record->status = status;
  record->polled = record->live_polled = record->last_poll_ok = record->last_live_ok = true;
  record->last_poll_time = record->last_success_time = record->last_live_success_time = kNow;
  return record;
}

// Alerts built from any per-eSIM series carry the labels Alertmanager routes by.
TEST(ConfigLabelsTest, OnEverySeriesOfTheEsimAfterIccidAndNameAndOnceOnInfo) {
  StateSnapshot snapshot;
  snapshot.esims.push_back(
      Polled("8948010010036785060", "router-1", {{"team", "noc"}, {"customer", "acme \"x\""}}));
  const std::string text = Render(snapshot);
  const std::string identity =
      "{iccid=\"8948010010036785060\",name=\"router-1\",customer=\"acme \\\"x\\\"\",team=\"noc\"";
  for (const char* family : {"esim_data_used_bytes", "esim_data_total_bytes", "esim_unlimited",
                             "esim_active", "esim_expiry_timestamp_seconds", "esim_poll_success",
                             "esim_last_poll_success_timestamp_seconds"}) {
    EXPECT_TRUE(Contains(text, std::string("\n") + family + identity)) << family << "\n" << text;
  }
  EXPECT_TRUE(Contains(text, "\nesim_status" + identity + ",status=\"ACTIVE\"} 1\n")) << text;
  const size_t info = text.find("\nesim_info{");
  ASSERT_NE(info, std::string::npos);
  const std::string info_line = text.substr(info + 1, text.find('\n', info + 1) - info - 1);
  EXPECT_TRUE(info_line.starts_with("esim_info" + identity + ",esim_status=")) << info_line;
  EXPECT_EQ(info_line.find("team="), info_line.rfind("team=")) << "labels once: " << info_line;
}

TEST(AlertThresholdFamiliesTest, DefaultsAlwaysAndPerEsimOnlyWhatTheConfigOverrides) {
  StateSnapshot snapshot;
  auto plain = Polled("8948010010036785060", "plain");
  auto tracker = Polled("8948010010036785078", "tracker", {{"fleet", "trackers"}});
  tracker->config.alerts.data_usage_warning_ratio = 0.9;
  tracker->config.alerts.expiry_warning = std::chrono::hours(14 * 24);
  snapshot.esims = {plain, tracker};
  ExporterStatus status;
  status.alert_defaults.data_usage_warning_ratio = 0.75;
  status.alert_defaults.expiry_critical = std::chrono::hours(36);
  status.balance_low = 0;
  const std::string text = Render(snapshot, status);

  EXPECT_TRUE(Contains(text, R"(
# TYPE esim_alert_threshold_default gauge
esim_alert_threshold_default{threshold="data_usage_warning_ratio"} 0.75
esim_alert_threshold_default{threshold="data_usage_critical_ratio"} 0.95
esim_alert_threshold_default{threshold="expiry_warning_seconds"} 604800
esim_alert_threshold_default{threshold="expiry_critical_seconds"} 129600
esim_alert_threshold_default{threshold="balance_low"} 0
)")) << text;
  EXPECT_TRUE(Contains(text, R"(
# TYPE esim_alert_threshold gauge
esim_alert_threshold{iccid="8948010010036785078",name="tracker",fleet="trackers",threshold="data_usage_warning_ratio"} 0.9
esim_alert_threshold{iccid="8948010010036785078",name="tracker",fleet="trackers",threshold="expiry_warning_seconds"} 1209600
#)")) << text;
  EXPECT_FALSE(Contains(text, "esim_alert_threshold{iccid=\"8948010010036785060\"")) << text;
  EXPECT_FALSE(
      Contains(text, "threshold=\"data_usage_critical_ratio\"} 0.95\nesim_alert_threshold{"));
}

TEST(AlertThresholdFamiliesTest, NoOverrideNoPerEsimFamily) {
  StateSnapshot snapshot;
  snapshot.esims.push_back(Polled("8948010010036785060", "plain"));
  const std::string text = Render(snapshot);
  EXPECT_FALSE(Contains(text, "esim_alert_threshold{")) << text;
  EXPECT_FALSE(Contains(text, "# TYPE esim_alert_threshold gauge")) << text;
  EXPECT_TRUE(Contains(text, "esim_alert_threshold_default{threshold=\"balance_low\"} 50\n"));
}

TEST(ApiFamiliesTest, PausedUntilIsAlwaysThereAndZeroUnlessAPauseHolds) {
  StateSnapshot snapshot;
  EXPECT_TRUE(Contains(Render(snapshot), "\nesim_api_paused_until_timestamp_seconds 0\n"));
  snapshot.api.paused_until = kNow + 120;
  snapshot.api.pause_reason = "X-RateLimit-Remaining: 0";
  EXPECT_TRUE(Contains(Render(snapshot), "\nesim_api_paused_until_timestamp_seconds 1782500120\n"));
  snapshot.api.paused_until = kNow - 1;  // ended
  EXPECT_TRUE(Contains(Render(snapshot), "\nesim_api_paused_until_timestamp_seconds 0\n"));
}

TEST(ApiFamiliesTest, CredentialsRefusedOnceTheApiWasAsked) {
  StateSnapshot snapshot;
  EXPECT_FALSE(Contains(Render(snapshot), "esim_api_credentials_refused"));
  snapshot.api.up = false;
  snapshot.api.credentials_refused = true;
  EXPECT_TRUE(Contains(Render(snapshot), "\nesim_api_credentials_refused 1\n"));
  snapshot.api.up = true;
  snapshot.api.credentials_refused = false;
  EXPECT_TRUE(Contains(Render(snapshot), "\nesim_api_credentials_refused 0\n"));
}

TEST(ApiFamiliesTest, ConfiguredPollIntervalBesideTheOneInForce) {
  ExporterStatus status;
  status.configured_poll_interval = std::chrono::minutes(15);
  status.poll_interval = std::chrono::minutes(40);
  const std::string text = Render(StateSnapshot{}, status);
  EXPECT_TRUE(Contains(text, "\nesim_poll_interval_seconds 2400\n")) << text;
  EXPECT_TRUE(Contains(text, "\nesim_poll_interval_configured_seconds 900\n")) << text;
}

}  // namespace
}  // namespace esim
