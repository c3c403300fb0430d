#include "landing_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace esim {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = kMiB * 1024.0;
// Beyond this a time_t conversion may overflow or gmtime_r fails: year 9999.
constexpr double kMaxUnixSeconds = 253402300799.0;

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string FormatUtc(double time, const char* format) {
  if (!std::isfinite(time) || time < 0 || time > kMaxUnixSeconds) return "?";
  const auto seconds = static_cast<std::time_t>(std::floor(time));
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return "?";
  char buffer[64];
  const size_t size = std::strftime(buffer, sizeof buffer, format, &utc);
  return size == 0 ? "?" : std::string(buffer, size);
}

}  // namespace

std::string FormatBytes(double bytes) {
  if (!std::isfinite(bytes) || bytes < 0) return "?";
  if (bytes < kGiB) return Printf("%.0f MiB", bytes / kMiB);
  return Printf("%.2f GiB", bytes / kGiB);
}

std::string FormatCount(int64_t count) {
  const bool negative = count < 0;
  // Through unsigned: the magnitude of INT64_MIN fits there.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  std::string digits;
  int in_group = 0;
  do {
    if (in_group == 3) {
      digits.insert(digits.begin(), ',');
      in_group = 0;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + magnitude % 10));
    magnitude /= 10;
    ++in_group;
  } while (magnitude > 0);
  return negative ? "-" + digits : digits;
}

std::string FormatAmount(double amount) {
  if (!std::isfinite(amount) || std::fabs(amount) >= 1e18) return "?";
  const double cents = std::round(std::fabs(amount) * 100);
  const auto whole = static_cast<int64_t>(cents / 100);
  const auto fraction = static_cast<int>(cents - static_cast<double>(whole) * 100);
  char decimals[8];
  std::snprintf(decimals, sizeof decimals, ".%02d", fraction);
  return (amount < 0 && cents > 0 ? "-" : "") + FormatCount(whole) + decimals;
}

std::string FormatSpan(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const double magnitude = std::fabs(seconds);
  if (magnitude < 120) return Printf("%.0f s", std::floor(magnitude));
  if (magnitude < 2 * 3600) return Printf("%.0f min", std::floor(magnitude / 60));
  if (magnitude < 2 * 86400) return Printf("%.0f h", std::floor(magnitude / 3600));
  return Printf("%.0f d", std::floor(magnitude / 86400));
}

std::string FormatRelative(double time, double now) {
  const double delta = time - now;
  if (!std::isfinite(delta)) return "?";
  if (std::fabs(delta) < 1) return "now";
  return delta < 0 ? FormatSpan(delta) + " ago" : "in " + FormatSpan(delta);
}

std::string FormatUtcDate(double time) { return FormatUtc(time, "%Y-%m-%d"); }

std::string FormatUtcDateTime(double time) { return FormatUtc(time, "%Y-%m-%d %H:%M:%S UTC"); }

std::string FormatPercent(double ratio) {
  if (!std::isfinite(ratio)) return "?";
  const double percent = ratio * 100;
  if (std::fabs(percent) < 10 && percent != 0) return Printf("%.1f %%", percent);
  return Printf("%.0f %%", percent);
}

}  // namespace esim
