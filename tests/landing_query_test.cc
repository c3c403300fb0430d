#include "landing_query.h"

#include <gtest/gtest.h>

#include <string>

namespace esim {
namespace {

// What a browser sends back when it follows a link: the query string split and decoded.
QueryParams Decode(const std::string& query_string) {
  QueryParams params;
  if (query_string.empty()) return params;
  EXPECT_EQ(query_string.front(), '?');
  size_t start = 1;
  while (start <= query_string.size()) {
    size_t end = query_string.find('&', start);
    if (end == std::string::npos) end = query_string.size();
    const std::string pair = query_string.substr(start, end - start);
    const size_t equals = pair.find('=');
    EXPECT_NE(equals, std::string::npos) << pair;
    std::string value;
    for (size_t i = equals + 1; i < pair.size(); ++i) {
      if (pair[i] == '%') {
        value += static_cast<char>(std::stoi(pair.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        value += pair[i];
      }
    }
    params.emplace(pair.substr(0, equals), value);
    start = end + 1;
  }
  return params;
}

TEST(LandingQueryTest, DefaultsWithoutParameters) {
  const LandingQuery query = ParseLandingQuery({});
  EXPECT_EQ(query.page, 1);
  EXPECT_EQ(query.per_page, 100);
  EXPECT_EQ(query.sort, LandingSort::kConfig);
  EXPECT_FALSE(query.descending);
  EXPECT_EQ(query.account, "");
  EXPECT_EQ(query.status, "");
  EXPECT_EQ(query.poll, PollFilter::kAny);
  EXPECT_EQ(query.text, "");
  EXPECT_EQ(LandingQueryString(query), "");
}

TEST(LandingQueryTest, ParsesEveryParameter) {
  const LandingQuery query = ParseLandingQuery({{"page", "3"},
                                                {"per_page", "250"},
                                                {"sort", "expiry"},
                                                {"order", "desc"},
                                                {"status", "depleted"},
                                                {"poll", "failing"},
                                                {"q", "  site=syd  "},
                                                {"unknown", "ignored"}});
  EXPECT_EQ(query.page, 3);
  EXPECT_EQ(query.per_page, 250);
  EXPECT_EQ(query.sort, LandingSort::kExpiry);
  EXPECT_TRUE(query.descending);
  EXPECT_EQ(query.status, "DEPLETED");
  EXPECT_EQ(query.poll, PollFilter::kFailing);
  EXPECT_EQ(query.text, "site=syd");
}

TEST(LandingQueryTest, EverySortNameRoundTrips) {
  for (const char* name :
       {"config", "account", "name", "iccid", "esim_id", "status", "used", "total", "used_pct",
        "expiry", "live_poll", "listed", "last_success", "last_event"}) {
    const auto sort = ParseLandingSort(name);
    ASSERT_TRUE(sort) << name;
    EXPECT_EQ(LandingSortName(*sort), name);
  }
  EXPECT_EQ(ParseLandingSort("EXPIRY"), LandingSort::kExpiry);
  EXPECT_FALSE(ParseLandingSort("expiry;drop"));
}

TEST(LandingQueryTest, OrderDefaultsToTheColumnsNaturalOne) {
  EXPECT_FALSE(ParseLandingQuery({{"sort", "expiry"}}).descending);
  EXPECT_TRUE(ParseLandingQuery({{"sort", "used_pct"}}).descending);  // heaviest users first
  EXPECT_FALSE(ParseLandingQuery({{"sort", "used_pct"}, {"order", "asc"}}).descending);
  EXPECT_TRUE(ParseLandingQuery({{"sort", "used"}, {"order", "sideways"}}).descending);
}

TEST(LandingQueryTest, GarbageFallsBackToDefaults) {
  for (const char* page : {"", "0", "-1", "+2", "1.5", "abc", "2abc", " ", "0x10", "１"}) {
    EXPECT_EQ(ParseLandingQuery({{"page", page}}).page, 1) << page;
  }
  for (const char* per_page : {"", "0", "-100", "abc", "1e3", "50 0"}) {
    EXPECT_EQ(ParseLandingQuery({{"per_page", per_page}}).per_page, 100) << per_page;
  }
  EXPECT_EQ(ParseLandingQuery({{"sort", "<script>"}}).sort, LandingSort::kConfig);
  EXPECT_EQ(ParseLandingQuery({{"poll", "maybe"}}).poll, PollFilter::kAny);
  for (const char* status : {"\"><script>", "ACTIVE OR 1=1", "all", "ÄCTIVE",
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* 33 */}) {
    EXPECT_EQ(ParseLandingQuery({{"status", status}}).status, "") << status;
  }
  EXPECT_EQ(ParseLandingQuery({{"status", "SUSPENDED_2"}}).status, "SUSPENDED_2");
}

TEST(LandingQueryTest, AccountIsAValidAccountNameOrNone) {
  EXPECT_EQ(ParseLandingQuery({{"account", "acme"}}).account, "acme");
  EXPECT_EQ(ParseLandingQuery({{"account", " Globex-EU_2 "}}).account, "globex-eu_2");
  const std::string longest = "a" + std::string(62, 'b');
  EXPECT_EQ(ParseLandingQuery({{"account", longest}}).account, longest);
  for (const std::string& account :
       {std::string(), std::string("1acme"), std::string("-acme"), std::string("_acme"),
        std::string("ac me"), std::string("acme\"><script>"), std::string("acmé"),
        std::string("acme%00"), longest + "c", std::string(10000, 'a')}) {
    EXPECT_EQ(ParseLandingQuery({{"account", account}}).account, "") << account;
  }
  EXPECT_EQ(ParseLandingQuery({{"sort", "account"}}).sort, LandingSort::kAccount);
  EXPECT_FALSE(ParseLandingQuery({{"sort", "account"}}).descending);
}

TEST(LandingQueryTest, BoundsSizes) {
  EXPECT_EQ(ParseLandingQuery({{"per_page", "1000"}}).per_page, 1000);
  EXPECT_EQ(ParseLandingQuery({{"per_page", "1001"}}).per_page, 1000);
  EXPECT_EQ(ParseLandingQuery({{"per_page", "99999999999999999999999999"}}).per_page, 1000);
  // A huge page lands on the last page (the renderer clamps to it).
  EXPECT_EQ(ParseLandingQuery({{"page", "99999999999999999999"}}).page, LandingQuery::kMaxPage);
  EXPECT_EQ(ParseLandingQuery({{"page", std::string(100, '9')}}).page, LandingQuery::kMaxPage);
}

TEST(LandingQueryTest, SearchTextIsBoundedAndCleaned) {
  EXPECT_EQ(ParseLandingQuery({{"q", "a\tb\nc\x01"}}).text, "a b c");
  EXPECT_EQ(ParseLandingQuery({{"q", std::string(5000, 'x')}}).text, std::string(200, 'x'));
  // Cut at a character boundary: "é" is two bytes, the 200th byte would split one.
  std::string accented = std::string(199, 'x') + "é";
  EXPECT_EQ(ParseLandingQuery({{"q", accented}}).text, std::string(199, 'x'));
}

TEST(LandingQueryTest, TheFirstOfRepeatedParametersCounts) {
  const LandingQuery query =
      ParseLandingQuery({{"page", "2"}, {"page", "7"}, {"q", "first"}, {"q", "second"}});
  EXPECT_EQ(query.page, 2);
  EXPECT_EQ(query.text, "first");
}

TEST(LandingQueryTest, QueryStringHoldsOnlyWhatDiffersAndRoundTrips) {
  LandingQuery query;
  query.sort = LandingSort::kExpiry;
  EXPECT_EQ(LandingQueryString(query), "?sort=expiry");
  query.sort = LandingSort::kUsedRatio;
  query.descending = true;  // its default
  EXPECT_EQ(LandingQueryString(query), "?sort=used_pct");
  query.descending = false;
  EXPECT_EQ(LandingQueryString(query), "?sort=used_pct&order=asc");

  query.page = 4;
  query.per_page = 50;
  query.account = "globex-eu";
  query.status = "ACTIVE";
  query.poll = PollFilter::kPending;
  query.text = "a&b=c d/é#?\"<>";
  const std::string text = LandingQueryString(query);
  EXPECT_EQ(text,
            "?sort=used_pct&order=asc&account=globex-eu&status=ACTIVE&poll=pending"
            "&q=a%26b%3Dc%20d%2F%C3%A9%23%3F%22%3C%3E&per_page=50&page=4");
  EXPECT_EQ(ParseLandingQuery(Decode(text)), query);
}

}  // namespace
}  // namespace esim
