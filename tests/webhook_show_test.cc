// --webhook.show's text: every part of the subscription, nothing that could drive a terminal.
#include "webhook_show.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

WebhookSubscription Sample() {
  WebhookSubscription subscription;
  subscription.url = "https://orders.example.com/esimfly";
  subscription.events = {"esim.provisioned"};
  subscription.available_events = {"esim.installed", "esim.provisioned"};
  WebhookSubscription::Delivery& failed = subscription.recent_deliveries.emplace_back();
  failed.id = "whd_2";
  failed.event = "esim.status.changed";
  failed.status = "failed";
  failed.attempts = 5;
  failed.last_attempt = 1782482400;
  failed.order_reference = "ORD-2";
  return subscription;
}

TEST(WebhookShowTest, PrintsTheSubscriptionAndWhetherItPointsHere) {
  const std::string text = FormatWebhookSubscription(Sample(), "https://esim.example.com/webhook");
  EXPECT_THAT(text, HasSubstr("url:               https://orders.example.com/esimfly  (NOT "
                              "webhook.public_url https://esim.example.com/webhook)\n"));
  EXPECT_THAT(text, HasSubstr("events:            esim.provisioned\n"));
  EXPECT_THAT(text, HasSubstr("available events:  esim.installed, esim.provisioned\n"));
  EXPECT_THAT(text, HasSubstr("    whd_2  esim.status.changed  failed  attempts 5  last attempt "
                              "2026-06-26 14:00:00 UTC  delivered -  order ORD-2\n"));
  EXPECT_THAT(FormatWebhookSubscription(Sample(), "https://orders.example.com/esimfly/"),
              HasSubstr("(this exporter: webhook.public_url)"));
  EXPECT_THAT(FormatWebhookSubscription(Sample(), ""), Not(HasSubstr("public_url")));
}

TEST(WebhookShowTest, NoSubscriptionAndHostileTextArePrintedSafely) {
  WebhookSubscription empty;
  const std::string none = FormatWebhookSubscription(empty, "https://esim.example.com/webhook");
  EXPECT_THAT(none, HasSubstr("url:               (none)  (NOT"));
  EXPECT_THAT(none, HasSubstr("events:            (none)\n"));
  EXPECT_THAT(none, HasSubstr("recent deliveries: 0\n"));
  WebhookSubscription hostile = Sample();
  hostile.url = "https://x.example/\x1b]0;owned\x07\n";
  hostile.recent_deliveries[0].event = "\x1b[2J";
  const std::string text = FormatWebhookSubscription(hostile, "");
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("\x07")));
  EXPECT_THAT(text, HasSubstr("https://x.example/?]0;owned??\n"));
}

}  // namespace
}  // namespace esim
