// The config file's values read as plain text, without YAML or positions: durations, numbers,
// ports, ICCIDs, label names. Pure functions, so each rule is testable on its own; the config
// loader (config.cc) turns a refusal into a message with FILE:LINE:COL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace esim {

// True when `text` is one or more ASCII digits.
bool AllDigits(std::string_view text);

// Parses "90s", "15m", "1h30m", "250ms", "2d" (units largest first, each at most once), or a
// bare "0". Returns nullopt when malformed or too large.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "90m" reads back as "1h30m": durations in messages, including defaults.
std::string FormatDuration(std::chrono::milliseconds duration);

// The shortest text that reads back as `number`, e.g. "0.8" or "50".
std::string FormatNumber(double number);

// How a whole number written in the config reads.
enum class IntegerText {
  kValid,
  kNotWhole,    // not an optional "-" and digits
  kOutOfRange,  // digits, but beyond int64_t
};
// Reads an optional "-" and digits into `number` (set only when kValid).
IntegerText ParseInteger(std::string_view text, int64_t& number);

// A finite decimal number such as "0.8", "50" or "1e-3"; nullopt otherwise.
std::optional<double> ParseDecimal(std::string_view text);

// YAML's plain true/false spellings (true, True, TRUE, and the same for false).
std::optional<bool> ParseBool(std::string_view text);

// A TCP port in a URL: digits only, 1 to 65535.
bool IsValidPort(std::string_view port);

// True when `iccid` is 19 or 20 digits and its last digit is a valid Luhn check digit.
bool IsValidIccid(const std::string& iccid);

// The Luhn check digit that completes `payload` (the digits before it).
char LuhnCheckDigit(std::string_view payload);

// A Prometheus label name: letters, digits and underscores, not starting with a digit.
bool IsValidLabelName(std::string_view name);

// Labels the exporter puts on its series, and those Prometheus adds (instance, job): config
// labels go on every per-eSIM series, so a clash would overwrite or duplicate one of them.
bool IsReservedLabel(std::string_view name);

}  // namespace esim
