#include "iso8601.h"

#include <cstdint>

namespace esim {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool Digits(size_t count, int& out) {
    if (pos_ + count > text_.size()) return false;
    out = 0;
    for (size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    pos_ += count;
    return true;
  }
  bool Take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool TakeAny(std::string_view chars, char& taken) {
    if (pos_ < text_.size() && chars.find(text_[pos_]) != std::string_view::npos) {
      taken = text_[pos_++];
      return true;
    }
    return false;
  }
  bool AtDigit() const { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }
  bool AtEnd() const { return pos_ == text_.size(); }
  char Next() { return text_[pos_++]; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<double> ParseIso8601(std::string_view text) {
  Cursor in(text);
  int year, month, day, hour, minute, second;
  char separator;
  if (!in.Digits(4, year) || !in.Take('-') || !in.Digits(2, month) || !in.Take('-') ||
      !in.Digits(2, day) || !in.TakeAny("Tt ", separator) || !in.Digits(2, hour) || !in.Take(':') ||
      !in.Digits(2, minute) || !in.Take(':') || !in.Digits(2, second)) {
    return std::nullopt;
  }
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDaysInMonth[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  if (in.Take('.') || in.Take(',')) {
    if (!in.AtDigit()) return std::nullopt;
    double scale = 0.1;
    while (in.AtDigit()) {
      fraction += (in.Next() - '0') * scale;
      scale /= 10;
    }
  }
  int offset_seconds = 0;
  char zone;
  if (in.TakeAny("Zz", zone)) {
  } else if (in.TakeAny("+-", zone)) {
    int offset_hours, offset_minutes;
    if (!in.Digits(2, offset_hours)) return std::nullopt;
    in.Take(':');
    if (!in.Digits(2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (zone == '-' ? -1 : 1);
  }
  if (!in.AtEnd()) return std::nullopt;
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(seconds) + fraction;
}

}  // namespace esim

namespace esim {

std::optional<double> ParseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (text.size() != 29 || text[3] != ',' || text.substr(25) != " GMT") return std::nullopt;
  const size_t month_index = kMonths.find(text.substr(8, 3));
  if (month_index == std::string_view::npos || month_index % 3 != 0) return std::nullopt;
  char iso[21];
  const std::string_view day = text.substr(5, 2), year = text.substr(12, 4),
                         time = text.substr(17, 8);
  const int month = static_cast<int>(month_index / 3) + 1;
  iso[0] = year[0], iso[1] = year[1], iso[2] = year[2], iso[3] = year[3], iso[4] = '-';
  iso[5] = static_cast<char>('0' + month / 10), iso[6] = static_cast<char>('0' + month % 10);
  iso[7] = '-', iso[8] = day[0], iso[9] = day[1], iso[10] = 'T';
  for (size_t i = 0; i < 8; ++i) iso[11 + i] = time[i];
  iso[19] = 'Z', iso[20] = '\0';
  return ParseIso8601(std::string_view(iso, 20));
}

}  // namespace esim
