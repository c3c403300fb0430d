#include "webhook_subscription.h"

#include <algorithm>
#include <array>
#include <set>

namespace esim {
namespace {

// The vendor's documented events (order.completed is reserved): always exported, 0 or 1, so
// that a missing one shows as 0 rather than as no series.
constexpr std::array<std::string_view, 6> kDocumentedEvents = {
    "esim.usage.threshold", "esim.status.changed", "esim.installed",
    "esim.profile.updated", "esim.provisioned",    "order.completed"};

// An undocumented name becomes a label value only when it looks like an event name.
bool IsEventName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::string_view TrimOneSlash(std::string_view url) {
  if (url.ends_with('/')) url.remove_suffix(1);
  return url;
}

}  // namespace

WebhookSubscriptionHealth SummarizeSubscription(const WebhookSubscription& subscription) {
  WebhookSubscriptionHealth health;
  health.url = subscription.url;
  const std::set<std::string> subscribed(subscription.events.begin(), subscription.events.end());
  for (const std::string_view event : kDocumentedEvents) {
    health.events[std::string(event)] = subscribed.contains(std::string(event));
  }
  // Others, subscribed or available, in the vendor's order, up to the bound.
  size_t others = 0;
  const auto add_other = [&](const std::string& event) {
    if (others >= kMaxUndocumentedEvents || !IsEventName(event) || health.events.contains(event)) {
      return;
    }
    health.events[event] = subscribed.contains(event);
    ++others;
  };
  for (const std::string& event : subscription.events) add_other(event);
  for (const std::string& event : subscription.available_events) add_other(event);

  for (const WebhookSubscription::Delivery& delivery : subscription.recent_deliveries) {
    if (delivery.status == "delivered") {
      ++health.delivered;
    } else if (delivery.status == "failed") {
      ++health.failed;
      if (delivery.last_attempt &&
          (!health.newest_failure_time || *delivery.last_attempt > *health.newest_failure_time)) {
        health.newest_failure_time = delivery.last_attempt;
      }
    } else {
      ++health.other;
    }
  }
  return health;
}

bool PointsAt(const std::optional<std::string>& key_url, std::string_view public_url) {
  if (!key_url || key_url->empty()) return false;
  return TrimOneSlash(*key_url) == TrimOneSlash(public_url);
}

std::string UrlForLog(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = url.find("://");
  const size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t path = url.find('/', host);
  const size_t at = url.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
}

}  // namespace esim
