// libFuzzer target for the webhook event parser: the input's first line is the unsigned
// X-Webhook-Event header (named before the body is authenticated), the rest is the delivery's
// body. Neither may make the parser throw or crash; what it answers must hold the invariants
// the receiver and the metrics rely on (bounded UTF-8 label values, documented event labels,
// an ICCID of digits, finite non-negative amounts, an error that never quotes the body). A parsed
// event is then applied to a StateStore, as the receiver does, so mutations reach the merge.
//
// Run by scripts/fuzz.sh; replay an input: build/fuzz/tests/fuzz/fuzz_webhook_event FILE
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "state_store.h"
#include "webhook_event.h"

namespace {

constexpr double kNow = 1782484480.0;  // 2026-06-26T14:34:40Z, as in the unit tests
constexpr size_t kMaxTextBytes = 256;  // the parser's bound on strings (label values)

void Require(bool condition) {
  if (!condition) std::abort();
}

// nlohmann's serializer checks UTF-8 on its own path, apart from the parser's lexer.
bool IsUtf8(std::string_view text) {
  try {
    (void)nlohmann::json(std::string(text)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

void RequireText(std::string_view text) { Require(text.size() <= kMaxTextBytes && IsUtf8(text)); }

void RequireOptionalText(const std::optional<std::string>& text) {
  if (text) RequireText(*text);
}

void RequireAmount(const std::optional<double>& value) {
  if (value) Require(std::isfinite(*value) && *value >= 0);
}

void RequireTime(const std::optional<double>& time) {
  if (time) Require(std::isfinite(*time));
}

// The label is one of the documented names or "other", and agrees with the type.
void RequireLabel(std::string_view name) {
  const std::string_view label = esim::EventLabel(name);
  const esim::WebhookEventType type = esim::EventType(name);
  if (label == "other") {
    Require(type == esim::WebhookEventType::kUnknown);
  } else {
    Require(label == name && type != esim::WebhookEventType::kUnknown);
  }
}

void CheckEvent(const esim::WebhookEvent& event) {
  Require(!event.name.empty());
  RequireText(event.name);
  RequireLabel(event.name);
  Require(event.type == esim::EventType(event.name));
  RequireTime(event.created_at);
  RequireTime(event.ObservedAt());
  const bool esim_event = event.type != esim::WebhookEventType::kProvisioned &&
                          event.type != esim::WebhookEventType::kUnknown;
  if (!esim_event) {
    // Never read beyond the name: esim.provisioned's body holds install secrets.
    Require(event.iccid.empty() && !event.esim_id && event.package_code.empty());
    return;
  }
  Require(!event.iccid.empty() || event.esim_id.has_value());
  Require(event.iccid.size() <= 22);
  if (event.esim_id) Require(*event.esim_id >= 1);  // as the config's: a positive whole number
  for (char c : event.iccid) Require(c >= '0' && c <= '9');
  for (const std::string* text : {&event.package_code, &event.old_status, &event.new_status}) {
    RequireText(*text);
  }
  for (const auto* text : {&event.eid, &event.imsi, &event.profile, &event.profile_status}) {
    RequireOptionalText(*text);
  }
  RequireAmount(event.used_bytes);
  RequireAmount(event.total_bytes);
  RequireAmount(event.remaining_bytes);
  if (event.threshold_remaining_mb) Require(*event.threshold_remaining_mb >= 0);
  for (const auto* time :
       {&event.reported_at, &event.changed_at, &event.expiry_time, &event.installed_at}) {
    RequireTime(*time);
  }
}

// What the receiver does with an event whose signature held.
void Apply(const esim::WebhookEvent& event) {
  if (event.type == esim::WebhookEventType::kProvisioned ||
      event.type == esim::WebhookEventType::kUnknown) {
    return;
  }
  esim::StateStore store;
  esim::DiscoveryRules discovery;
  discovery.enabled = true;
  store.SetWebhookEnabled(true);
  const auto outcome = store.RecordEvent(event, event.ObservedAt().value_or(kNow), kNow, discovery);
  store.RecordDelivery(esim::EventLabel(event.name), outcome.applied ? "applied" : "unknown_esim",
                       kNow);
  Require(store.Snapshot() != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view header = newline == std::string_view::npos ? "" : input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  RequireLabel(header);
  const esim::WebhookParseResult parsed = esim::ParseWebhookEvent(body);
  if (parsed.event) {
    Require(parsed.error.empty());
    CheckEvent(*parsed.event);
    Apply(*parsed.event);
  } else {
    // A fixed sentence naming at most a field: never a value from the body.
    Require(!parsed.error.empty() && parsed.error.size() < 64);
    for (char c : parsed.error) Require(c >= 0x20 && c < 0x7F);
  }
  return 0;
}
