// One eSIMfly webhook delivery's body, parsed into a typed value (docs/esimfly-api.md,
// "Webhooks"). Every event has the same envelope {"event", "timestamp", "data"}; data carries
// the eSIM's identifiers and the event's own fields. The body of `esim.provisioned` holds
// install secrets (QR code, LPA string, install URLs): it is never read beyond its name.
// Pure functions; thread safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace esim {

enum class WebhookEventType {
  kUsageThreshold,  // esim.usage.threshold
  kStatusChanged,   // esim.status.changed
  kInstalled,       // esim.installed
  kProfileUpdated,  // esim.profile.updated
  kProvisioned,     // esim.provisioned: ignored
  kUnknown,         // anything else (order.completed, future events): ignored
};

// The event name as a label value: one of the documented names, else "other", so that a
// sender cannot grow esim_webhook_deliveries_total's series with made-up names.
std::string_view EventLabel(std::string_view name);
WebhookEventType EventType(std::string_view name);

struct WebhookEvent {
  WebhookEventType type = WebhookEventType::kUnknown;
  std::string name;                  // the body's "event"
  std::optional<double> created_at;  // the envelope's "timestamp", Unix seconds

  // On every eSIM event (not read for kProvisioned / kUnknown). At least one of the two ids.
  std::string iccid;
  std::optional<int64_t> esim_id;
  std::string package_code;

  // esim.usage.threshold: bytes (GB × 1024³); total absent when not sent.
  std::optional<double> used_bytes, total_bytes, remaining_bytes;
  std::optional<int64_t> threshold_remaining_mb;
  std::optional<double> reported_at;

  // esim.status.changed
  std::string old_status, new_status;
  std::optional<double> changed_at;  // also esim.profile.updated's
  std::optional<double> expiry_time;

  // esim.installed, esim.profile.updated. EID and IMSI are personal data: exported only when
  // the config opts in.
  std::optional<std::string> eid, imsi;
  std::optional<double> installed_at;
  std::optional<std::string> profile, profile_status;

  // When the event observed what it reports: its own time field (reported_at, changed_at,
  // installed_at), else the envelope's timestamp; nullopt when neither is sent.
  std::optional<double> ObservedAt() const;
};

struct WebhookParseResult {
  std::optional<WebhookEvent> event;  // set when the body is well formed
  std::string error;                  // else what is wrong (a field name, never a value)
};

WebhookParseResult ParseWebhookEvent(std::string_view body);

}  // namespace esim
