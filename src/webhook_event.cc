#include "webhook_event.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "iso8601.h"

namespace esim {
namespace {

using nlohmann::json;

constexpr double kBytesPerGb = 1024.0 * 1024.0 * 1024.0;
constexpr size_t kMaxTextBytes = 256;  // values may become label values: bounded

constexpr std::array<std::pair<std::string_view, WebhookEventType>, 5> kEvents = {{
    {"esim.usage.threshold", WebhookEventType::kUsageThreshold},
    {"esim.status.changed", WebhookEventType::kStatusChanged},
    {"esim.installed", WebhookEventType::kInstalled},
    {"esim.profile.updated", WebhookEventType::kProfileUpdated},
    {"esim.provisioned", WebhookEventType::kProvisioned},
}};

struct WrongShape {
  std::string what;
};

std::optional<std::string> Text(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw WrongShape{std::string(key) + " is not a string"};
  std::string text = it->get<std::string>();
  if (text.size() > kMaxTextBytes) {
    size_t size = kMaxTextBytes;
    while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) --size;
    text.resize(size);
  }
  return text;
}

std::optional<double> Time(const json& object, const char* key) {
  const auto text = Text(object, key);
  if (!text) return std::nullopt;
  const auto time = ParseIso8601(*text);
  if (!time) throw WrongShape{std::string(key) + " is not an ISO 8601 time"};
  return time;
}

std::optional<double> Number(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw WrongShape{std::string(key) + " is not a number"};
  const double value = it->get<double>();
  if (!std::isfinite(value) || value < 0 || value > 1e12) {
    throw WrongShape{std::string(key) + " is out of range"};
  }
  return value;
}

std::optional<double> Gigabytes(const json& object, const char* key) {
  const auto gb = Number(object, key);
  if (!gb) return std::nullopt;
  return *gb * kBytesPerGb;
}

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void ParseEsimFields(const json& data, WebhookEvent& event) {
  event.iccid = Text(data, "iccid").value_or("");
  if (!event.iccid.empty() && (!AllDigits(event.iccid) || event.iccid.size() > 22)) {
    throw WrongShape{"data.iccid is not an ICCID"};
  }
  if (const auto it = data.find("esim_id"); it != data.end() && !it->is_null()) {
    if (!it->is_number_integer()) throw WrongShape{"data.esim_id is not a whole number"};
    event.esim_id = it->get<int64_t>();
  }
  if (event.iccid.empty() && !event.esim_id) {
    throw WrongShape{"data has neither iccid nor esim_id"};
  }
  event.package_code = Text(data, "package_code").value_or("");
  switch (event.type) {
    case WebhookEventType::kUsageThreshold: {
      event.used_bytes = Gigabytes(data, "used_gb");
      event.total_bytes = Gigabytes(data, "total_gb");
      event.remaining_bytes = Gigabytes(data, "remaining_gb");
      if (const auto mb = Number(data, "threshold_remaining_mb")) {
        event.threshold_remaining_mb = static_cast<int64_t>(*mb);
      }
      event.reported_at = Time(data, "reported_at");
      if (!event.used_bytes && event.total_bytes && event.remaining_bytes) {
        event.used_bytes = std::max(0.0, *event.total_bytes - *event.remaining_bytes);
      }
      break;
    }
    case WebhookEventType::kStatusChanged:
      event.old_status = Text(data, "old_status").value_or("");
      event.new_status = Text(data, "new_status").value_or("");
      event.changed_at = Time(data, "changed_at");
      event.expiry_time = Time(data, "expiry_date");
      break;
    case WebhookEventType::kInstalled:
      event.eid = Text(data, "eid");
      event.imsi = Text(data, "imsi");
      event.installed_at = Time(data, "installed_at");
      break;
    case WebhookEventType::kProfileUpdated:
      event.eid = Text(data, "eid");
      event.imsi = Text(data, "imsi");
      event.profile = Text(data, "profile");
      event.profile_status = Text(data, "profile_status");
      event.changed_at = Time(data, "changed_at");
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
    const auto name = Text(root, "event");
    if (!name || name->empty()) throw WrongShape{"event is missing"};
    event.name = *name;
    event.type = EventType(event.name);
    event.created_at = Time(root, "timestamp");
    // esim.provisioned carries install secrets and unknown events are not ours to read.
    if (event.type != WebhookEventType::kProvisioned && event.type != WebhookEventType::kUnknown) {
      const auto data = root.find("data");
      if (data == root.end() || !data->is_object()) throw WrongShape{"data is not an object"};
      ParseEsimFields(*data, event);
    }
    result.event = std::move(event);
  } catch (const WrongShape& wrong) {
    result.error = wrong.what;
  } catch (const json::exception&) {
    result.error = "a field has the wrong type";
  }
  return result;
}

}  // namespace esim
