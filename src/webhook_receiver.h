// The eSIMfly webhook receiver's logic (docs/contract.md, "Webhooks"), apart from HTTP: one
// delivery's headers and raw body in, the status to answer and the outcome to count out.
// Order of the checks: size (413, nothing read), signature over the raw body (401, nothing
// else read), delivery id and timestamps (400 / stale), duplicate (200, not applied again),
// body (400 when malformed), then the event is applied to the StateStore in memory: no API
// call happens on the request's thread, so every answer is immediate.
// Thread safe: Handle and Configure may be called from any thread.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.h"
#include "delivery_ids.h"
#include "state_store.h"

namespace esim {

inline constexpr size_t kMaxWebhookBodyBytes = 64 * 1024;
// A delivery created this far in the future is refused like a stale one (clock skew allowed).
inline constexpr double kMaxWebhookFutureSeconds = 300;

struct WebhookRequest {
  std::string_view signature;  // X-Webhook-Signature
  std::string_view timestamp;  // X-Webhook-Timestamp
  std::string_view id;         // X-Webhook-Id
  std::string_view event;      // X-Webhook-Event (unsigned: only a label before the body is read)
  std::string_view body;       // the raw bytes
  size_t body_size = 0;        // the announced or received size (the body may be cut off)
  std::string_view path = {};  // the receiver path it came to: which account it is for
};

struct WebhookAnswer {
  int status = 200;
  std::string outcome;      // applied, duplicate, invalid_signature, stale, malformed, ...
  std::string event_label;  // EventLabel() of the event
  std::string body;         // a short text for the sender; never echoes the input
  std::string added_key;    // EsimConfig::Key() of the eSIM discovery added for it, if any
};

struct WebhookReceiverSettings {
  Secret secret;
  double max_age_seconds = 3600;
  DiscoveryRules discovery;  // discovery on: an unmonitored eSIM is added, else unknown_esim
};

class WebhookReceiver {
 public:
  // `poll_soon(key)`: asks the poller for one live read of the eSIM (reconciliation after an
  // applied usage or status event); must not block. `delivery_ids`: the ids already received
  // (the ExporterApp's, kept in the durable state with --storage.path); must outlive this.
  WebhookReceiver(StateStore& store, DeliveryIdSet& delivery_ids,
                  std::function<void(const std::string& key)> poll_soon);

  void Configure(WebhookReceiverSettings settings);

  // `now`: Unix seconds. Counts the delivery in the store (esim_webhook_deliveries_total).
  WebhookAnswer Handle(const WebhookRequest& request, double now);

 private:
  WebhookAnswer Decide(const WebhookRequest& request, double now);

  StateStore& store_;
  DeliveryIdSet& ids_;  // thread safe itself; mutex_ makes check, apply and insert one step
  const std::function<void(const std::string&)> poll_soon_;
  mutable std::mutex mutex_;
  WebhookReceiverSettings settings_;  // guarded by mutex_
};

}  // namespace esim
