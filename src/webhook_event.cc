#include "webhook_event.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "json_fields.h"

namespace esim {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<std::string_view, WebhookEventType>, 5> kEvents = {{
    {"esim.usage.threshold", WebhookEventType::kUsageThreshold},
    {"esim.status.changed", WebhookEventType::kStatusChanged},
    {"esim.installed", WebhookEventType::kInstalled},
    {"esim.profile.updated", WebhookEventType::kProfileUpdated},
    {"esim.provisioned", WebhookEventType::kProvisioned},
}};

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void ParseEsimFields(const json& data, WebhookEvent& event) {
  event.iccid = OptionalText(data, "iccid").value_or("");
  if (!event.iccid.empty() && (!AllDigits(event.iccid) || event.iccid.size() > 22)) {
    throw JsonWrongShape{"data.iccid is not an ICCID"};
  }
  if (const auto it = data.find("esim_id"); it != data.end() && !it->is_null()) {
    if (!it->is_number_integer()) throw JsonWrongShape{"data.esim_id is not a whole number"};
    // get<int64_t> would wrap an id above INT64_MAX to a negative one; ids are positive (as the
    // config requires), so anything else names no eSIM.
    const bool positive =
        it->is_number_unsigned()
            ? it->get<uint64_t>() >= 1 && it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
            : it->get<int64_t>() >= 1;
    if (!positive) throw JsonWrongShape{"data.esim_id is out of range"};
    event.esim_id = it->get<int64_t>();
  }
  if (event.iccid.empty() && !event.esim_id) {
    throw JsonWrongShape{"data has neither iccid nor esim_id"};
  }
  event.package_code = OptionalText(data, "package_code").value_or("");
  switch (event.type) {
    case WebhookEventType::kUsageThreshold: {
      event.used_bytes = OptionalGigabytes(data, "used_gb");
      event.total_bytes = OptionalGigabytes(data, "total_gb");
      event.remaining_bytes = OptionalGigabytes(data, "remaining_gb");
      if (const auto mb = OptionalAmount(data, "threshold_remaining_mb")) {
        event.threshold_remaining_mb = static_cast<int64_t>(*mb);
      }
      event.reported_at = OptionalTime(data, "reported_at");
      if (!event.used_bytes && event.total_bytes && event.remaining_bytes) {
        event.used_bytes = std::max(0.0, *event.total_bytes - *event.remaining_bytes);
      }
      break;
    }
    case WebhookEventType::kStatusChanged:
      event.old_status = OptionalText(data, "old_status").value_or("");
      event.new_status = OptionalText(data, "new_status").value_or("");
      event.changed_at = OptionalTime(data, "changed_at");
      event.expiry_time = OptionalTime(data, "expiry_date");
      break;
    case WebhookEventType::kInstalled:
      event.eid = OptionalText(data, "eid");
      event.imsi = OptionalText(data, "imsi");
      event.installed_at = OptionalTime(data, "installed_at");
      break;
    case WebhookEventType::kProfileUpdated:
      event.eid = OptionalText(data, "eid");
      event.imsi = OptionalText(data, "imsi");
      event.profile = OptionalText(data, "profile");
      event.profile_status = OptionalText(data, "profile_status");
      event.changed_at = OptionalTime(data, "changed_at");
      break;
    default:
      break;
  }
}

}  // namespace

WebhookEventType EventType(std::string_view name) {
  for (const auto& [known, type] : kEvents) {
    if (known == name) return type;
  }
  return WebhookEventType::kUnknown;
}

std::string_view EventLabel(std::string_view name) {
  for (const auto& [known, type] : kEvents) {
    if (known == name) return known;
  }
  return "other";
}

std::optional<double> WebhookEvent::ObservedAt() const {
  switch (type) {
    case WebhookEventType::kUsageThreshold:
      if (reported_at) return reported_at;
      break;
    case WebhookEventType::kStatusChanged:
    case WebhookEventType::kProfileUpdated:
      if (changed_at) return changed_at;
      break;
    case WebhookEventType::kInstalled:
      if (installed_at) return installed_at;
      break;
    default:
      break;
  }
  return created_at;
}

WebhookParseResult ParseWebhookEvent(std::string_view body) {
  WebhookParseResult result;
  const json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    result.error = "the body is not JSON";
    return result;
  }
  if (!root.is_object()) {
    result.error = "the body is not a JSON object";
    return result;
  }
  try {
    WebhookEvent event;
    const auto name = OptionalText(root, "event");
    if (!name || name->empty()) throw JsonWrongShape{"event is missing"};
    event.name = *name;
    event.type = EventType(event.name);
    event.created_at = OptionalTime(root, "timestamp");
    // esim.provisioned carries install secrets and unknown events are not ours to read.
    if (event.type != WebhookEventType::kProvisioned && event.type != WebhookEventType::kUnknown) {
      const auto data = root.find("data");
      if (data == root.end() || !data->is_object()) throw JsonWrongShape{"data is not an object"};
      ParseEsimFields(*data, event);
    }
    result.event = std::move(event);
  } catch (const JsonWrongShape& wrong) {
    result.error = wrong.what;
  } catch (const json::exception&) {
    result.error = "a field has the wrong type";
  }
  return result;
}

}  // namespace esim
