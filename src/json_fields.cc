#include "json_fields.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "iso8601.h"

namespace esim {
namespace {

using nlohmann::json;

constexpr double kBytesPerGb = 1024.0 * 1024.0 * 1024.0;
// Strings from outside become label values: bound them so a hostile body cannot grow memory.
constexpr size_t kMaxTextBytes = 256;

// The field, or nullptr when it is absent or null.
const json* Field(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string CutLabelText(std::string text) {
  if (text.size() > kMaxTextBytes) {
    // Cut at a character boundary: invalid UTF-8 in one label makes Prometheus drop the scrape.
    size_t size = kMaxTextBytes;
    while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) --size;
    text.resize(size);
  }
  return text;
}

std::optional<std::string> OptionalText(const json& object, const char* key) {
  const json* field = Field(object, key);
  if (field == nullptr) return std::nullopt;
  if (!field->is_string()) throw JsonWrongShape{std::string(key) + " is not a string"};
  return CutLabelText(field->get<std::string>());
}

std::optional<double> OptionalTime(const json& object, const char* key) {
  const auto text = OptionalText(object, key);
  if (!text) return std::nullopt;
  const auto time = ParseIso8601(*text);
  if (!time) throw JsonWrongShape{std::string(key) + " is not an ISO 8601 time"};
  return time;
}

std::optional<double> OptionalNumber(const json& object, const char* key) {
  const json* field = Field(object, key);
  if (field == nullptr) return std::nullopt;
  if (!field->is_number()) throw JsonWrongShape{std::string(key) + " is not a number"};
  const double value = field->get<double>();
  if (!std::isfinite(value)) throw JsonWrongShape{std::string(key) + " is out of range"};
  return value;
}

std::optional<double> OptionalAmount(const json& object, const char* key) {
  const auto value = OptionalNumber(object, key);
  if (value && (*value < 0 || *value > 1e12)) {
    throw JsonWrongShape{std::string(key) + " is out of range"};
  }
  return value;
}

std::optional<double> OptionalGigabytes(const json& object, const char* key) {
  const auto gb = OptionalAmount(object, key);
  if (!gb) return std::nullopt;
  return *gb * kBytesPerGb;
}

bool OptionalBool(const json& object, const char* key) {
  const json* field = Field(object, key);
  if (field == nullptr) return false;
  if (!field->is_boolean()) throw JsonWrongShape{std::string(key) + " is not a boolean"};
  return field->get<bool>();
}

const json* OptionalObject(const json& object, const char* key) {
  const json* field = Field(object, key);
  if (field == nullptr) return nullptr;
  if (!field->is_object()) throw JsonWrongShape{std::string(key) + " is not an object"};
  return field;
}

}  // namespace esim
