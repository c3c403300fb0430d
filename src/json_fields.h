// Typed reads of optional fields of a JSON object, shared by the eSIMfly API answer parser and
// the webhook event parser. A field that is absent or null reads as "not sent"; one of another
// type throws JsonWrongShape naming the field (never its value, which may be a secret).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace esim {

// Thrown by the readers below; the parsers catch it and report `what` as the error.
struct JsonWrongShape {
  std::string what;
};

// Strings may become label values: cut to 256 bytes at a UTF-8 character boundary.
std::string CutLabelText(std::string text);
// A string field, cut like CutLabelText.
std::optional<std::string> OptionalText(const nlohmann::json& object, const char* key);
// An ISO 8601 string, as Unix seconds.
std::optional<double> OptionalTime(const nlohmann::json& object, const char* key);
// Any finite number.
std::optional<double> OptionalNumber(const nlohmann::json& object, const char* key);
// A finite number from 0 to 1e12 (an amount of data or a count, not a sign of overflow).
std::optional<double> OptionalAmount(const nlohmann::json& object, const char* key);
// An amount (OptionalAmount) of gigabytes, as bytes (GB × 1024³).
std::optional<double> OptionalGigabytes(const nlohmann::json& object, const char* key);
bool OptionalBool(const nlohmann::json& object, const char* key);  // absent: false
// A nested object, or nullptr when absent.
const nlohmann::json* OptionalObject(const nlohmann::json& object, const char* key);

}  // namespace esim
