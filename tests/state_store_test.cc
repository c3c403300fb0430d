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
