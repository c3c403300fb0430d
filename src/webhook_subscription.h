// The API key's webhook subscription as GET /webhooks answers it (docs/esimfly-api.md,
// "Webhooks"), and what the exporter keeps of it: whether it points at this exporter, which
// events it carries, and how the vendor's recent deliveries went (esim_webhook_subscription_*,
// esim_webhook_subscribed, esim_webhook_recent_*). Pure functions; thread safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace esim {

// The answer, bounded by the parser (ApiClient): a hostile answer cannot grow memory.
struct WebhookSubscription {
  std::optional<std::string> url;  // null: no subscription
  std::vector<std::string> events;
  std::vector<std::string> available_events;
  struct Delivery {
    std::string id, event, order_reference;
    std::string status;  // "delivered", "failed", or whatever else the vendor says
    int64_t attempts = 0;
    std::optional<double> last_attempt, delivered_at;  // Unix seconds
  };
  std::vector<Delivery> recent_deliveries;  // newest first, as the vendor lists them
};

// Limits the parser applies.
inline constexpr size_t kMaxSubscriptionEvents = 100;  // per events / available_events list
inline constexpr size_t kMaxRecentDeliveries = 50;     // the vendor sends 10
inline constexpr size_t kMaxSubscriptionUrlBytes = 2048;

// What a successful read leaves for the metrics and the durable state.
struct WebhookSubscriptionHealth {
  // The key's URL. May be another system's (the ordering system's): compared, logged, never a
  // label value.
  std::optional<std::string> url;
  // esim_webhook_subscribed: every documented event, plus a bounded number of others the
  // vendor lists; true when subscribed.
  std::map<std::string, bool> events;
  // esim_webhook_recent_deliveries{status}: the recent deliveries by status.
  int64_t delivered = 0, failed = 0, other = 0;
  // The newest last_attempt among the failed ones; nullopt when none failed or none says.
  std::optional<double> newest_failure_time;
  bool operator==(const WebhookSubscriptionHealth&) const = default;
};

// Event names that are not documented but listed by the vendor: at most this many get series.
inline constexpr size_t kMaxUndocumentedEvents = 10;

WebhookSubscriptionHealth SummarizeSubscription(const WebhookSubscription& subscription);

// Whether the key's URL is `public_url`: an exact comparison once one trailing slash is trimmed
// from each. False when the key has no URL.
bool PointsAt(const std::optional<std::string>& key_url, std::string_view public_url);

// The key's URL as the log may show it: without user:password@, query string or fragment (the
// other system may carry a token there).
std::string UrlForLog(std::string_view url);

}  // namespace esim
