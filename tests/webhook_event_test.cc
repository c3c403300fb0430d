#include "webhook_event.h"

#include <gtest/gtest.h>

#include "iso8601.h"

namespace esim {
namespace {

constexpr double kGb = 1024.0 * 1024.0 * 1024.0;

WebhookEvent Parse(const std::string& body) {
  WebhookParseResult result = ParseWebhookEvent(body);
  EXPECT_TRUE(result.event.has_value()) << result.error;
  return result.event.value_or(WebhookEvent{});
}

std::string ParseError(const std::string& body) {
  WebhookParseResult result = ParseWebhookEvent(body);
  EXPECT_FALSE(result.event.has_value()) << body;
  return result.error;
}

TEST(WebhookEventTest, UsageThreshold) {
  const WebhookEvent event = Parse(R"({"event": "esim.usage.threshold",
    "timestamp": "2026-09-13T15:05:20.391Z",
    "data": {"iccid": "8948010010092445039", "esim_id": 23691, "package_code": "2163597",
             "order_reference": "order_1755559183090_vyf9w", "source": "usage_threshold",
             "threshold_remaining_mb": 500, "used_percent": 90.2, "used_gb": 4.5,
             "total_gb": 5, "remaining_gb": 0.5, "package_id": 77,
             "reported_at": "2026-09-13T15:05:19.000Z"}})");
  EXPECT_EQ(event.type, WebhookEventType::kUsageThreshold);
  EXPECT_EQ(event.iccid, "8948010010092445039");
  EXPECT_EQ(event.esim_id, 23691);
  EXPECT_EQ(event.package_code, "2163597");
  EXPECT_EQ(event.used_bytes, 4.5 * kGb);
  EXPECT_EQ(event.total_bytes, 5 * kGb);
  EXPECT_EQ(event.remaining_bytes, 0.5 * kGb);
  EXPECT_EQ(event.threshold_remaining_mb, 500);
  EXPECT_EQ(event.created_at, ParseIso8601("2026-09-13T15:05:20.391Z"));
  EXPECT_EQ(event.ObservedAt(), ParseIso8601("2026-09-13T15:05:19Z"));
}

TEST(WebhookEventTest, UsedDerivedFromTotalAndRemainingWhenAbsent) {
  const WebhookEvent event = Parse(R"({"event": "esim.usage.threshold",
    "data": {"iccid": "8948010010092445039", "total_gb": 1, "remaining_gb": 0.25}})");
  EXPECT_EQ(event.used_bytes, 0.75 * kGb);
  EXPECT_FALSE(event.ObservedAt().has_value());
}

TEST(WebhookEventTest, StatusChanged) {
  const WebhookEvent event = Parse(R"({"event": "esim.status.changed",
    "timestamp": "2026-09-13T15:05:20Z",
    "data": {"iccid": "8948010010092445039", "old_status": "ACTIVE", "new_status": "DEPLETED",
             "changed_at": "2026-09-13T15:00:00Z", "expiry_date": "2026-10-13T00:00:00Z"}})");
  EXPECT_EQ(event.type, WebhookEventType::kStatusChanged);
  EXPECT_EQ(event.old_status, "ACTIVE");
  EXPECT_EQ(event.new_status, "DEPLETED");
  EXPECT_EQ(event.expiry_time, ParseIso8601("2026-10-13T00:00:00Z"));
  EXPECT_EQ(event.ObservedAt(), ParseIso8601("2026-09-13T15:00:00Z"));
}

TEST(WebhookEventTest, InstalledAndProfileUpdated) {
  const WebhookEvent installed = Parse(R"({"event": "esim.installed",
    "timestamp": "2026-09-13T15:05:20Z",
    "data": {"esim_id": 5, "eid": "89049032000000000000000000000001", "imsi": "234150000000001",
             "installed_at": "2026-09-13T15:04:00Z"}})");
  EXPECT_EQ(installed.type, WebhookEventType::kInstalled);
  EXPECT_EQ(installed.esim_id, 5);
  EXPECT_EQ(installed.eid, "89049032000000000000000000000001");
  EXPECT_EQ(installed.imsi, "234150000000001");
  EXPECT_EQ(installed.ObservedAt(), ParseIso8601("2026-09-13T15:04:00Z"));

  const WebhookEvent profile = Parse(R"({"event": "esim.profile.updated",
    "timestamp": "2026-09-13T15:05:20Z",
    "data": {"iccid": "8948010010092445039", "profile_status": "Disable", "profile": "Disabled",
             "previous_profile_status": "Enable", "eid": null, "imsi": null,
             "changed_at": "2026-09-13T15:05:00Z"}})");
  EXPECT_EQ(profile.type, WebhookEventType::kProfileUpdated);
  EXPECT_EQ(profile.profile, "Disabled");
  EXPECT_EQ(profile.profile_status, "Disable");
  EXPECT_FALSE(profile.eid.has_value());
  EXPECT_EQ(profile.ObservedAt(), ParseIso8601("2026-09-13T15:05:00Z"));
}

TEST(WebhookEventTest, NullsAreAbsentValues) {
  const WebhookEvent event = Parse(R"({"event": "esim.status.changed", "timestamp": null,
    "data": {"iccid": "8948010010092445039", "esim_id": null, "new_status": "ACTIVE",
             "changed_at": null, "expiry_date": null}})");
  EXPECT_FALSE(event.esim_id.has_value());
  EXPECT_FALSE(event.expiry_time.has_value());
  EXPECT_FALSE(event.ObservedAt().has_value());
}

TEST(WebhookEventTest, ProvisionedIsNeverReadBeyondItsName) {
  // Its data would not even parse as an eSIM event: the parser does not look at it.
  const WebhookEvent event = Parse(R"({"event": "esim.provisioned",
    "data": {"iccid": 12, "lpa_string": "LPA:1$secret", "qr_code_url": "https://x/secret"}})");
  EXPECT_EQ(event.type, WebhookEventType::kProvisioned);
  EXPECT_TRUE(event.iccid.empty());
}

TEST(WebhookEventTest, UnknownEventsParseAsUnknownWithTheirName) {
  const WebhookEvent event = Parse(R"({"event": "order.completed", "data": null})");
  EXPECT_EQ(event.type, WebhookEventType::kUnknown);
  EXPECT_EQ(event.name, "order.completed");
  EXPECT_EQ(EventLabel("order.completed"), "other");
  EXPECT_EQ(EventLabel("esim.installed"), "esim.installed");
  EXPECT_EQ(EventLabel(std::string(300, 'x')), "other");
}

TEST(WebhookEventTest, GarbageIsMalformed) {
  EXPECT_EQ(ParseError(""), "the body is not JSON");
  EXPECT_EQ(ParseError("{"), "the body is not JSON");
  EXPECT_EQ(ParseError("\xff\xfe"), "the body is not JSON");
  EXPECT_EQ(ParseError("[1,2]"), "the body is not a JSON object");
  EXPECT_EQ(ParseError("{}"), "event is missing");
  EXPECT_EQ(ParseError(R"({"event": 5})"), "event is not a string");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed"})"), "data is not an object");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {}})"),
            "data has neither iccid nor esim_id");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"iccid": "89x"}})"),
            "data.iccid is not an ICCID");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"esim_id": "5"}})"),
            "data.esim_id is not a whole number");
  // Found by tests/fuzz/fuzz_webhook_event.cc: 2^64 - 1 was read as esim_id -1.
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"esim_id": 18446744073709551615}})"),
            "data.esim_id is out of range");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"esim_id": 9223372036854775808}})"),
            "data.esim_id is out of range");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"esim_id": 0}})"),
            "data.esim_id is out of range");
  EXPECT_EQ(ParseError(R"({"event": "esim.installed", "data": {"esim_id": -5}})"),
            "data.esim_id is out of range");
  EXPECT_EQ(
      Parse(R"({"event": "esim.installed", "data": {"esim_id": 9223372036854775807}})").esim_id,
      INT64_MAX);
  EXPECT_EQ(ParseError(R"({"event": "esim.usage.threshold",
    "data": {"esim_id": 5, "used_gb": "lots"}})"),
            "used_gb is not a number");
  EXPECT_EQ(ParseError(R"({"event": "esim.usage.threshold",
    "data": {"esim_id": 5, "used_gb": -1}})"),
            "used_gb is out of range");
  EXPECT_EQ(ParseError(R"({"event": "esim.status.changed",
    "data": {"esim_id": 5, "changed_at": "yesterday"}})"),
            "changed_at is not an ISO 8601 time");
  EXPECT_EQ(ParseError(R"({"event": "esim.status.changed", "timestamp": 17})"),
            "timestamp is not a string");
}

}  // namespace
}  // namespace esim
