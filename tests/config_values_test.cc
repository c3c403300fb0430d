#include "config_values.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace esim {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDurationTest, Table) {
  const std::vector<std::pair<std::string, std::optional<milliseconds>>> cases = {
      {"250ms", milliseconds(250)},
      {"90s", seconds(90)},
      {"15m", minutes(15)},
      {"6h", hours(6)},
      {"2d", hours(48)},
      {"1h30m", minutes(90)},
      {"1d2h3m4s5ms", milliseconds(((26 * 60 + 3) * 60 + 4) * 1000 + 5)},
      {"0s", milliseconds(0)},
      {"0", milliseconds(0)},  // zero needs no unit, as in Prometheus
      {"", std::nullopt},
      {"15", std::nullopt},  // a bare number: the unit is ambiguous
      {"1h30", std::nullopt},
      {"30m1h", std::nullopt},  // largest unit first
      {"1m1m", std::nullopt},
      {"1.5h", std::nullopt},
      {"-5s", std::nullopt},
      {"5 s", std::nullopt},
      {" 5s", std::nullopt},
      {"5S", std::nullopt},
      {"5w", std::nullopt},
      {"5y", std::nullopt},
      {"s", std::nullopt},
      {"5sec", std::nullopt},
      {"99999999999999999999s", std::nullopt},  // overflows
      {"9223372036854775807d", std::nullopt},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(ParseDuration(text), expected) << '"' << text << '"';
  }
}

TEST(IsValidIccidTest, Table) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"8948010010036785060", true},
      {"8948010010036785078", true},
      {"89445001021983048261", true},    // 20 digits
      {"8948010010036785061", false},    // wrong check digit
      {"8948010010036785006", false},    // two digits swapped
      {"894801001003678506", false},     // 18 digits
      {"894450010219830482610", false},  // 21 digits
      {"894801001003678506X", false},
      {"8948 010010036785060", false},
      {"", false},
      {"0000000000000000000", true},  // only the format is checked, not the issuer
  };
  for (const auto& [iccid, valid] : cases) {
    EXPECT_EQ(IsValidIccid(iccid), valid) << iccid;
  }
}

TEST(FormatDurationTest, LargestUnitsFirst) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(hours(24 * 7)), "7d");
  EXPECT_EQ(FormatDuration(milliseconds(61'001)), "1m1s1ms");
  for (const std::string text : {"250ms", "90s", "1d2h3m4s5ms"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(text)), text == "90s" ? "1m30s" : text) << text;
  }
}

TEST(FormatNumberTest, ShortestThatReadsBack) {
  EXPECT_EQ(FormatNumber(0.8), "0.8");
  EXPECT_EQ(FormatNumber(50), "50");
  EXPECT_EQ(FormatNumber(-1.5), "-1.5");
}

TEST(ParseIntegerTest, Table) {
  const std::vector<std::pair<std::string, IntegerText>> cases = {
      {"0", IntegerText::kValid},
      {"-12", IntegerText::kValid},
      {"9223372036854775807", IntegerText::kValid},
      {"", IntegerText::kNotWhole},
      {"-", IntegerText::kNotWhole},
      {"+1", IntegerText::kNotWhole},
      {"1.5", IntegerText::kNotWhole},
      {"1e3", IntegerText::kNotWhole},
      {" 1", IntegerText::kNotWhole},
      {"9223372036854775808", IntegerText::kOutOfRange},
      {"-9223372036854775809", IntegerText::kOutOfRange},
  };
  for (const auto& [text, expected] : cases) {
    int64_t number = 42;
    EXPECT_EQ(ParseInteger(text, number), expected) << '"' << text << '"';
    if (expected != IntegerText::kValid) {
      EXPECT_EQ(number, 42) << '"' << text << '"';
    }
  }
  int64_t number = 0;
  ASSERT_EQ(ParseInteger("-12", number), IntegerText::kValid);
  EXPECT_EQ(number, -12);
}

TEST(ParseDecimalTest, FiniteNumbersOnly) {
  EXPECT_EQ(ParseDecimal("0.8"), 0.8);
  EXPECT_EQ(ParseDecimal("50"), 50.0);
  EXPECT_EQ(ParseDecimal("1e-3"), 1e-3);
  EXPECT_EQ(ParseDecimal("-2"), -2.0);
  for (const std::string text : {"", "inf", "nan", "1e999", "0.8x", " 1", "1,5"}) {
    EXPECT_EQ(ParseDecimal(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseBoolTest, YamlSpellings) {
  for (const std::string text : {"true", "True", "TRUE"}) EXPECT_EQ(ParseBool(text), true);
  for (const std::string text : {"false", "False", "FALSE"}) EXPECT_EQ(ParseBool(text), false);
  for (const std::string text : {"", "yes", "on", "1", "tRUE"}) {
    EXPECT_EQ(ParseBool(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(IsValidPortTest, Table) {
  for (const std::string port : {"1", "443", "65535", "08443"}) EXPECT_TRUE(IsValidPort(port));
  for (const std::string port : {"", "0", "65536", "-1", "+1", "80a", "99999999999"}) {
    EXPECT_FALSE(IsValidPort(port)) << '"' << port << '"';
  }
}

TEST(LuhnCheckDigitTest, CompletesAValidIccid) {
  EXPECT_EQ(LuhnCheckDigit("894801001003678506"), '0');
  EXPECT_EQ(LuhnCheckDigit("894801001003678507"), '8');
  EXPECT_TRUE(
      IsValidIccid(std::string("894801001003678506") + LuhnCheckDigit("894801001003678506")));
}

TEST(LabelNameTest, PrometheusRules) {
  for (const std::string name : {"fleet", "_x", "A9", "team_name"}) {
    EXPECT_TRUE(IsValidLabelName(name)) << name;
  }
  for (const std::string name : {"", "9a", "a-b", "a.b", "ä"}) {
    EXPECT_FALSE(IsValidLabelName(name)) << name;
  }
}

TEST(LabelNameTest, ReservedNamesAreTheExportersAndPrometheus) {
  for (const std::string name : {"iccid", "name", "instance", "job", "le", "esim_id"}) {
    EXPECT_TRUE(IsReservedLabel(name)) << name;
  }
  for (const std::string name : {"fleet", "Name", "region"}) {
    EXPECT_FALSE(IsReservedLabel(name)) << name;
  }
}

}  // namespace
}  // namespace esim
