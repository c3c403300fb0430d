#include "state_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace esim {
namespace {

EsimConfig Esim(const std::string& iccid, const std::string& name = "") {
  EsimConfig esim;
  esim.iccid = iccid;
  esim.name = name;
  return esim;
}

ApiResult Ok(const std::string& iccid) {
  ApiResult result;
  result.code = "OK";
  result.api_up = true;
  result.status = EsimStatus{};
  result.status->iccid = iccid;
  result.status->status = "ACTIVE";
  return result;
}

TEST(StateStoreTest, ReadyOnlyOnceEveryEsimWasPolled) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060"), Esim("8948010010036785078")});
  EXPECT_FALSE(store.AllPolled());
  store.RecordPoll("iccid:8948010010036785060", Ok("8948010010036785060"), 100);
  EXPECT_FALSE(store.AllPolled());
  ApiResult failed;
  failed.code = "TIMEOUT";
  store.RecordPoll("iccid:8948010010036785078", failed, 101);
  EXPECT_TRUE(store.AllPolled());
  // A reload that adds an eSIM makes it unready until that one is polled.
  store.SetEsims({Esim("8948010010036785060"), Esim("8948010010036785086")});
  EXPECT_FALSE(store.AllPolled());
}

TEST(StateStoreTest, FailedPollKeepsTheLastGoodData) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  store.RecordPoll("iccid:8948010010036785060", Ok("8948010010036785060"), 100);
  ApiResult failed;
  failed.code = "PROVIDER_ERROR";
  failed.message = "carrier unreachable";
  store.RecordPoll("iccid:8948010010036785060", failed, 200);
  const auto snapshot = store.Snapshot();
  const EsimRecord& record = *snapshot->esims.at(0);
  EXPECT_FALSE(record.last_poll_ok);
  EXPECT_EQ(record.last_code, "PROVIDER_ERROR");
  EXPECT_EQ(record.last_message, "carrier unreachable");
  ASSERT_TRUE(record.status);
  EXPECT_EQ(record.status->status, "ACTIVE");
  EXPECT_EQ(record.last_success_time, 100);
  EXPECT_EQ(record.last_poll_time, 200);
}

TEST(StateStoreTest, ReloadKeepsStateRenamesAndForgetsRemoved) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060", "old"), Esim("8948010010036785078")});
  store.RecordPoll("iccid:8948010010036785060", Ok("8948010010036785060"), 100);
  store.SetEsims({Esim("8948010010036785060", "new")});
  // A late answer for the removed eSIM is dropped.
  store.RecordPoll("iccid:8948010010036785078", Ok("8948010010036785078"), 101);
  const auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 1u);
  EXPECT_EQ(snapshot->esims[0]->config.name, "new");
  EXPECT_TRUE(snapshot->esims[0]->status.has_value());
}

TEST(StateStoreTest, SnapshotsAreImmutable) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  const auto before = store.Snapshot();
  store.RecordPoll("iccid:8948010010036785060", Ok("8948010010036785060"), 100);
  EXPECT_FALSE(before->esims[0]->polled);
  EXPECT_TRUE(store.Snapshot()->esims[0]->polled);
}

TEST(StateStoreTest, LearnsTheIccidOfAnEsimConfiguredById) {
  StateStore store;
  EsimConfig by_id;
  by_id.esim_id = 12345;
  store.SetEsims({by_id});
  EXPECT_EQ(store.Snapshot()->esims[0]->Iccid(), "");
  store.RecordPoll("esim_id:12345", Ok("8948010010036785060"), 100);
  EXPECT_EQ(store.Snapshot()->esims[0]->Iccid(), "8948010010036785060");
}

TEST(StateStoreTest, ApiStateFollowsTheLatestAnswer) {
  StateStore store;
  EXPECT_FALSE(store.Snapshot()->api.up.has_value());
  ApiResult refused;
  refused.code = "INVALID_SIGNATURE";
  refused.rate_limit.remaining = 7;
  store.RecordApiAnswer(refused, 100);
  EXPECT_EQ(store.Snapshot()->api.up, false);
  EXPECT_EQ(store.Snapshot()->api.rate_limit.remaining, 7);
  store.RecordApiAnswer(Ok("8948010010036785060"), 101);
  EXPECT_EQ(store.Snapshot()->api.up, true);
  EXPECT_EQ(store.Snapshot()->api.rate_limit.remaining, 7);  // headers absent: keep the last
}

// Answers to concurrent requests are recorded in any order: the third answer of a window (0
// left) recorded before the second (1 left) must leave 0, until a new window starts.
TEST(StateStoreTest, RemainingNeverRisesWithinOneRateLimitWindow) {
  StateStore store;
  auto answer = [](double remaining, double reset) {
    ApiResult result;
    result.code = "OK";
    result.rate_limit.limit = 3;
    result.rate_limit.remaining = remaining;
    result.rate_limit.reset_time = reset;
    return result;
  };
  store.RecordApiAnswer(answer(0, 160), 100);
  store.RecordApiAnswer(answer(1, 160), 100);
  EXPECT_EQ(store.Snapshot()->api.rate_limit.remaining, 0);
  store.RecordApiAnswer(answer(2, 220), 161);  // the next window
  EXPECT_EQ(store.Snapshot()->api.rate_limit.remaining, 2);
  EXPECT_EQ(store.Snapshot()->api.rate_limit.reset_time, 220);
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

ListedEsim Listed(const std::string& iccid, int64_t id, double used_mb, const std::string& status) {
  ListedEsim listed;
  listed.id = id;
  listed.iccid = iccid;
  listed.status = status;
  listed.used_bytes = used_mb * kMiB;
  listed.total_bytes = 1024 * kMiB;
  listed.package_code = "se-1gb";
  listed.package_name = "Sweden 1GB";
  listed.countries = {"Sweden", "Norway"};
  return listed;
}

// An esim.status.changed event (to ACTIVE) naming the eSIM by ICCID, id, or both.
WebhookEvent StatusChanged(const std::string& iccid, std::optional<int64_t> id) {
  WebhookEvent event;
  event.type = WebhookEventType::kStatusChanged;
  event.iccid = iccid;
  event.esim_id = id;
  event.new_status = "ACTIVE";
  return event;
}

DiscoveryRules Discover() {
  DiscoveryRules rules;
  rules.enabled = true;
  return rules;
}

ApiResult LiveUsage(const std::string& iccid, double used_bytes) {
  ApiResult result = Ok(iccid);
  result.status->used_bytes = used_bytes;
  result.status->total_bytes = 1024 * kMiB;
  result.status->esim_status = "Active";
  result.status->last_network.operator_name = "Telia";
  return result;
}

TEST(StateStoreMergeTest, EachFieldComesFromTheNewestObservation) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  const std::string key = "iccid:8948010010036785060";
  store.RecordPoll(key, LiveUsage("8948010010036785060", 300 * kMiB), 100);
  // An older listing (seen earlier than the live answer) must not win... it cannot be older
  // in time order here, so list later: the listing is newer and replaces usage and status.
  store.RecordListed({Listed("8948010010036785060", 7, 400, "DEPLETED")}, 200);
  auto record = store.Snapshot()->esims[0];
  EXPECT_EQ(record->status->used_bytes, 400 * kMiB);
  EXPECT_EQ(record->status->status, "DEPLETED");
  // Live-only fields stay from the live answer.
  EXPECT_EQ(record->status->esim_status, "Active");
  EXPECT_EQ(record->status->last_network.operator_name, "Telia");
  EXPECT_EQ(record->EsimId(), 7);
  ASSERT_TRUE(record->package);
  EXPECT_EQ(record->package->countries, "Sweden,Norway");
  // A newer live answer wins again.
  store.RecordPoll(key, LiveUsage("8948010010036785060", 500 * kMiB), 300);
  record = store.Snapshot()->esims[0];
  EXPECT_EQ(record->status->used_bytes, 500 * kMiB);
  EXPECT_EQ(record->status->status, "ACTIVE");
  EXPECT_EQ(record->last_success_time, 300);
}

TEST(StateStoreMergeTest, AListingSeenBeforeALiveAnswerDoesNotOverwriteIt) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  store.RecordPoll("iccid:8948010010036785060", LiveUsage("8948010010036785060", 500 * kMiB), 300);
  store.RecordListed({Listed("8948010010036785060", 7, 400, "ACTIVE")}, 250);
  EXPECT_EQ(store.Snapshot()->esims[0]->status->used_bytes, 500 * kMiB);
}

TEST(StateStoreMergeTest, ListedOnlyEsimIsVisibleAndMatchedById) {
  StateStore store;
  EsimConfig by_id;
  by_id.esim_id = 7;
  by_id.name = "spare";
  store.SetEsims({Esim("8948010010036785060"), by_id});
  EXPECT_FALSE(store.AllPolled());
  EXPECT_EQ(store.LiveRank("esim_id:7"), 2);  // nothing known yet
  const size_t added = store
                           .RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE"),
                                          Listed("8944500102198304826", 7, 20, "NEW"),
                                          Listed("8934000012345678905", 8, 30, "ACTIVE")},
                                         100)
                           .added();
  EXPECT_EQ(added, 0u);
  EXPECT_TRUE(store.AllPolled());
  EXPECT_EQ(store.LiveRank("esim_id:7"), 0);  // NEW
  const auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);  // the third is on the account but not monitored
  EXPECT_EQ(snapshot->esims[1]->Iccid(), "8944500102198304826");
  EXPECT_EQ(snapshot->esims[1]->status->used_bytes, 20 * kMiB);
  EXPECT_TRUE(snapshot->esims[1]->last_poll_ok);
}

// The first sweep teaches each configured eSIM the key it lacked (an id, an ICCID): lookups by
// that key find it at once. A key another eSIM has already goes to the first of them, as before.
TEST(StateStoreMergeTest, KeysLearnedFromAListingFindTheirEsims) {
  StateStore store;
  EsimConfig by_id;
  by_id.esim_id = 7;
  store.SetEsims({Esim("8948010010036785060"), by_id, Esim("8934000012345678905")});
  const auto outcome = store.RecordListed(
      {Listed("8948010010036785060", 6, 10, "ACTIVE"), Listed("8944500102198304826", 7, 20, "NEW"),
       Listed("8900000000000000001", 99, 1, "ACTIVE")},
      100);
  EXPECT_EQ(outcome.listed_keys,
            (std::vector<std::string>{"iccid:8948010010036785060", "esim_id:7"}));
  const auto key_found_by = [&store](const std::string& iccid, std::optional<int64_t> id) {
    return store.RecordEvent(StatusChanged(iccid, id), 200, 200).key;
  };
  EXPECT_EQ(key_found_by("", 6), "iccid:8948010010036785060");
  EXPECT_EQ(key_found_by("8944500102198304826", std::nullopt), "esim_id:7");
  EXPECT_EQ(key_found_by("", 99), "");  // on the account, not monitored
  // The third eSIM is listed with id 6 as well: the first eSIM keeps it.
  store.RecordListed({Listed("8934000012345678905", 6, 30, "ACTIVE")}, 300);
  EXPECT_EQ(store.Snapshot()->esims[2]->EsimId(), 6);
  EXPECT_EQ(key_found_by("", 6), "iccid:8948010010036785060");
  EXPECT_EQ(key_found_by("8934000012345678905", std::nullopt), "iccid:8934000012345678905");
}

// The other order: an eSIM learns an id a later eSIM learned first. The earlier eSIM answers
// to it, as when every index is rebuilt.
TEST(StateStoreMergeTest, AnIdLearnedTwiceGoesToTheEarlierEsim) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060"), Esim("8934000012345678905")});
  store.RecordListed({Listed("8934000012345678905", 6, 30, "ACTIVE")}, 100);
  const WebhookEvent by_id = StatusChanged("", 6);
  EXPECT_EQ(store.RecordEvent(by_id, 150, 150).key, "iccid:8934000012345678905");
  store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE")}, 200);
  EXPECT_EQ(store.RecordEvent(by_id, 250, 250).key, "iccid:8948010010036785060");
}

// What a reload compares its eSIM list with (the config in force keeps none of its own).
TEST(StateStoreDiscoveryTest, ConfiguredEsimsAreTheConfigsListInOrderWithoutDiscoveredOnes) {
  StateStore store;
  const std::vector<EsimConfig> configured = {Esim("8948010010036785060", "named"),
                                              Esim("8934000012345678905")};
  store.SetEsims(configured, /*keep_discovered=*/true);
  store.RecordListed({Listed("8944500102198304826", 7, 20, "ACTIVE")}, 100, Discover());
  ASSERT_EQ(store.MonitoredKeys().size(), 3u);
  EXPECT_TRUE(store.ConfiguredEsimsAre(configured)) << "a discovered eSIM is not configured";
  EXPECT_FALSE(store.ConfiguredEsimsAre({configured[1], configured[0]})) << "order";
  EXPECT_FALSE(store.ConfiguredEsimsAre({configured[0]})) << "one fewer";
  EXPECT_FALSE(
      store.ConfiguredEsimsAre({configured[0], configured[1], Esim("8944500102198304826")}))
      << "the discovered one named by the config";
  std::vector<EsimConfig> renamed = configured;
  renamed[1].name = "spare";
  EXPECT_FALSE(store.ConfiguredEsimsAre(renamed)) << "a new name";
  std::vector<EsimConfig> relabelled = configured;
  relabelled[0].labels = {{"site", "depot"}};
  EXPECT_FALSE(store.ConfiguredEsimsAre(relabelled)) << "new labels";
}

TEST(StateStoreDiscoveryTest, AddsListedEsimsAndDropsThemWhenGoneForStaleAfter) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060", "named")}, /*keep_discovered=*/true);
  EXPECT_EQ(store
                .RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE"),
                               Listed("8944500102198304826", 7, 20, "ACTIVE")},
                              100, Discover())
                .added(),
            1u);
  auto monitored = store.MonitoredKeys();
  ASSERT_EQ(monitored.size(), 2u);
  EXPECT_EQ(monitored[1], "iccid:8944500102198304826");
  EXPECT_EQ(store.LiveRank("iccid:8944500102198304826"), 1);  // ACTIVE
  // Listed again at 1000, the discovered one is not: gone for longer than stale_after 500.
  store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE")}, 1000, Discover());
  EXPECT_EQ(store.DropVanished(1000, 1000), 0u);
  EXPECT_EQ(store.DropVanished(1000, 500), 1u);
  monitored = store.MonitoredKeys();
  ASSERT_EQ(monitored.size(), 1u);  // configured eSIMs are never dropped
  EXPECT_EQ(monitored[0], "iccid:8948010010036785060");
}

TEST(StateStoreDiscoveryTest, ReloadKeepsDiscoveredEsimsAndLetsTheConfigNameThem) {
  StateStore store;
  store.SetEsims({}, true);
  store.RecordListed({Listed("8944500102198304826", 7, 20, "ACTIVE")}, 100, Discover());
  store.SetEsims({Esim("8944500102198304826", "now-named")}, true);
  auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 1u);
  EXPECT_FALSE(snapshot->esims[0]->discovered);
  EXPECT_EQ(snapshot->esims[0]->config.name, "now-named");
  EXPECT_EQ(snapshot->esims[0]->status->used_bytes, 20 * kMiB);  // what was learned stays
  // Discovery switched off: discovered eSIMs go.
  store.RecordListed({Listed("8934000012345678905", 8, 30, "ACTIVE")}, 200, Discover());
  EXPECT_EQ(store.Snapshot()->esims.size(), 2u);
  store.SetEsims({Esim("8944500102198304826", "now-named")}, false);
  EXPECT_EQ(store.Snapshot()->esims.size(), 1u);
}

// Live status reports GB with decimals, the list whole MB: the same usage seen alternately
// through both must keep one exported value, not flip between the two roundings.
TEST(StateStoreMergeTest, AlternatingLiveAndListedRoundingsNeverFlipTheValue) {
  StateStore store;
  const std::string iccid = "8948010010036785060";
  store.SetEsims({Esim(iccid)});
  // 0.2504 GB live is 256.41 MiB; the list says 256 MB (rounded) or 257 (rounded up elsewhere).
  const double live_used = 0.2504 * 1024 * kMiB;
  ApiResult live = LiveUsage(iccid, live_used);
  live.status->total_bytes = 2.3 * 1024 * kMiB;  // 2355.2 MiB; the list says 2355
  ListedEsim listed = Listed(iccid, 7, 256, "ACTIVE");
  listed.total_bytes = 2355 * kMiB;
  ListedEsim listed_up = listed;
  listed_up.used_bytes = 257 * kMiB;
  store.RecordPoll("iccid:" + iccid, live, 100);
  double now = 100;
  for (int round = 0; round < 5; ++round) {
    store.RecordListed({round % 2 == 0 ? listed : listed_up}, now += 10);
    auto status = *store.Snapshot()->esims[0]->status;
    EXPECT_EQ(status.used_bytes, live_used) << "after listing " << round;
    EXPECT_EQ(status.total_bytes, 2.3 * 1024 * kMiB) << "after listing " << round;
    store.RecordPoll("iccid:" + iccid, live, now += 10);
    status = *store.Snapshot()->esims[0]->status;
    EXPECT_EQ(status.used_bytes, live_used) << "after live " << round;
    EXPECT_EQ(status.total_bytes, 2.3 * 1024 * kMiB) << "after live " << round;
  }
}

TEST(StateStoreMergeTest, ARealChangeOrAListOnlyHistoryIsTaken) {
  StateStore store;
  const std::string iccid = "8948010010036785060";
  store.SetEsims({Esim(iccid)});
  store.RecordPoll("iccid:" + iccid, LiveUsage(iccid, 256.4 * kMiB), 100);
  // 1 MiB or more away: the eSIM used data since the live poll.
  store.RecordListed({Listed(iccid, 7, 258, "ACTIVE")}, 200);
  EXPECT_EQ(store.Snapshot()->esims[0]->status->used_bytes, 258 * kMiB);
  // The value now comes from the list: the next listing replaces it whatever it says.
  store.RecordListed({Listed(iccid, 7, 258.5, "ACTIVE")}, 300);
  EXPECT_EQ(store.Snapshot()->esims[0]->status->used_bytes, 258.5 * kMiB);
  // A plan without an allowance on one side is a real change too.
  ListedEsim unlimited = Listed(iccid, 7, 258.5, "ACTIVE");
  unlimited.unlimited = true;
  unlimited.total_bytes.reset();
  store.RecordListed({unlimited}, 400);
  EXPECT_FALSE(store.Snapshot()->esims[0]->status->total_bytes.has_value());
  // A listing seen before the live answer still never overwrites it.
  store.RecordPoll("iccid:" + iccid, LiveUsage(iccid, 300 * kMiB), 500);
  store.RecordListed({Listed(iccid, 7, 100, "ACTIVE")}, 450);
  EXPECT_EQ(store.Snapshot()->esims[0]->status->used_bytes, 300 * kMiB);
}

// Sweeps must not hide a live poll that keeps failing: each source keeps its own outcome.
TEST(StateStoreSourceTest, ASweepNeverHidesAFailingLivePoll) {
  StateStore store;
  const std::string iccid = "8948010010036785060";
  store.SetEsims({Esim(iccid)});
  ApiResult failed;
  failed.code = "PROVIDER_ERROR";
  failed.message = "carrier unreachable";
  for (double now = 100; now < 600; now += 100) {
    store.RecordPoll("iccid:" + iccid, failed, now);
    store.RecordListed({Listed(iccid, 7, 10, "ACTIVE")}, now + 50);
    const auto record = store.Snapshot()->esims[0];
    EXPECT_TRUE(record->live_polled);
    EXPECT_FALSE(record->last_live_ok) << "at " << now;
    EXPECT_EQ(record->last_live_success_time, 0);
    EXPECT_TRUE(record->last_list_ok);
    EXPECT_EQ(record->last_listed_time, now + 50);
    // What the landing page shows stays the live failure.
    EXPECT_FALSE(record->last_poll_ok);
    EXPECT_EQ(record->last_code, "PROVIDER_ERROR");
    // The data is fresh from the listing, and the eSIM counts as observed (/-/ready).
    EXPECT_EQ(record->last_success_time, now + 50);
    EXPECT_TRUE(record->polled);
  }
  store.RecordPoll("iccid:" + iccid, LiveUsage(iccid, 10 * kMiB), 700);
  const auto record = store.Snapshot()->esims[0];
  EXPECT_TRUE(record->last_live_ok);
  EXPECT_EQ(record->last_live_success_time, 700);
  EXPECT_EQ(record->last_listed_time, 550);
}

TEST(StateStoreSourceTest, ListedOnlyEsimShowsTheListingsOutcomeAndNoLivePoll) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  store.RecordListed({Listed("8948010010036785060", 7, 10, "ACTIVE")}, 100);
  const auto record = store.Snapshot()->esims[0];
  EXPECT_FALSE(record->live_polled);
  EXPECT_TRUE(record->last_list_ok);
  EXPECT_TRUE(record->last_poll_ok);
  EXPECT_EQ(record->last_code, "OK");
}

TEST(StateStoreSourceTest, ACompleteSweepThatDidNotListAnEsimMarksIt) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060"), Esim("8944500102198304826")});
  store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE"),
                      Listed("8944500102198304826", 7, 10, "ACTIVE")},
                     110);
  store.RecordSweep(std::nullopt, 100, 120);
  // The next sweep lists only the first; until it completes both stay listed.
  store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE")}, 210);
  EXPECT_TRUE(store.Snapshot()->esims[1]->last_list_ok);
  store.RecordSweep(std::nullopt, 200, 220);
  const auto snapshot = store.Snapshot();
  EXPECT_TRUE(snapshot->esims[0]->last_list_ok);
  EXPECT_FALSE(snapshot->esims[1]->last_list_ok);
  EXPECT_EQ(snapshot->esims[1]->last_listed_time, 110);
  EXPECT_TRUE(snapshot->account.esims_by_status.empty()) << "not the account-reading replica";
  EXPECT_EQ(snapshot->account.inventory_last_success_time, 220);
}

// Listings of many eSIMs, ids from 1000, Luhn-free ICCIDs: the store does not check them.
std::vector<ListedEsim> ManyListed(int count, int first = 0) {
  std::vector<ListedEsim> listed;
  for (int i = first; i < first + count; ++i) {
    listed.push_back(Listed("89000000000000" + std::to_string(10000 + i), 1000 + i, i, "ACTIVE"));
  }
  return listed;
}

TEST(StateStoreDiscoveryTest, TwoShardsSplitOneListingWithoutOverlap) {
  const std::vector<ListedEsim> listing = ManyListed(1000);
  std::set<std::string> seen;
  for (int index = 0; index < 2; ++index) {
    StateStore store;
    store.SetEsims({}, true);
    DiscoveryRules rules = Discover();
    rules.shard = Shard{index, 2};
    const size_t added = store.RecordListed(listing, 100, rules).added();
    EXPECT_GT(added, 400u);
    EXPECT_LT(added, 600u);
    for (const std::string& key : store.MonitoredKeys()) {
      EXPECT_TRUE(rules.shard.Owns(key)) << key;
      EXPECT_TRUE(seen.insert(key).second) << key << " on both replicas";
    }
  }
  EXPECT_EQ(seen.size(), listing.size());
}

// Another replica polls an eSIM its config names by esim_id only; its ICCID may hash to this
// replica, which must not discover it a second time.
TEST(StateStoreDiscoveryTest, LeavesEsimsOtherReplicasNameByIdAlone) {
  const std::vector<ListedEsim> listing = ManyListed(50);
  DiscoveryRules rules = Discover();
  rules.shard = Shard{0, 2};
  std::vector<ListedEsim> mine;
  for (const ListedEsim& item : listing) {
    if (rules.shard.Owns("iccid:" + item.iccid)) mine.push_back(item);
  }
  ASSERT_GE(mine.size(), 2u);
  rules.other_shards_esim_ids = {mine[0].id};
  StateStore store;
  store.SetEsims({}, true);
  EXPECT_EQ(store.RecordListed(listing, 100, rules).added(), mine.size() - 1);
  for (const std::string& key : store.MonitoredKeys()) EXPECT_NE(key, "iccid:" + mine[0].iccid);
}

TEST(StateStoreDiscoveryTest, AddsNoMoreThanTheLimitAndCountsTheRest) {
  StateStore store;
  store.SetEsims({Esim("8900000000000010000", "configured")}, true);
  DiscoveryRules rules = Discover();
  rules.max_discovered = 30;
  auto outcome = store.RecordListed(ManyListed(25), 100, rules);
  EXPECT_EQ(outcome.added(), 24u);  // the first listed one is the configured eSIM
  EXPECT_EQ(outcome.over_limit, 0u);
  outcome = store.RecordListed(ManyListed(100, 25), 100, rules);
  EXPECT_EQ(outcome.added(), 6u);
  EXPECT_EQ(outcome.over_limit, 94u);
  EXPECT_EQ(store.MonitoredKeys().size(), 31u) << "configured eSIMs do not count";
  // Monitored eSIMs are still merged at the limit.
  store.RecordListed({Listed("8900000000000010003", 1003, 77, "DEPLETED")}, 200, rules);
  EXPECT_EQ(store.Snapshot()->esims[3]->status->status, "DEPLETED");
  // Gone from the account for stale_after: room again.
  store.RecordListed(ManyListed(10), 1000, rules);
  EXPECT_EQ(store.DropVanished(1000, 500), 21u);  // 30 discovered, 9 of them listed again
  EXPECT_EQ(store.RecordListed(ManyListed(100, 25), 1000, rules).added(), 21u);
}

// Webhook events discover as sweeps do: within the limit, shared with what sweeps added, and
// each added eSIM answers to its ICCID and id at once.
TEST(StateStoreDiscoveryTest, EventsDiscoverWithinTheSameLimitAsSweeps) {
  StateStore store;
  store.SetEsims({}, true);
  DiscoveryRules rules = Discover();
  rules.max_discovered = 3;
  EXPECT_EQ(store.RecordListed(ManyListed(2), 100, rules).added(), 2u);
  auto outcome = store.RecordEvent(StatusChanged("8944500102198304826", 7), 200, 200, rules);
  EXPECT_TRUE(outcome.added);
  EXPECT_EQ(outcome.key, "iccid:8944500102198304826");
  // Found again by its id alone, and by its ICCID: not added twice.
  outcome = store.RecordEvent(StatusChanged("", 7), 210, 210, rules);
  EXPECT_TRUE(outcome.applied);
  EXPECT_FALSE(outcome.added);
  EXPECT_EQ(outcome.key, "iccid:8944500102198304826");
  EXPECT_FALSE(store.RecordEvent(StatusChanged("8944500102198304826", 7), 220, 220, rules).added);
  // The limit (3) is reached: a fourth eSIM is not added.
  outcome = store.RecordEvent(StatusChanged("8948010010036785060", 8), 230, 230, rules);
  EXPECT_FALSE(outcome.applied);
  EXPECT_EQ(store.MonitoredKeys().size(), 3u);
}

TEST(StateStoreDiscoveryTest, AnEsimListedTwiceOnOnePageIsAddedOnce) {
  StateStore store;
  store.SetEsims({}, true);
  const ListedEsim once = Listed("8944500102198304826", 7, 20, "ACTIVE");
  EXPECT_EQ(store.RecordListed({once, once}, 100, Discover()).added(), 1u);
  EXPECT_EQ(store.MonitoredKeys().size(), 1u);
}

// The renderer trusts the label sets the store keeps with each record: every change that can
// alter a label must render them again.
TEST(StateStoreLabelsTest, LabelSetsFollowEveryChangeOfTheRecord) {
  StateStore store;
  const std::string iccid = "8948010010036785060";
  auto labels_now = [&] {
    const auto snapshot = store.Snapshot();
    const EsimRecord& record = *snapshot->esims.at(0);
    EXPECT_TRUE(record.labels.has_value());
    EXPECT_EQ(*record.labels, RenderLabels(record));
    return record.labels.value_or(RenderedLabels{});
  };
  store.SetEsims({Esim(iccid, "router \"a\"")});
  EXPECT_EQ(labels_now().identity(), "iccid=\"" + iccid + "\",name=\"router \\\"a\\\"\"");
  EXPECT_EQ(labels_now().network(), "");

  store.RecordPoll("iccid:" + iccid, LiveUsage(iccid, 0), 100);
  EXPECT_EQ(labels_now().network(),
            ",operator=\"Telia\",mcc=\"\",mnc=\"\",country=\"\",country_iso2=\"\","
            "connection_type=\"\"");
  EXPECT_EQ(labels_now().info(),
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"\"");

  store.RecordListed({Listed(iccid, 1001, 10, "ACTIVE")}, 200);
  EXPECT_EQ(labels_now().package(),
            ",package_code=\"se-1gb\",package_name=\"Sweden 1GB\",countries=\"Sweden,Norway\"");
  EXPECT_EQ(labels_now().info(),
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"1001\"");

  EsimConfig renamed = Esim(iccid, "router-b");
  renamed.labels = {{"site", "syd"}};
  store.SetEsims({renamed});
  // Config labels go on every series, once: in the identity, not again in esim_info's own.
  EXPECT_EQ(labels_now().identity(), "iccid=\"" + iccid + "\",name=\"router-b\",site=\"syd\"");
  EXPECT_EQ(labels_now().info(),
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"1001\"");
}

TEST(StateStoreAccountTest, KeepsSweepTotalsAndBalance) {
  StateStore store;
  store.RecordSweep(std::map<std::string, int64_t>{{"ACTIVE", 250}, {"NEW", 30}}, 400, 500);
  store.RecordBalance({1500, "USD"});
  const auto snapshot = store.Snapshot();
  EXPECT_EQ(snapshot->account.esims_by_status.at("ACTIVE"), 250);
  EXPECT_EQ(snapshot->account.inventory_last_success_time, 500);
  EXPECT_EQ(snapshot->account.balance->currency, "USD");
}

TEST(StateStoreAccountTest, CountsSkippedEntriesAndKeepsTheDiscoveryLimit) {
  StateStore store;
  EXPECT_FALSE(store.Snapshot()->inventory.discovery_limit.has_value());
  store.RecordSkipped({2, 1, "esims[].id is missing"});
  store.RecordSkipped({3, 0, ""});
  store.SetDiscoveryLimit(500);
  store.RecordDiscoveryOverLimit(42);
  auto snapshot = store.Snapshot();
  EXPECT_EQ(snapshot->inventory.skipped_pending, 5);
  EXPECT_EQ(snapshot->inventory.skipped_malformed, 1);
  EXPECT_EQ(snapshot->inventory.discovery_limit, 500);
  EXPECT_EQ(snapshot->inventory.discovery_over_limit, 42);
  store.SetDiscoveryLimit(std::nullopt);  // discovery switched off
  snapshot = store.Snapshot();
  EXPECT_FALSE(snapshot->inventory.discovery_limit.has_value());
  EXPECT_EQ(snapshot->inventory.discovery_over_limit, 0);
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

TEST(StateStoreRestoreTest, RestoresConfiguredEsimsUnderTheirCurrentConfigAndDropsOthers) {
  StateStore before;
  before.SetEsims({Esim("8948010010036785060", "old name"), Esim("8948010010036785078")});
  before.RecordPoll(Esim("8948010010036785060").Key(), Ok("8948010010036785060"), 1000);
  before.RecordPoll(Esim("8948010010036785078").Key(), Ok("8948010010036785078"), 1001);
  std::vector<EsimRecord> saved;
  const auto saved_snapshot = before.Snapshot();
  for (const auto& record : saved_snapshot->esims) saved.push_back(*record);
  EsimRecord discovered;
  discovered.config.iccid = "8948010010036785086";
  discovered.discovered = true;
  discovered.polled = true;
  saved.push_back(discovered);

  StateStore after;
  after.SetEsims({Esim("8948010010036785060", "new name"), Esim("8948010010036785094")});
  EXPECT_EQ(after.Restore(saved, {}, /*keep_discovered=*/false), 1u);
  const auto snapshot = after.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);
  EXPECT_EQ(snapshot->esims[0]->config.name, "new name");
  ASSERT_TRUE(snapshot->esims[0]->status);
  EXPECT_EQ(snapshot->esims[0]->last_success_time, 1000);
  ASSERT_TRUE(snapshot->esims[0]->labels);
  EXPECT_FALSE(snapshot->esims[1]->polled);  // new in the config: not restored
  EXPECT_FALSE(after.AllPolled());

  StateStore discovering;
  discovering.SetEsims({Esim("8948010010036785060")}, true);
  EXPECT_EQ(discovering.Restore(saved, {}, /*keep_discovered=*/true), 2u);
  EXPECT_EQ(discovering.Snapshot()->esims.size(), 2u);
  EXPECT_TRUE(discovering.AllPolled());
}

TEST(StateStoreRestoreTest, ObservationsOfThisRunWin) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060")});
  store.RecordPoll(Esim("8948010010036785060").Key(), Ok("8948010010036785060"), 2000);
  EsimRecord old;
  old.config = Esim("8948010010036785060");
  old.polled = true;
  old.last_poll_time = 1000;
  EXPECT_EQ(store.Restore({old}, {}, false), 0u);
  EXPECT_EQ(store.Snapshot()->esims[0]->last_poll_time, 2000);
}

// The records of the state file are taken over as they are: the store keeps the very objects it
// was given (a copy would hold a large fleet twice during the restore).
TEST(StateStoreRestoreTest, RecordsAreTakenOverNotCopied) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060", "configured name"), Esim("8948010010036785078")});
  auto saved = std::make_shared<EsimRecord>();
  saved->config = Esim("8948010010036785060", "saved name");
  saved->polled = true;
  saved->last_poll_time = 1000;
  saved->last_message = std::string(100, 'm');
  const EsimRecord* const given = saved.get();
  auto duplicate = std::make_shared<EsimRecord>(*saved);
  duplicate->last_poll_time = 999;
  std::vector<std::shared_ptr<EsimRecord>> records{saved, duplicate};
  saved.reset();
  EXPECT_EQ(store.Restore(std::move(records), {}, false), 1u);
  const auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);
  EXPECT_EQ(snapshot->esims[0].get(), given);
  EXPECT_EQ(snapshot->esims[0]->config.name, "configured name");  // the config in force
  EXPECT_EQ(snapshot->esims[0]->last_poll_time, 1000);            // the first of a key counts
  EXPECT_TRUE(snapshot->esims[0]->labels);
  EXPECT_FALSE(snapshot->esims[1]->polled);
}

// A state file refused after some of its records were taken (a malformed line further on)
// restores nothing: every eSIM is as fresh as before, added ones are gone again.
TEST(StateStoreRestoreTest, AnAbandonedRestoreLeavesEveryEsimFresh) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060", "one"), Esim("8948010010036785078", "two")}, true);
  store.BeginRestore(/*keep_discovered=*/true);
  auto saved = std::make_shared<EsimRecord>();
  saved->config = Esim("8948010010036785060");
  saved->polled = true;
  saved->last_code = "OK";
  store.RestoreRecord(saved);
  auto discovered = std::make_shared<EsimRecord>();
  discovered->config.iccid = "8948010010036785086";
  discovered->discovered = true;
  discovered->polled = true;
  store.RestoreRecord(discovered);
  EXPECT_EQ(store.Snapshot()->esims.size(), 3u);  // taken at once, not held aside
  EXPECT_TRUE(store.Snapshot()->esims[0]->polled);
  store.AbandonRestore();
  const auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);
  for (const auto& record : snapshot->esims) {
    EXPECT_FALSE(record->polled);
    EXPECT_TRUE(record->last_code.empty());
    EXPECT_TRUE(record->labels);
  }
  EXPECT_EQ(snapshot->esims[0]->config.name, "one");
  EXPECT_FALSE(store.AllPolled());
  EXPECT_EQ(store.FinishRestore({}), 0u);  // nothing in progress any more
}

// A restored subscription read never replaces one this run made; turning reads off forgets both.
TEST(StateStoreTest, SubscriptionReadsRestoreRecordAndClear) {
  StateStore store;
  SubscriptionReads saved;
  saved.last_ok = true;
  saved.last_success_time = 100;
  saved.health = WebhookSubscriptionHealth{};
  saved.health->failed = 3;
  store.RestoreSubscription(saved);
  EXPECT_EQ(store.Snapshot()->webhooks.subscription.health->failed, 3);

  WebhookSubscriptionHealth fresh;
  fresh.delivered = 10;
  store.RecordSubscriptionRead(fresh, 200);
  store.RecordSubscriptionRead(std::nullopt, 300);  // failed: the previous summary stays
  store.RestoreSubscription(saved);                 // too late: ignored
  SubscriptionReads reads = store.Snapshot()->webhooks.subscription;
  EXPECT_EQ(reads.last_ok, false);
  EXPECT_EQ(reads.last_success_time, 200);
  EXPECT_EQ(reads.health, fresh);

  store.ClearSubscription();
  reads = store.Snapshot()->webhooks.subscription;
  EXPECT_FALSE(reads.last_ok);
  EXPECT_FALSE(reads.health);
}

}  // namespace
}  // namespace esim
