#include "state_store.h"

#include <gtest/gtest.h>

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
  store.RecordListed({Listed("8948010010036785060", 7, 400, "DEPLETED")}, 200, false);
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
  store.RecordListed({Listed("8948010010036785060", 7, 400, "ACTIVE")}, 250, false);
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
  const size_t added = store.RecordListed(
      {Listed("8948010010036785060", 6, 10, "ACTIVE"), Listed("8944500102198304826", 7, 20, "NEW"),
       Listed("8934000012345678905", 8, 30, "ACTIVE")},
      100, /*discover=*/false);
  EXPECT_EQ(added, 0u);
  EXPECT_TRUE(store.AllPolled());
  EXPECT_EQ(store.LiveRank("esim_id:7"), 0);  // NEW
  const auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);  // the third is on the account but not monitored
  EXPECT_EQ(snapshot->esims[1]->Iccid(), "8944500102198304826");
  EXPECT_EQ(snapshot->esims[1]->status->used_bytes, 20 * kMiB);
  EXPECT_TRUE(snapshot->esims[1]->last_poll_ok);
}

TEST(StateStoreDiscoveryTest, AddsListedEsimsAndDropsThemWhenGoneForStaleAfter) {
  StateStore store;
  store.SetEsims({Esim("8948010010036785060", "named")}, /*keep_discovered=*/true);
  EXPECT_EQ(store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE"),
                                Listed("8944500102198304826", 7, 20, "ACTIVE")},
                               100, /*discover=*/true),
            1u);
  auto monitored = store.MonitoredEsims();
  ASSERT_EQ(monitored.size(), 2u);
  EXPECT_EQ(monitored[1].Key(), "iccid:8944500102198304826");
  EXPECT_EQ(store.LiveRank("iccid:8944500102198304826"), 1);  // ACTIVE
  // Listed again at 1000, the discovered one is not: gone for longer than stale_after 500.
  store.RecordListed({Listed("8948010010036785060", 6, 10, "ACTIVE")}, 1000, true);
  EXPECT_EQ(store.DropVanished(1000, 1000), 0u);
  EXPECT_EQ(store.DropVanished(1000, 500), 1u);
  monitored = store.MonitoredEsims();
  ASSERT_EQ(monitored.size(), 1u);  // configured eSIMs are never dropped
  EXPECT_EQ(monitored[0].Key(), "iccid:8948010010036785060");
}

TEST(StateStoreDiscoveryTest, ReloadKeepsDiscoveredEsimsAndLetsTheConfigNameThem) {
  StateStore store;
  store.SetEsims({}, true);
  store.RecordListed({Listed("8944500102198304826", 7, 20, "ACTIVE")}, 100, true);
  store.SetEsims({Esim("8944500102198304826", "now-named")}, true);
  auto snapshot = store.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 1u);
  EXPECT_FALSE(snapshot->esims[0]->discovered);
  EXPECT_EQ(snapshot->esims[0]->config.name, "now-named");
  EXPECT_EQ(snapshot->esims[0]->status->used_bytes, 20 * kMiB);  // what was learned stays
  // Discovery switched off: discovered eSIMs go.
  store.RecordListed({Listed("8934000012345678905", 8, 30, "ACTIVE")}, 200, true);
  EXPECT_EQ(store.Snapshot()->esims.size(), 2u);
  store.SetEsims({Esim("8944500102198304826", "now-named")}, false);
  EXPECT_EQ(store.Snapshot()->esims.size(), 1u);
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
  EXPECT_EQ(labels_now().identity, "iccid=\"" + iccid + "\",name=\"router \\\"a\\\"\"");
  EXPECT_EQ(labels_now().network, "");

  store.RecordPoll("iccid:" + iccid, LiveUsage(iccid, 0), 100);
  EXPECT_EQ(labels_now().network,
            ",operator=\"Telia\",mcc=\"\",mnc=\"\",country=\"\",country_iso2=\"\","
            "connection_type=\"\"");
  EXPECT_EQ(labels_now().info,
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"\"");

  store.RecordListed({Listed(iccid, 1001, 10, "ACTIVE")}, 200, false);
  EXPECT_EQ(labels_now().package,
            ",package_code=\"se-1gb\",package_name=\"Sweden 1GB\",countries=\"Sweden,Norway\"");
  EXPECT_EQ(labels_now().info,
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"1001\"");

  EsimConfig renamed = Esim(iccid, "router-b");
  renamed.labels = {{"site", "syd"}};
  store.SetEsims({renamed});
  EXPECT_EQ(labels_now().identity, "iccid=\"" + iccid + "\",name=\"router-b\"");
  EXPECT_EQ(labels_now().info,
            ",esim_status=\"Active\",smdp_status=\"\",profile=\"\",esim_id=\"1001\","
            "site=\"syd\"");
}

TEST(StateStoreAccountTest, KeepsSweepTotalsAndBalance) {
  StateStore store;
  store.RecordSweep({{"ACTIVE", 250}, {"NEW", 30}}, 500);
  store.RecordBalance({1500, "USD"});
  const auto snapshot = store.Snapshot();
  EXPECT_EQ(snapshot->account.esims_by_status.at("ACTIVE"), 250);
  EXPECT_EQ(snapshot->account.inventory_last_success_time, 500);
  EXPECT_EQ(snapshot->account.balance->currency, "USD");
}

}  // namespace
}  // namespace esim
