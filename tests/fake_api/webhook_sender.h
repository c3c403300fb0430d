// Webhook deliveries as the eSIMfly API sends them (POST, application/json,
// User-Agent eSIMfly-Webhook/1.0, X-Webhook-Event / -Signature / -Timestamp / -Id), and wrong
// ones on demand, for the integration tests, the load measurement and the demo.
// Like the rest of the fake, it shares no code with src/: its own HMAC and its own reading of
// the vendor's webhook documentation. Thread safe (no shared state).
#ifndef ESIM_EXPORTER_TESTS_FAKE_API_WEBHOOK_SENDER_H_
#define ESIM_EXPORTER_TESTS_FAKE_API_WEBHOOK_SENDER_H_

#include <cstdint>
#include <memory>
#include <string>

namespace httplib {
class Client;
}

namespace fake_esimfly {

// What to get wrong on purpose.
enum class WebhookFault {
  kNone,
  kBadSignature,  // the HMAC of other bytes
  kNoSignature,   // no X-Webhook-Signature header
  kStale,         // created two hours ago (timestamp header and body)
};

struct WebhookDelivery {
  std::string event;
  std::string id;         // X-Webhook-Id
  std::string timestamp;  // X-Webhook-Timestamp, ISO 8601 with milliseconds
  std::string body;       // the exact bytes signed and sent
  std::string signature;  // "sha256=" + lowercase hex; empty: header left out
};

// "sha256=" + lowercase hex HMAC-SHA256(secret, body).
std::string WebhookSignatureOf(const std::string& secret, const std::string& body);

// A fresh id: "whd_" + 24 random hex digits.
std::string NewDeliveryId();

// ISO 8601 UTC with milliseconds ("2026-09-13T15:05:20.391Z") for Unix milliseconds.
std::string IsoMillis(int64_t unix_millis);

// esim.usage.threshold for an eSIM crossing `threshold_mb` remaining: used/total in GB.
WebhookDelivery UsageThresholdDelivery(const std::string& secret, const std::string& iccid,
                                       double used_gb, double total_gb, int threshold_mb,
                                       WebhookFault fault = WebhookFault::kNone);
// esim.status.changed from `old_status` to `new_status`.
WebhookDelivery StatusChangedDelivery(const std::string& secret, const std::string& iccid,
                                      const std::string& old_status, const std::string& new_status,
                                      WebhookFault fault = WebhookFault::kNone);
// Any body, signed (or not) as `fault` says.
WebhookDelivery SignedDelivery(const std::string& secret, const std::string& event,
                               const std::string& body, WebhookFault fault = WebhookFault::kNone);

// Sends deliveries to one URL (http:// or https://, path included) over one kept-alive
// connection. `ca_file` verifies an https:// server.
class WebhookSender {
 public:
  explicit WebhookSender(const std::string& url, const std::string& ca_file = "");
  ~WebhookSender();
  // The HTTP status of the answer; 0 when none arrived.
  int Send(const WebhookDelivery& delivery);

 private:
  std::string path_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace fake_esimfly

#endif  // ESIM_EXPORTER_TESTS_FAKE_API_WEBHOOK_SENDER_H_
