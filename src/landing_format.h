// Numbers, sizes, times and durations as the landing page writes them for people: "1.25 GiB",
// "10,000", "3 min ago", "in 5 d", "2026-07-26". Plain text, not HTML-escaped (none of it holds
// a character that needs escaping). Pure functions: thread safe.
#pragma once

#include <cstdint>
#include <string>

namespace esim {

// "512 MiB" below 1 GiB, else "1.25 GiB"; "?" for a value that is not a finite size.
std::string FormatBytes(double bytes);

// "10,000".
std::string FormatCount(int64_t count);

// "1,500.00": two decimals, thousands separated; "?" when not finite.
std::string FormatAmount(double amount);

// "45 s", "12 min", "5 h", "3 d": whole units, the largest that leaves at least 2 of them.
std::string FormatSpan(double seconds);

// "12 min ago" / "in 3 d" / "now", of `time` seen from `now` (both Unix seconds).
std::string FormatRelative(double time, double now);

// "2026-07-26" and "2026-07-26 14:34:40 UTC" of a Unix time; "?" when out of range.
std::string FormatUtcDate(double time);
std::string FormatUtcDateTime(double time);

// "85 %", "0.5 %" (one decimal below 10 %), of a ratio; "?" when not finite.
std::string FormatPercent(double ratio);

}  // namespace esim
