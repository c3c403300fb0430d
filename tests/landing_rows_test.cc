#include "landing_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "landing_test_fleet.h"

namespace esim {
namespace {

using testing::Fleet;
using testing::kFleetNow;

constexpr int kFleetSize = 2500;

LandingQuery Query(QueryParams params) { return ParseLandingQuery(params); }

// Every row of every page of `query`, page after page.
std::vector<uint32_t> AllPages(const StateSnapshot& snapshot, LandingQuery query) {
  std::vector<uint32_t> all;
  const LandingRows first = SelectLandingRows(snapshot, query);
  for (int page = 1; page <= first.pages; ++page) {
    query.page = page;
    const LandingRows rows = SelectLandingRows(snapshot, query);
    EXPECT_EQ(rows.page, page);
    EXPECT_EQ(rows.pages, first.pages);
    EXPECT_EQ(rows.matching, first.matching);
    all.insert(all.end(), rows.rows.begin(), rows.rows.end());
  }
  return all;
}

std::optional<double> Expiry(const StateSnapshot& snapshot, uint32_t row) {
  const auto& record = *snapshot.esims[row];
  return record.status ? record.status->expiry_time : std::nullopt;
}

TEST(LandingRowsTest, PagesCoverEveryEsimExactlyOnce) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  for (const char* sort : {"config", "name", "expiry", "used_pct", "live_poll", "status"}) {
    const LandingQuery query = Query({{"sort", sort}});
    const LandingRows first = SelectLandingRows(snapshot, query);
    EXPECT_EQ(first.matching, 2500u);
    EXPECT_EQ(first.pages, 25);
    EXPECT_EQ(first.rows.size(), 100u);
    const std::vector<uint32_t> all = AllPages(snapshot, query);
    ASSERT_EQ(all.size(), 2500u) << sort;
    EXPECT_EQ(std::set<uint32_t>(all.begin(), all.end()).size(), 2500u) << sort;
  }
}

TEST(LandingRowsTest, PageSizesAndClamping) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  LandingRows rows = SelectLandingRows(snapshot, Query({{"per_page", "1000"}, {"page", "3"}}));
  EXPECT_EQ(rows.pages, 3);
  EXPECT_EQ(rows.page, 3);
  EXPECT_EQ(rows.rows.size(), 500u);
  EXPECT_EQ(rows.rows.front(), 2000u);  // config order

  rows = SelectLandingRows(snapshot, Query({{"page", "999"}}));  // beyond the last page
  EXPECT_EQ(rows.page, 25);
  EXPECT_EQ(rows.rows.size(), 100u);
  EXPECT_EQ(rows.rows.front(), 2400u);

  rows = SelectLandingRows(snapshot, Query({{"per_page", "7"}, {"page", "358"}}));
  EXPECT_EQ(rows.pages, 358);  // 2500 = 357 * 7 + 1
  EXPECT_EQ(rows.rows.size(), 1u);

  rows = SelectLandingRows(snapshot, Query({{"per_page", "100000"}}));  // capped at 1000
  EXPECT_EQ(rows.rows.size(), 1000u);

  const StateSnapshot empty;
  rows = SelectLandingRows(empty, Query({{"page", "5"}}));
  EXPECT_EQ(rows.page, 1);
  EXPECT_EQ(rows.pages, 1);
  EXPECT_EQ(rows.matching, 0u);
  EXPECT_TRUE(rows.rows.empty());
}

TEST(LandingRowsTest, ExpiryAscendingPutsTheSoonestFirstAndUnknownLast) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const std::vector<uint32_t> all = AllPages(snapshot, Query({{"sort", "expiry"}}));
  ASSERT_EQ(all.size(), 2500u);
  double soonest = std::numeric_limits<double>::infinity();
  for (const auto& record : snapshot.esims) {
    if (record->status && record->status->expiry_time) {
      soonest = std::min(soonest, *record->status->expiry_time);
    }
  }
  EXPECT_EQ(Expiry(snapshot, all.front()), soonest);
  bool seen_unknown = false;
  for (size_t i = 1; i < all.size(); ++i) {
    const auto previous = Expiry(snapshot, all[i - 1]), current = Expiry(snapshot, all[i]);
    if (!current) {
      seen_unknown = true;
      continue;
    }
    ASSERT_FALSE(seen_unknown) << "a known expiry after an unknown one at " << i;
    ASSERT_LE(*previous, *current) << i;
    if (*previous == *current) {
      EXPECT_LT(all[i - 1], all[i]) << "ties keep store order";
    }
  }
  EXPECT_TRUE(seen_unknown);
}

TEST(LandingRowsTest, DescendingStillPutsUnknownLast) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const std::vector<uint32_t> all =
      AllPages(snapshot, Query({{"sort", "expiry"}, {"order", "desc"}}));
  bool seen_unknown = false;
  for (size_t i = 1; i < all.size(); ++i) {
    const auto previous = Expiry(snapshot, all[i - 1]), current = Expiry(snapshot, all[i]);
    if (!current) {
      seen_unknown = true;
      continue;
    }
    ASSERT_FALSE(seen_unknown);
    ASSERT_GE(*previous, *current);
  }
}

TEST(LandingRowsTest, UsedShareSortsHeaviestFirstAndUnlimitedLast) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const std::vector<uint32_t> all = AllPages(snapshot, Query({{"sort", "used_pct"}}));
  std::optional<double> previous;
  bool seen_unknown = false;
  for (const uint32_t row : all) {
    const auto ratio = UsedRatioOf(*snapshot.esims[row]);
    if (!ratio) {
      seen_unknown = true;
      continue;
    }
    ASSERT_FALSE(seen_unknown);
    if (previous) {
      ASSERT_GE(*previous, *ratio);
    }
    previous = ratio;
  }
  EXPECT_DOUBLE_EQ(*UsedRatioOf(*snapshot.esims[all.front()]), 1.0);
}

TEST(LandingRowsTest, LastEventSortsOldestFirstAndEsimsWithoutOneLast) {
  StateSnapshot snapshot = Fleet(6);
  auto event_at = [&](size_t i, double time) {
    auto record = std::make_shared<EsimRecord>(*snapshot.esims[i]);
    record->last_event_time = time;
    snapshot.esims[i] = record;
  };
  event_at(1, kFleetNow - 60);
  event_at(3, kFleetNow - 7200);
  event_at(4, kFleetNow - 600);
  LandingRows rows = SelectLandingRows(snapshot, Query({{"sort", "last_event"}}));
  EXPECT_EQ(rows.rows, (std::vector<uint32_t>{3, 4, 1, 0, 2, 5}));
  rows = SelectLandingRows(snapshot, Query({{"sort", "last_event"}, {"order", "desc"}}));
  EXPECT_EQ(rows.rows, (std::vector<uint32_t>{1, 4, 3, 0, 2, 5}));
}

TEST(LandingRowsTest, NameSortIgnoresCase) {
  StateSnapshot snapshot = Fleet(3);
  std::const_pointer_cast<EsimRecord>(snapshot.esims[0])->config.name = "b-router";
  std::const_pointer_cast<EsimRecord>(snapshot.esims[1])->config.name = "A-router";
  std::const_pointer_cast<EsimRecord>(snapshot.esims[2])->config.name = "";  // unnamed: last
  const LandingRows rows = SelectLandingRows(snapshot, Query({{"sort", "name"}}));
  EXPECT_EQ(rows.rows, (std::vector<uint32_t>{1, 0, 2}));
  const LandingRows reversed =
      SelectLandingRows(snapshot, Query({{"sort", "name"}, {"order", "desc"}}));
  EXPECT_EQ(reversed.rows, (std::vector<uint32_t>{0, 1, 2}));
}

TEST(LandingRowsTest, NotANumberNeitherBreaksTheSortNorComesFirst) {
  StateSnapshot snapshot = Fleet(300);
  for (size_t i = 0; i < snapshot.esims.size(); i += 3) {
    auto record = std::const_pointer_cast<EsimRecord>(snapshot.esims[i]);
    if (record->status) record->status->used_bytes = std::nan("");
  }
  const std::vector<uint32_t> all = AllPages(snapshot, Query({{"sort", "used"}}));
  ASSERT_EQ(all.size(), 300u);
  EXPECT_FALSE(std::isnan(snapshot.esims[all.front()]->status->used_bytes));
}

TEST(LandingRowsTest, StatusFilterKeepsOnlyThatStatus) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const FleetCounts counts = CountFleet(snapshot);
  for (const char* status : {"DEPLETED", "EXPIRED", "CANCELLED", "SUSPENDED", "ACTIVE"}) {
    const std::vector<uint32_t> all =
        AllPages(snapshot, Query({{"status", status}, {"per_page", "1000"}}));
    EXPECT_EQ(all.size(), counts.by_status.at(status)) << status;
    for (const uint32_t row : all) EXPECT_EQ(LifecycleStatusOf(*snapshot.esims[row]), status);
  }
  EXPECT_TRUE(SelectLandingRows(snapshot, Query({{"status", "NO_SUCH"}})).rows.empty());
}

TEST(LandingRowsTest, PollFilterFollowsTheLatestLivePollOnly) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const FleetCounts counts = CountFleet(snapshot);
  EXPECT_EQ(counts.live_ok + counts.live_failing + counts.live_pending, 2500u);
  const std::vector<uint32_t> failing =
      AllPages(snapshot, Query({{"poll", "failing"}, {"per_page", "1000"}}));
  EXPECT_EQ(failing.size(), counts.live_failing);
  for (const uint32_t row : failing) {
    EXPECT_EQ(row % 9, 0u);
    EXPECT_NE(row % 17, 0u);
  }
  const std::vector<uint32_t> pending =
      AllPages(snapshot, Query({{"poll", "pending"}, {"per_page", "1000"}}));
  EXPECT_EQ(pending.size(), counts.live_pending);
  for (const uint32_t row : pending) EXPECT_EQ(row % 17, 0u);  // listed, never polled live
  EXPECT_EQ(AllPages(snapshot, Query({{"poll", "ok"}})).size(), counts.live_ok);
}

TEST(LandingRowsTest, TextSearchCoversNameIccidIdAndLabelsInAnyCase) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  auto matching = [&](const char* text) {
    return SelectLandingRows(snapshot, Query({{"q", text}})).matching;
  };
  EXPECT_EQ(matching("ESIM-0042"), 1u);      // name, other case
  EXPECT_EQ(matching("3000000001234"), 1u);  // part of one ICCID
  EXPECT_EQ(matching("101234"), 1u);         // eSIM id 100000 + 1234
  EXPECT_EQ(matching("SYD"), 625u);          // label value
  EXPECT_EQ(matching("site=syd"), 625u);     // name=value
  EXPECT_EQ(matching("site=s"), 1875u);      // syd, sto, sel
  EXPECT_EQ(matching("fleet=f1"), 833u);
  EXPECT_EQ(matching("nobody"), 0u);
  EXPECT_EQ(matching(""), 2500u);
}

TEST(LandingRowsTest, FiltersCombineAndSortWithin) {
  const StateSnapshot snapshot = Fleet(kFleetSize);
  const LandingQuery query =
      Query({{"status", "ACTIVE"}, {"q", "site=par"}, {"sort", "expiry"}, {"per_page", "20"}});
  const std::vector<uint32_t> all = AllPages(snapshot, query);
  ASSERT_FALSE(all.empty());
  for (const uint32_t row : all) {
    const EsimRecord& record = *snapshot.esims[row];
    EXPECT_EQ(LifecycleStatusOf(record), "ACTIVE");
    EXPECT_EQ(record.config.labels.at("site"), "par");
  }
  for (size_t i = 1; i < all.size(); ++i) {
    const auto previous = Expiry(snapshot, all[i - 1]), current = Expiry(snapshot, all[i]);
    if (previous && current) {
      EXPECT_LE(*previous, *current);
    }
  }
}

TEST(LandingRowsTest, CountsByStatusIncludeUnknownAndDiscovered) {
  StateSnapshot snapshot = Fleet(kFleetSize);
  std::const_pointer_cast<EsimRecord>(snapshot.esims[0])->discovered = true;
  const FleetCounts counts = CountFleet(snapshot);
  EXPECT_EQ(counts.monitored, 2500u);
  EXPECT_EQ(counts.discovered, 1u);
  EXPECT_EQ(counts.by_status.at(""), 50u);  // i % 50 == 49: never observed
  size_t sum = 0;
  for (const auto& [status, count] : counts.by_status) sum += count;
  EXPECT_EQ(sum, 2500u);
}

TEST(LandingRowsTest, LivePollIgnoresTheListingsOutcome) {
  EsimRecord record;
  record.polled = record.last_poll_ok = true;  // listed by a sweep
  record.last_code = "OK";
  EXPECT_FALSE(LivePollOf(record).done);
  record.live_polled = true;
  record.last_live_ok = false;
  record.last_poll_ok = false;
  record.last_code = "PROVIDER_ERROR";
  record.last_success_time = kFleetNow;  // a later sweep succeeded: the live poll still failed
  const LivePoll poll = LivePollOf(record);
  EXPECT_TRUE(poll.done);
  EXPECT_FALSE(poll.ok);
  EXPECT_EQ(poll.code, "PROVIDER_ERROR");
}

// Two accounts' eSIMs one after the other, as the page merges them: acme's 0..59, globex's 60..99.
StateSnapshot TwoAccounts() {
  StateSnapshot snapshot = Fleet(100);
  for (size_t i = 0; i < snapshot.esims.size(); ++i) {
    auto record = std::make_shared<EsimRecord>(*snapshot.esims[i]);
    record->config.account = i < 60 ? "acme" : "globex";
    snapshot.esims[i] = record;
  }
  return snapshot;
}

TEST(LandingRowsTest, AccountFilterKeepsOnlyThatAccountsEsims) {
  const StateSnapshot snapshot = TwoAccounts();
  const std::vector<uint32_t> globex = AllPages(snapshot, Query({{"account", "globex"}}));
  ASSERT_EQ(globex.size(), 40u);
  for (size_t i = 0; i < globex.size(); ++i) EXPECT_EQ(globex[i], 60 + i);  // in store order
  EXPECT_EQ(SelectLandingRows(snapshot, Query({{"account", "ACME"}})).matching, 60u);
  EXPECT_EQ(SelectLandingRows(snapshot, Query({{"account", "initech"}})).matching, 0u);
  // Combined with the other filters.
  const LandingRows active =
      SelectLandingRows(snapshot, Query({{"account", "globex"}, {"status", "ACTIVE"}}));
  EXPECT_GT(active.matching, 0u);
  for (const uint32_t row : active.rows) {
    EXPECT_EQ(snapshot.esims[row]->config.account, "globex");
    EXPECT_EQ(LifecycleStatusOf(*snapshot.esims[row]), "ACTIVE");
  }
}

TEST(LandingRowsTest, AccountSortKeepsEachAccountsOrderAndPagesSpanAccounts) {
  const StateSnapshot snapshot = TwoAccounts();
  // Descending: globex first, each account's eSIMs still in store order.
  const std::vector<uint32_t> rows =
      AllPages(snapshot, Query({{"sort", "account"}, {"order", "desc"}, {"per_page", "25"}}));
  ASSERT_EQ(rows.size(), 100u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(rows[i], 60 + i);
  for (size_t i = 40; i < 100; ++i) EXPECT_EQ(rows[i], i - 40);
  // The default order: account by account; page 3 of 25 holds the last 10 of acme and the first
  // 15 of globex.
  const LandingRows page = SelectLandingRows(snapshot, Query({{"per_page", "25"}, {"page", "3"}}));
  ASSERT_EQ(page.rows.size(), 25u);
  EXPECT_EQ(page.rows.front(), 50u);
  EXPECT_EQ(page.rows.back(), 74u);
  EXPECT_EQ(page.pages, 4);
}

}  // namespace
}  // namespace esim
