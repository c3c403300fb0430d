#include "observation_merge.h"

#include <gtest/gtest.h>

#include "state_store.h"
#include "webhook_event.h"

namespace esim {
namespace {

constexpr double kNow = 1764547200;

WebhookEvent Installed(double at, const std::string& eid, const std::string& imsi) {
  WebhookEvent event;
  event.type = WebhookEventType::kInstalled;
  event.iccid = "8948010010092445039";
  event.installed_at = at;
  event.eid = eid;
  event.imsi = imsi;
  return event;
}

// A record keeps one copy of its ICCID: the configured one, else the one an answer, the listing
// or an event gave; its status holds none (Iccid() names the eSIM).
TEST(ObservationMergeTest, TheIccidIsKeptOnceWhereverItComesFrom) {
  EsimStatus live;
  live.iccid = "8948010010092445039";
  live.status = "ACTIVE";

  EsimRecord by_iccid;
  by_iccid.config.iccid = live.iccid;
  MergeLive(by_iccid, live, kNow);
  EXPECT_EQ(by_iccid.learned_iccid, "");
  EXPECT_EQ(by_iccid.status->iccid, "");
  EXPECT_EQ(by_iccid.Iccid(), "8948010010092445039");

  EsimRecord by_id;
  by_id.config.esim_id = 7;
  MergeLive(by_id, live, kNow);
  EXPECT_EQ(by_id.learned_iccid, "8948010010092445039");
  EXPECT_EQ(by_id.status->iccid, "");
  EXPECT_EQ(by_id.Iccid(), "8948010010092445039");

  ListedEsim listed;
  listed.id = 7;
  listed.iccid = "8948010010092445039";
  listed.status = "ACTIVE";
  EsimRecord listed_by_iccid;
  listed_by_iccid.config.iccid = listed.iccid;
  MergeListed(listed_by_iccid, listed, kNow, kNow);
  EXPECT_EQ(listed_by_iccid.learned_iccid, "");
  EXPECT_EQ(listed_by_iccid.status->iccid, "");

  EsimRecord evented;
  evented.config.esim_id = 7;
  MergeEvent(evented, Installed(kNow - 60, "", ""), kNow - 60);
  EXPECT_EQ(evented.learned_iccid, "8948010010092445039");
  EXPECT_EQ(evented.status->iccid, "");
}

TEST(ObservationMergeTest, InstallationFactsArePointedToOnlyOnceAnEventBringsThem) {
  EsimRecord record;
  EsimStatus live;
  live.iccid = "8948010010092445039";
  live.status = "ACTIVE";
  MergeLive(record, live, kNow);
  // Most eSIMs never get an installation event: their records carry no facts at all.
  EXPECT_EQ(record.installation, nullptr);
  EXPECT_EQ(record.Installation(), InstallationFacts{});

  MergeEvent(record, Installed(kNow - 60, "89049032000000000000000000000001", "234150000000001"),
             kNow - 60);
  ASSERT_NE(record.installation, nullptr);
  EXPECT_EQ(record.Installation().installed_time, kNow - 60);
  EXPECT_EQ(record.Installation().eid, "89049032000000000000000000000001");
  EXPECT_EQ(record.Installation().imsi, "234150000000001");
  EXPECT_EQ(record.Installation().installed_observed_time, kNow - 60);
}

TEST(ObservationMergeTest, ARecordsCopiesShareItsInstallationFactsUntilAnEventChangesThem) {
  EsimRecord record;
  MergeEvent(record, Installed(kNow - 60, "eid-1", "imsi-1"), kNow - 60);
  const EsimRecord snapshot = record;  // what a scrape holds while the next event merges
  EXPECT_EQ(snapshot.installation, record.installation);

  WebhookEvent profile;
  profile.type = WebhookEventType::kProfileUpdated;
  profile.iccid = "8948010010092445039";
  profile.eid = "eid-2";
  MergeEvent(record, profile, kNow - 30);
  // The new facts keep what the event did not say; the snapshot's copy is untouched.
  EXPECT_EQ(record.Installation().eid, "eid-2");
  EXPECT_EQ(record.Installation().imsi, "imsi-1");
  EXPECT_EQ(record.Installation().installed_time, kNow - 60);
  EXPECT_EQ(snapshot.Installation().eid, "eid-1");

  // An older esim.installed than the one applied changes nothing.
  const auto before = record.installation;
  MergeEvent(record, Installed(kNow - 120, "eid-0", "imsi-0"), kNow - 120);
  EXPECT_EQ(record.installation, before);
  EXPECT_EQ(record.Installation().installed_time, kNow - 60);
}

}  // namespace
}  // namespace esim
