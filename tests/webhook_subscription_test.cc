// GET /webhooks: the parser (hostile answers included) and what the exporter keeps of it.
#include "webhook_subscription.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_client.h"

namespace esim {
namespace {

using nlohmann::json;

constexpr double kNow = 1782484480.0;

HttpResponse Answer(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

ApiResult Interpret(const json& data) {
  return InterpretWebhookSubscriptionResponse(
      Answer(200, json{{"success", true}, {"data", data}}.dump()), kNow);
}

// The shape docs/esimfly-api.md describes, as the fake API answers it.
const json kExample = {{"webhook_url", "https://orders.example.com/esimfly"},
                       {"events", {"esim.provisioned", "esim.status.changed"}},
                       {"available_events",
                        {"esim.installed", "esim.profile.updated", "esim.usage.threshold",
                         "esim.status.changed", "esim.provisioned"}},
                       {"recent_deliveries",
                        {{{"id", "dlv_3"},
                          {"event", "esim.status.changed"},
                          {"order_reference", "ORD-3"},
                          {"status", "failed"},
                          {"attempts", 5},
                          {"last_attempt", "2026-06-26T14:00:00Z"},
                          {"delivered_at", nullptr}},
                         {{"id", 2},
                          {"event", "esim.provisioned"},
                          {"order_reference", nullptr},
                          {"status", "delivered"},
                          {"attempts", 1},
                          {"last_attempt", "2026-06-26T13:00:00Z"},
                          {"delivered_at", "2026-06-26T13:00:01Z"}},
                         {{"id", "dlv_1"},
                          {"event", "esim.status.changed"},
                          {"status", "failed"},
                          {"attempts", 5},
                          {"last_attempt", "2026-06-26T12:00:00Z"}},
                         {{"id", "dlv_0"}, {"event", "esim.installed"}, {"status", "pending"}}}}};

TEST(InterpretWebhookSubscriptionTest, ReadsTheDocumentedShape) {
  const ApiResult result = Interpret(kExample);
  ASSERT_EQ(result.code, "OK") << result.message;
  EXPECT_TRUE(result.api_up);
  ASSERT_TRUE(result.webhook_subscription);
  const WebhookSubscription& s = *result.webhook_subscription;
  EXPECT_EQ(s.url, "https://orders.example.com/esimfly");
  EXPECT_EQ(s.events, (std::vector<std::string>{"esim.provisioned", "esim.status.changed"}));
  EXPECT_EQ(s.available_events.size(), 5u);
  ASSERT_EQ(s.recent_deliveries.size(), 4u);
  EXPECT_EQ(s.recent_deliveries[0].id, "dlv_3");
  EXPECT_EQ(s.recent_deliveries[0].status, "failed");
  EXPECT_EQ(s.recent_deliveries[0].attempts, 5);
  EXPECT_EQ(s.recent_deliveries[0].last_attempt, 1782482400.0);
  EXPECT_FALSE(s.recent_deliveries[0].delivered_at);
  EXPECT_EQ(s.recent_deliveries[1].id, "2");  // a numeric id is kept as text
  EXPECT_EQ(s.recent_deliveries[1].delivered_at, 1782478801.0);
  EXPECT_EQ(s.recent_deliveries[3].attempts, 0);
}

TEST(InterpretWebhookSubscriptionTest, NoSubscriptionYetIsNullsAndEmptyLists) {
  const ApiResult result = Interpret(
      {{"webhook_url", nullptr}, {"events", nullptr}, {"recent_deliveries", json::array()}});
  ASSERT_EQ(result.code, "OK") << result.message;
  EXPECT_FALSE(result.webhook_subscription->url);
  EXPECT_TRUE(result.webhook_subscription->events.empty());
  EXPECT_TRUE(Interpret(json::object()).ok());
}

TEST(InterpretWebhookSubscriptionTest, WrongShapesAreInvalidResponses) {
  const std::vector<json> hostile = {
      json::array(),
      "text",
      {{"webhook_url", 5}},
      {{"webhook_url", {{"a", 1}}}},
      {{"webhook_url", "https://x/" + std::string(5000, 'a')}},
      {{"events", "esim.installed"}},
      {{"events", {"esim.installed", 7}}},
      {{"available_events", {nullptr}}},
      {{"recent_deliveries", {{"id", "x"}}}},
      {{"recent_deliveries", {"dlv_1"}}},
      {{"recent_deliveries", json::array({{{"status", 3}}})}},
      {{"recent_deliveries", json::array({{{"status", "failed"}, {"attempts", -1}}})}},
      {{"recent_deliveries", json::array({{{"status", "failed"}, {"attempts", "5"}}})}},
      {{"recent_deliveries", json::array({{{"last_attempt", "yesterday"}}})}},
      {{"recent_deliveries", json::array({{{"delivered_at", 17}}})}},
  };
  for (const json& data : hostile) {
    const ApiResult result = Interpret(data);
    EXPECT_EQ(result.code, "INVALID_RESPONSE") << data.dump();
    EXPECT_FALSE(result.api_up) << data.dump();
    EXPECT_FALSE(result.webhook_subscription) << data.dump();
  }
  // No data, not JSON, an error envelope.
  EXPECT_EQ(InterpretWebhookSubscriptionResponse(Answer(200, R"({"success":true})"), kNow).code,
            "INVALID_RESPONSE");
  EXPECT_EQ(InterpretWebhookSubscriptionResponse(Answer(200, "<html>"), kNow).code,
            "INVALID_RESPONSE");
  EXPECT_EQ(InterpretWebhookSubscriptionResponse(Answer(502, "<html>"), kNow).code, "HTTP_502");
  const ApiResult refused = InterpretWebhookSubscriptionResponse(
      Answer(401, R"({"success":false,"code":"INVALID_SIGNATURE","error":"bad"})"), kNow);
  EXPECT_EQ(refused.code, "INVALID_SIGNATURE");
  EXPECT_FALSE(refused.webhook_subscription);
}

TEST(InterpretWebhookSubscriptionTest, HugeListsAndLongNamesAreBounded) {
  json events = json::array();
  for (int i = 0; i < 5000; ++i) events.push_back("event." + std::to_string(i));
  events.push_back(std::string(10000, 'e'));
  json deliveries = json::array();
  for (int i = 0; i < 1000; ++i) {
    deliveries.push_back({{"id", std::string(1000, 'i')}, {"status", "failed"}});
  }
  const ApiResult result = Interpret(
      {{"events", events}, {"available_events", events}, {"recent_deliveries", deliveries}});
  ASSERT_EQ(result.code, "OK") << result.message;
  const WebhookSubscription& s = *result.webhook_subscription;
  EXPECT_EQ(s.events.size(), kMaxSubscriptionEvents);
  EXPECT_EQ(s.available_events.size(), kMaxSubscriptionEvents);
  ASSERT_EQ(s.recent_deliveries.size(), kMaxRecentDeliveries);
  EXPECT_LE(s.recent_deliveries[0].id.size(), 256u);

  const WebhookSubscriptionHealth health = SummarizeSubscription(s);
  EXPECT_EQ(health.events.size(), 6u + kMaxUndocumentedEvents);
  EXPECT_EQ(health.failed, static_cast<int64_t>(kMaxRecentDeliveries));
}

TEST(SummarizeSubscriptionTest, EventsAndDeliveriesByStatus) {
  const WebhookSubscriptionHealth health =
      SummarizeSubscription(*Interpret(kExample).webhook_subscription);
  EXPECT_EQ(health.url, "https://orders.example.com/esimfly");
  // Every documented event, subscribed or not; nothing else was listed.
  EXPECT_EQ(health.events, (std::map<std::string, bool>{{"esim.installed", false},
                                                        {"esim.profile.updated", false},
                                                        {"esim.provisioned", true},
                                                        {"esim.status.changed", true},
                                                        {"esim.usage.threshold", false},
                                                        {"order.completed", false}}));
  EXPECT_EQ(health.delivered, 1);
  EXPECT_EQ(health.failed, 2);
  EXPECT_EQ(health.other, 1);
  EXPECT_EQ(health.newest_failure_time, 1782482400.0);
}

TEST(SummarizeSubscriptionTest, UndocumentedEventsOnlyWhenTheyLookLikeNames) {
  WebhookSubscription subscription;
  subscription.events = {"esim.future", "Bad Name\"}", ""};
  subscription.available_events = {"esim.other_future", "esim.future"};
  const WebhookSubscriptionHealth health = SummarizeSubscription(subscription);
  EXPECT_EQ(health.events.at("esim.future"), true);
  EXPECT_EQ(health.events.at("esim.other_future"), false);
  EXPECT_FALSE(health.events.contains("Bad Name\"}"));
  EXPECT_FALSE(health.events.contains(""));
  EXPECT_EQ(health.events.size(), 8u);
  EXPECT_FALSE(health.newest_failure_time);
}

TEST(PointsAtTest, ExactAfterOneTrailingSlash) {
  const std::string here = "https://esim.example.com/webhook";
  EXPECT_TRUE(PointsAt(here, here));
  EXPECT_TRUE(PointsAt(here + "/", here));
  EXPECT_TRUE(PointsAt(here, here + "/"));
  EXPECT_FALSE(PointsAt("https://orders.example.com/esimfly", here));
  EXPECT_FALSE(PointsAt("https://ESIM.example.com/webhook", here));
  EXPECT_FALSE(PointsAt(here + "//", here));
  EXPECT_FALSE(PointsAt(std::nullopt, here));
  EXPECT_FALSE(PointsAt(std::string(), ""));
}

TEST(UrlForLogTest, DropsCredentialsQueryAndFragment) {
  EXPECT_EQ(UrlForLog("https://orders.example.com/esimfly"), "https://orders.example.com/esimfly");
  EXPECT_EQ(UrlForLog("https://orders.example.com/esimfly?token=abc#x"),
            "https://orders.example.com/esimfly");
  EXPECT_EQ(UrlForLog("https://user:pw@orders.example.com/a@b"), "https://orders.example.com/a@b");
  EXPECT_EQ(UrlForLog("https://user:pw@orders.example.com"), "https://orders.example.com");
  EXPECT_EQ(UrlForLog(""), "");
}

}  // namespace
}  // namespace esim
