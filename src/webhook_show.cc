#include "webhook_show.h"

#include "landing_format.h"

namespace esim {
namespace {

// Control characters (ANSI escapes included) become '?'.
std::string Printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string List(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += Printable(name);
  }
  return out;
}

std::string Time(const std::optional<double>& time) {
  return time ? FormatUtcDateTime(*time) : "-";
}

}  // namespace

std::string FormatWebhookSubscription(const WebhookSubscription& subscription,
                                      const std::string& public_url) {
  std::string out = "webhook subscription of the API key\n";
  out += "  url:               " + (subscription.url && !subscription.url->empty()
                                        ? Printable(*subscription.url)
                                        : std::string("(none)"));
  if (!public_url.empty()) {
    out += PointsAt(subscription.url, public_url)
               ? "  (this exporter: webhook.public_url)"
               : "  (NOT webhook.public_url " + Printable(public_url) + ")";
  }
  out += "\n  events:            " + List(subscription.events) + "\n";
  out += "  available events:  " + List(subscription.available_events) + "\n";
  out += "  recent deliveries: " + std::to_string(subscription.recent_deliveries.size()) +
         (subscription.recent_deliveries.empty() ? "\n" : ", newest first\n");
  for (const WebhookSubscription::Delivery& delivery : subscription.recent_deliveries) {
    out += "    " + Printable(delivery.id.empty() ? "-" : delivery.id) + "  " +
           Printable(delivery.event.empty() ? "-" : delivery.event) + "  " +
           Printable(delivery.status.empty() ? "-" : delivery.status) + "  attempts " +
           std::to_string(delivery.attempts) + "  last attempt " + Time(delivery.last_attempt) +
           "  delivered " + Time(delivery.delivered_at);
    if (!delivery.order_reference.empty()) {
      out += "  order " + Printable(delivery.order_reference);
    }
    out += "\n";
  }
  return out;
}

}  // namespace esim
