#include "config_values.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <system_error>
#include <utility>

namespace esim {

using std::chrono::milliseconds;

namespace {

constexpr std::array<std::string_view, 31> kReservedLabels = {
    "iccid",        "name",         "status",      "source",      "threshold",    "code",
    "operator",     "mcc",          "mnc",         "country",     "country_iso2", "connection_type",
    "model",        "imei",         "esim_status", "smdp_status", "profile",      "esim_id",
    "package_code", "package_name", "countries",   "currency",    "account",      "version",
    "revision",     "le",           "reason",      "event",       "outcome",      "instance",
    "job"};

// Luhn sum of `digits`; `double_rightmost` is true when the check digit is not included.
int LuhnSum(std::string_view digits, bool double_rightmost) {
  int sum = 0;
  bool double_it = double_rightmost;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (double_it) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double_it = !double_it;
  }
  return sum;
}

}  // namespace

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<milliseconds> ParseDuration(const std::string& text) {
  // Units largest first, each at most once, as in Prometheus' model.ParseDuration.
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  // Zero is zero in any unit; Prometheus accepts it bare too (used for "0 disables").
  if (text == "0") return milliseconds(0);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t digits_end = pos;
    while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') {
      ++digits_end;
    }
    size_t unit_end = digits_end;
    while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
    int64_t number = 0;
    const auto result = std::from_chars(text.data() + pos, text.data() + digits_end, number);
    if (digits_end == pos || result.ec != std::errc()) return std::nullopt;
    const std::string_view unit(text.data() + digits_end, unit_end - digits_end);
    size_t index = next_unit;
    while (index < std::size(kUnits) && kUnits[index].first != unit) ++index;
    if (index == std::size(kUnits)) return std::nullopt;
    const int64_t size = kUnits[index].second;
    if (number > (std::numeric_limits<int64_t>::max() - total) / size) return std::nullopt;
    total += number * size;
    next_unit = index + 1;
    pos = unit_end;
  }
  return milliseconds(total);
}

std::string FormatDuration(milliseconds duration) {
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  int64_t rest = duration.count();
  if (rest == 0) return "0s";
  std::string text;
  for (const auto& [size, unit] : kUnits) {
    if (rest >= size) {
      text += std::to_string(rest / size) + unit;
      rest %= size;
    }
  }
  return text;
}

std::string FormatNumber(double number) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, number);
  return std::string(text, result.ptr);
}

IntegerText ParseInteger(std::string_view text, int64_t& number) {
  const bool negative = text.starts_with('-');
  if (!AllDigits(text.substr(negative ? 1 : 0))) return IntegerText::kNotWhole;
  int64_t parsed = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    return IntegerText::kOutOfRange;
  }
  number = parsed;
  return IntegerText::kValid;
}

std::optional<double> ParseDecimal(std::string_view text) {
  double number = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), number);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() ||
      !std::isfinite(number)) {
    return std::nullopt;
  }
  return number;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

bool IsValidPort(std::string_view port) {
  int number = 0;
  const auto result = std::from_chars(port.data(), port.data() + port.size(), number);
  return AllDigits(port) && result.ec == std::errc() && number >= 1 && number <= 65535;
}

bool IsValidIccid(const std::string& iccid) {
  if (iccid.size() != 19 && iccid.size() != 20) return false;
  if (!AllDigits(iccid)) return false;
  return LuhnSum(iccid, false) % 10 == 0;
}

char LuhnCheckDigit(std::string_view payload) {
  return static_cast<char>('0' + (10 - LuhnSum(payload, true) % 10) % 10);
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool IsReservedLabel(std::string_view name) {
  return std::find(kReservedLabels.begin(), kReservedLabels.end(), name) != kReservedLabels.end();
}

}  // namespace esim
