// --webhook.show's text: every part of the subscription, nothing that could drive a terminal.
#include "webhook_show.h"

#include <gtest/gtest.h>

namespace esim {
namespace {

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
  EXPECT_NE(text.find("url:               https://orders.example.com/esimfly  (NOT "
                      "webhook.public_url https://esim.example.com/webhook)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("events:            esim.provisioned\n"), std::string::npos) << text;
  EXPECT_NE(text.find("available events:  esim.installed, esim.provisioned\n"), std::string::npos);
  EXPECT_NE(text.find("    whd_2  esim.status.changed  failed  attempts 5  last attempt "
                      "2026-06-26 14:00:00 UTC  delivered -  order ORD-2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(FormatWebhookSubscription(Sample(), "https://orders.example.com/esimfly/")
                .find("(this exporter: webhook.public_url)"),
            std::string::npos);
  EXPECT_EQ(FormatWebhookSubscription(Sample(), "").find("public_url"), std::string::npos);
}

TEST(WebhookShowTest, NoSubscriptionAndHostileTextArePrintedSafely) {
  WebhookSubscription empty;
  const std::string none = FormatWebhookSubscription(empty, "https://esim.example.com/webhook");
  EXPECT_NE(none.find("url:               (none)  (NOT"), std::string::npos) << none;
  EXPECT_NE(none.find("events:            (none)\n"), std::string::npos);
  EXPECT_NE(none.find("recent deliveries: 0\n"), std::string::npos);
  WebhookSubscription hostile = Sample();
  hostile.url = "https://x.example/\x1b]0;owned\x07\n";
  hostile.recent_deliveries[0].event = "\x1b[2J";
  const std::string text = FormatWebhookSubscription(hostile, "");
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_NE(text.find("https://x.example/?]0;owned??\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace esim
