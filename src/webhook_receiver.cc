#include "webhook_receiver.h"

#include <algorithm>
#include <optional>

#include "iso8601.h"
#include "webhook_event.h"
#include "webhook_signature.h"

namespace esim {
namespace {

constexpr size_t kMaxDeliveryIdBytes = 128;

WebhookAnswer Answer(int status, std::string_view outcome, std::string_view event_label,
                     std::string_view body) {
  return WebhookAnswer{status, std::string(outcome), std::string(event_label),
                       std::string(body) + "\n", ""};
}

bool PrintableId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeliveryIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

}  // namespace

WebhookReceiver::WebhookReceiver(StateStore& store, DeliveryIdSet& delivery_ids,
                                 std::function<void(const std::string& key)> poll_soon)
    : store_(store), ids_(delivery_ids), poll_soon_(std::move(poll_soon)) {}

void WebhookReceiver::Configure(WebhookReceiverSettings settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  settings_ = std::move(settings);
}

WebhookAnswer WebhookReceiver::Handle(const WebhookRequest& request, double now) {
  WebhookAnswer answer = Decide(request, now);
  store_.RecordDelivery(answer.event_label, answer.outcome, now);
  return answer;
}

WebhookAnswer WebhookReceiver::Decide(const WebhookRequest& request, double now) {
  // Before the body is authenticated, only the unsigned header names the event.
  const std::string_view header_label = EventLabel(request.event);
  if (request.body_size > kMaxWebhookBodyBytes || request.body.size() > kMaxWebhookBodyBytes) {
    return Answer(413, "too_large", header_label, "payload too large");
  }
  Secret secret;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    secret = settings_.secret;
  }
  // The HMAC runs outside the lock: deliveries are verified in parallel.
  if (!VerifyWebhookSignature(secret.Reveal(), request.body, request.signature)) {
    return Answer(401, "invalid_signature", header_label, "invalid signature");
  }
  const WebhookParseResult parsed = ParseWebhookEvent(request.body);
  const std::string_view label = parsed.event ? EventLabel(parsed.event->name) : header_label;
  if (!PrintableId(request.id)) {
    return Answer(400, "malformed", label, "missing or invalid X-Webhook-Id");
  }
  const std::optional<double> header_time = ParseIso8601(request.timestamp);
  if (!header_time)
    return Answer(400, "malformed", label, "missing or invalid X-Webhook-Timestamp");

  std::lock_guard<std::mutex> lock(mutex_);
  ids_.Expire(now);
  if (ids_.Contains(std::string(request.id))) {
    return Answer(200, "duplicate", label, "duplicate delivery, already received");
  }
  // The header is not signed; the body's timestamp is: both must be recent.
  const double max_age = settings_.max_age_seconds;
  const auto stale = [&](double created) {
    return now - created > max_age || created - now > kMaxWebhookFutureSeconds;
  };
  if (stale(*header_time) ||
      (parsed.event && parsed.event->created_at && stale(*parsed.event->created_at))) {
    return Answer(400, "stale", label, "delivery too old (or from the future)");
  }
  if (!parsed.event) return Answer(400, "malformed", label, "malformed body");
  const WebhookEvent& event = *parsed.event;
  std::string outcome = "ignored";
  std::string added_key;
  if (event.type != WebhookEventType::kProvisioned && event.type != WebhookEventType::kUnknown) {
    const double observed = event.ObservedAt().value_or(*header_time);
    const StateStore::EventOutcome applied =
        store_.RecordEvent(event, observed, now, settings_.discovery);
    if (!applied.applied) {
      outcome = "unknown_esim";
    } else {
      outcome = "applied";
      if (applied.added) added_key = applied.key;
      if (poll_soon_ && (event.type == WebhookEventType::kUsageThreshold ||
                         event.type == WebhookEventType::kStatusChanged)) {
        poll_soon_(applied.key);
      }
    }
  }
  ids_.Insert(std::string(request.id), now);
  WebhookAnswer answer = Answer(200, outcome, label, outcome == "applied" ? "applied" : "received");
  answer.added_key = std::move(added_key);
  return answer;
}

}  // namespace esim
