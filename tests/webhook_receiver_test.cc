#include "webhook_receiver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "collector.h"
#include "iso8601.h"
#include "observation_merge.h"
#include "webhook_signature.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "whsec_test_secret";
constexpr char kIccid[] = "8948010010092445039";
constexpr double kGb = 1024.0 * 1024.0 * 1024.0;
// 2026-09-13T15:05:20Z
const double kNow = *ParseIso8601("2026-09-13T15:05:20Z");

std::string Iso(double unix_seconds) {
  const time_t seconds = static_cast<time_t>(unix_seconds);
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string UsageBody(double used_gb, double at, const std::string& iccid = kIccid) {
  return R"({"event":"esim.usage.threshold","timestamp":")" + Iso(at) + R"(","data":{"iccid":")" +
         iccid +
         R"(","esim_id":23691,"package_code":"2163597","threshold_remaining_mb":500,"used_gb":)" +
         std::to_string(used_gb) + R"(,"total_gb":5,"remaining_gb":)" +
         std::to_string(5 - used_gb) + R"(,"reported_at":")" + Iso(at) + R"("}})";
}

std::string StatusBody(const std::string& status, double at) {
  return R"({"event":"esim.status.changed","timestamp":")" + Iso(at) + R"(","data":{"iccid":")" +
         kIccid + R"(","old_status":"ACTIVE","new_status":")" + status + R"(","changed_at":")" +
         Iso(at) + R"(","expiry_date":"2026-10-13T00:00:00Z"}})";
}

// A successful live answer for kIccid: ACTIVE, Enabled, `used_gb` of 5 GB used.
ApiResult LiveAnswer(double used_gb) {
  ApiResult live;
  live.code = "OK";
  live.api_up = true;
  live.status = EsimStatus{};
  live.status->iccid = kIccid;
  live.status->status = "ACTIVE";
  live.status->used_bytes = used_gb * kGb;
  live.status->total_bytes = 5 * kGb;
  live.status->profile = "Enabled";
  return live;
}

// kIccid as a sweep lists it (id 23691, ACTIVE): `used_gb` of its 5 GB used.
ListedEsim Listed(double used_gb) {
  ListedEsim listed;
  listed.id = 23691;
  listed.iccid = kIccid;
  listed.status = "ACTIVE";
  listed.used_bytes = used_gb * kGb;
  listed.total_bytes = 5 * kGb;
  return listed;
}

class WebhookReceiverTest : public testing::Test {
 protected:
  WebhookReceiverTest()
      : receiver_(store_, ids_, [this](const std::string& key) { poll_soon_.push_back(key); }) {
    EsimConfig esim;
    esim.iccid = kIccid;
    esim.name = "router";
    store_.SetEsims({esim});
    store_.SetWebhookEnabled(true);
    WebhookReceiverSettings settings;
    settings.secret = Secret(kSecret);
    settings.max_age_seconds = 3600;
    receiver_.Configure(settings);
  }

  WebhookAnswer Deliver(const std::string& body, const std::string& id, double created,
                        std::string signature = "", double now = kNow,
                        const std::string& event = "esim.usage.threshold") {
    if (signature.empty()) signature = WebhookSignature(kSecret, body);
    const std::string timestamp = Iso(created);
    WebhookRequest request{signature, timestamp, id, event, body, body.size()};
    return receiver_.Handle(request, now);
  }

  std::shared_ptr<const EsimRecord> Record() { return store_.Snapshot()->esims.at(0); }

  int64_t Count(const std::string& event, const std::string& outcome) {
    const auto snapshot = store_.Snapshot();
    const auto& deliveries = snapshot->webhooks.deliveries;
    const auto it = deliveries.find({event, outcome});
    return it == deliveries.end() ? 0 : it->second;
  }

  StateStore store_;
  DeliveryIdSet ids_;
  std::vector<std::string> poll_soon_;
  WebhookReceiver receiver_;
};

TEST_F(WebhookReceiverTest, AppliesASignedUsageThresholdAndAsksForOneLiveRead) {
  const WebhookAnswer answer = Deliver(UsageBody(4.5, kNow - 2), "whd_1", kNow - 1);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.outcome, "applied");
  EXPECT_EQ(answer.event_label, "esim.usage.threshold");
  const auto record = Record();
  ASSERT_TRUE(record->status);
  EXPECT_DOUBLE_EQ(record->status->used_bytes, 4.5 * kGb);
  EXPECT_EQ(record->status->total_bytes, 5 * kGb);
  EXPECT_EQ(record->usage_time, kNow - 2);
  EXPECT_EQ(record->last_event_time, kNow - 2);
  EXPECT_EQ(poll_soon_, std::vector<std::string>{std::string("iccid:") + kIccid});
  EXPECT_EQ(Count("esim.usage.threshold", "applied"), 1);
  EXPECT_EQ(store_.Snapshot()->webhooks.last_applied_time, kNow);
}

TEST_F(WebhookReceiverTest, MissingOrWrongSignatureIs401AndChangesNothing) {
  const std::string body = UsageBody(4.5, kNow);
  EXPECT_EQ(Deliver(body, "whd_1", kNow, "none").status, 401);
  EXPECT_EQ(Deliver(body, "whd_1", kNow, WebhookSignature("whsec_other", body)).status, 401);
  EXPECT_EQ(Deliver(body + " ", "whd_1", kNow, WebhookSignature(kSecret, body)).status, 401);
  // Nothing else is read: not even a malformed body or a stale timestamp changes the answer.
  EXPECT_EQ(Deliver("{garbage", "", 0, "sha256=00").outcome, "invalid_signature");
  EXPECT_FALSE(Record()->status);
  EXPECT_TRUE(poll_soon_.empty());
  EXPECT_EQ(Count("esim.usage.threshold", "invalid_signature"), 4);
  // The id of a refused delivery is not remembered: the genuine one is applied.
  EXPECT_EQ(Deliver(body, "whd_1", kNow).outcome, "applied");
}

TEST_F(WebhookReceiverTest, EmptySecretRefusesEverything) {
  receiver_.Configure(WebhookReceiverSettings{});
  const std::string body = UsageBody(4.5, kNow);
  EXPECT_EQ(Deliver(body, "whd_1", kNow, WebhookSignature("", body)).status, 401);
}

TEST_F(WebhookReceiverTest, TooLargeIs413BeforeTheSignatureIsComputed) {
  const std::string body(kMaxWebhookBodyBytes + 1, ' ');
  const WebhookAnswer answer = Deliver(body, "whd_1", kNow);
  EXPECT_EQ(answer.status, 413);
  EXPECT_EQ(answer.outcome, "too_large");
  // The size the server announced counts even when the body was cut off.
  WebhookRequest request{"", "", "whd_2", "esim.installed", "", kMaxWebhookBodyBytes + 1};
  EXPECT_EQ(receiver_.Handle(request, kNow).status, 413);
  EXPECT_EQ(Count("esim.installed", "too_large"), 1);
  // Exactly 64 KiB is accepted (and here malformed).
  const std::string limit(kMaxWebhookBodyBytes, ' ');
  EXPECT_EQ(Deliver(limit, "whd_3", kNow).status, 400);
}

TEST_F(WebhookReceiverTest, DuplicateIdIsAnswered2xxButNotAppliedAgain) {
  EXPECT_EQ(Deliver(UsageBody(4.5, kNow - 10), "whd_1", kNow - 10).outcome, "applied");
  poll_soon_.clear();
  // A resend of the same id, even with other (newer, signed) content, is not applied.
  const WebhookAnswer again = Deliver(UsageBody(4.9, kNow), "whd_1", kNow);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.outcome, "duplicate");
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.5 * kGb);
  EXPECT_TRUE(poll_soon_.empty());
  // 24 h later the id is forgotten.
  EXPECT_EQ(Deliver(UsageBody(4.9, kNow + 86401), "whd_1", kNow + 86401, "", kNow + 86401).outcome,
            "applied");
  EXPECT_EQ(Count("esim.usage.threshold", "duplicate"), 1);
}

TEST_F(WebhookReceiverTest, StaleOrFutureDeliveriesAreRefused) {
  // Older than max_age by the (unsigned) header.
  WebhookAnswer answer = Deliver(UsageBody(4.5, kNow), "whd_1", kNow - 3601);
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.outcome, "stale");
  // A fresh header on an old signed body: the body's timestamp counts too.
  EXPECT_EQ(Deliver(UsageBody(4.5, kNow - 7200), "whd_2", kNow).outcome, "stale");
  // From more than 5 minutes in the future.
  EXPECT_EQ(Deliver(UsageBody(4.5, kNow), "whd_3", kNow + 301).outcome, "stale");
  EXPECT_EQ(Deliver(UsageBody(4.5, kNow), "whd_4", kNow + 299).outcome, "applied");
  EXPECT_EQ(Count("esim.usage.threshold", "stale"), 3);
}

TEST_F(WebhookReceiverTest, MalformedWithAValidSignatureIs400) {
  for (const std::string body : {"{", "[]", R"({"event":"esim.usage.threshold"})",
                                 R"({"event":"esim.installed","data":{}})"}) {
    const WebhookAnswer answer = Deliver(body, "whd_" + body, kNow);
    EXPECT_EQ(answer.status, 400) << body;
    EXPECT_EQ(answer.outcome, "malformed") << body;
  }
  // No id, or no / an invalid timestamp header.
  const std::string body = UsageBody(1, kNow);
  EXPECT_EQ(Deliver(body, "", kNow).outcome, "malformed");
  EXPECT_EQ(Deliver(body, std::string(200, 'x'), kNow).outcome, "malformed");
  const std::string signature = WebhookSignature(kSecret, body);
  WebhookRequest request{signature, "yesterday", "whd_x", "", body, body.size()};
  EXPECT_EQ(receiver_.Handle(request, kNow).outcome, "malformed");
  EXPECT_FALSE(Record()->status);
}

TEST_F(WebhookReceiverTest, UnknownEventsAndProvisionedAreIgnoredWith2xx) {
  const std::string unknown = R"({"event":"order.completed","data":{"x":1}})";
  WebhookAnswer answer = Deliver(unknown, "whd_1", kNow, "", kNow, "order.completed");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.outcome, "ignored");
  EXPECT_EQ(answer.event_label, "other");
  const std::string provisioned =
      R"({"event":"esim.provisioned","data":{"iccid":")" + std::string(kIccid) +
      R"(","lpa_string":"LPA:1$smdp.example$SECRET","qr_code_url":"https://x/qr"}})";
  answer = Deliver(provisioned, "whd_2", kNow, "", kNow, "esim.provisioned");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.outcome, "ignored");
  EXPECT_THAT(answer.body, Not(HasSubstr("SECRET")));
  EXPECT_FALSE(Record()->status);
  // A made-up event name never becomes a label value of its own.
  Deliver(R"({"event":"evil.)" + std::string(100, 'x') + R"("})", "whd_3", kNow);
  EXPECT_EQ(Count("other", "ignored"), 2);
  EXPECT_EQ(Count("esim.provisioned", "ignored"), 1);
}

TEST_F(WebhookReceiverTest, UnmonitoredEsimIs2xxUnlessDiscoveryAddsIt) {
  const std::string other = "8948010010092445047";
  WebhookAnswer answer = Deliver(UsageBody(1, kNow, other), "whd_1", kNow);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.outcome, "unknown_esim");
  EXPECT_EQ(answer.added_key, "");
  EXPECT_EQ(store_.Snapshot()->esims.size(), 1u);
  EXPECT_TRUE(poll_soon_.empty());

  WebhookReceiverSettings settings;
  settings.secret = Secret(kSecret);
  settings.discovery.enabled = true;
  receiver_.Configure(settings);
  answer = Deliver(UsageBody(1, kNow, other), "whd_2", kNow);
  EXPECT_EQ(answer.outcome, "applied");
  EXPECT_EQ(answer.added_key, "iccid:" + other);  // what the poller is handed
  const auto snapshot = store_.Snapshot();
  ASSERT_EQ(snapshot->esims.size(), 2u);
  EXPECT_TRUE(snapshot->esims[1]->discovered);
  EXPECT_TRUE(snapshot->esims[1]->polled);
  EXPECT_EQ(snapshot->esims[1]->Iccid(), other);
  EXPECT_EQ(snapshot->esims[1]->listed_id, 23691);
  // Indexed as it was added: the next event finds it (by ICCID and by id), adds nothing.
  answer = Deliver(UsageBody(2, kNow + 1, other), "whd_3", kNow + 1);
  EXPECT_EQ(answer.outcome, "applied");
  EXPECT_EQ(answer.added_key, "");
  EXPECT_EQ(store_.Snapshot()->esims.size(), 2u);
  EXPECT_EQ(store_.LiveRanks({"iccid:" + other}).size(), 1u);
}

TEST_F(WebhookReceiverTest, OlderEventNeverOverwritesNewerLiveData) {
  const ApiResult live = LiveAnswer(2);
  store_.RecordPoll(std::string("iccid:") + kIccid, live, kNow - 60);
  // Events observed before the live poll: applied (2xx, counted) but no field group moves back.
  EXPECT_EQ(Deliver(UsageBody(1.5, kNow - 120), "whd_1", kNow).outcome, "applied");
  EXPECT_EQ(Deliver(StatusBody("NEW", kNow - 120), "whd_2", kNow, "", kNow, "esim.status.changed")
                .outcome,
            "applied");
  auto record = Record();
  EXPECT_DOUBLE_EQ(record->status->used_bytes, 2 * kGb);
  EXPECT_EQ(record->status->status, "ACTIVE");
  EXPECT_EQ(record->usage_time, AnswerObservedAt(kNow - 60));
  // Newer ones overwrite.
  Deliver(UsageBody(4.5, kNow - 30), "whd_3", kNow);
  Deliver(StatusBody("DEPLETED", kNow - 30), "whd_4", kNow, "", kNow, "esim.status.changed");
  record = Record();
  EXPECT_DOUBLE_EQ(record->status->used_bytes, 4.5 * kGb);
  EXPECT_EQ(record->status->status, "DEPLETED");
  EXPECT_EQ(record->status->expiry_time, ParseIso8601("2026-10-13T00:00:00Z"));
  EXPECT_EQ(record->lifecycle_time, kNow - 30);
  // A live answer older than the event does not overwrite it either.
  store_.RecordPoll(std::string("iccid:") + kIccid, live, kNow - 45);
  record = Record();
  EXPECT_DOUBLE_EQ(record->status->used_bytes, 4.5 * kGb);
  EXPECT_EQ(record->status->status, "DEPLETED");
}

TEST_F(WebhookReceiverTest, NewerListedDataOverwritesAnOlderEvent) {
  Deliver(UsageBody(4.5, kNow - 100), "whd_1", kNow);
  ListedEsim listed = Listed(4.8);
  store_.RecordListed({listed}, kNow - 50);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.8 * kGb);
  // An older listing than the event leaves the event's value.
  Deliver(UsageBody(4.9, kNow - 10), "whd_2", kNow);
  listed.used_bytes = 4.0 * kGb;
  store_.RecordListed({listed}, kNow - 20);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.9 * kGb);
}

TEST_F(WebhookReceiverTest, AnAnswerToARequestSentBeforeAnEventDoesNotUndoIt) {
  const std::string key = std::string("iccid:") + kIccid;
  const ApiResult live = LiveAnswer(2);
  // The event is created at kNow - 10 while a live request sent at kNow - 12 is on its way; the
  // answer, taken before the event, arrives after it.
  Deliver(UsageBody(4.5, kNow - 10), "whd_1", kNow - 10, "", kNow - 10);
  store_.RecordPoll(key, live, kNow - 8, kNow - 12);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.5 * kGb);
  // Event stamps are whole milliseconds: a request sent later within the event's millisecond
  // still counts as older, one sent in the next millisecond as newer.
  store_.RecordPoll(key, live, kNow - 8, kNow - 10 + 0.0009);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.5 * kGb);
  store_.RecordPoll(key, live, kNow - 8, kNow - 10 + 0.0015);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 2 * kGb);
  // The same for a listing.
  Deliver(UsageBody(4.6, kNow - 5), "whd_2", kNow - 5, "", kNow - 5);
  const ListedEsim listed = Listed(3);
  store_.RecordListed({listed}, kNow - 1, {}, kNow - 6);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 4.6 * kGb);
  EXPECT_EQ(Record()->last_listed_time, kNow - 1);
  store_.RecordListed({listed}, kNow - 1, {}, kNow - 4);
  EXPECT_DOUBLE_EQ(Record()->status->used_bytes, 3 * kGb);
}

TEST_F(WebhookReceiverTest, InstalledAndProfileEventsAndTheirMetrics) {
  const std::string installed =
      R"({"event":"esim.installed","timestamp":")" + Iso(kNow) + R"(","data":{"iccid":")" + kIccid +
      R"(","eid":"89049032000000000000000000000001","imsi":"234150000000001",)" +
      R"("installed_at":")" + Iso(kNow - 5) + R"("}})";
  EXPECT_EQ(Deliver(installed, "whd_1", kNow, "", kNow, "esim.installed").outcome, "applied");
  const std::string profile =
      R"({"event":"esim.profile.updated","timestamp":")" + Iso(kNow) + R"(","data":{"iccid":")" +
      kIccid + R"(","profile_status":"Disable","profile":"Disabled","changed_at":")" +
      Iso(kNow - 3) + R"("}})";
  EXPECT_EQ(Deliver(profile, "whd_2", kNow, "", kNow, "esim.profile.updated").outcome, "applied");
  EXPECT_TRUE(poll_soon_.empty());  // only usage and status events ask for a live read
  const auto record = Record();
  EXPECT_EQ(record->Installation().installed_time, kNow - 5);
  EXPECT_EQ(record->status->profile, "Disabled");
  EXPECT_EQ(record->last_event_time, kNow - 3);

  ExporterStatus status;
  RenderOptions options;
  options.process_metrics = false;
  std::string page = RenderMetrics(*store_.Snapshot(), status, nullptr, kNow, options);
  EXPECT_THAT(
      page,
      HasSubstr(
          "esim_installed_timestamp_seconds{iccid=\"8948010010092445039\",name=\"router\"} "));
  EXPECT_THAT(page, HasSubstr("esim_last_event_timestamp_seconds{iccid=\"8948010010092445039\""));
  EXPECT_THAT(page, HasSubstr("profile=\"Disabled\""));
  // No lifecycle status known yet: no esim_status series with an empty status.
  EXPECT_THAT(page, Not(HasSubstr("esim_status{")));
  EXPECT_THAT(
      page,
      HasSubstr("esim_webhook_deliveries_total{event=\"esim.installed\",outcome=\"applied\"} 1"));
  EXPECT_THAT(page, HasSubstr("esim_webhook_last_applied_timestamp_seconds "));
  // EID and IMSI: personal data, only when opted in.
  EXPECT_THAT(page, Not(HasSubstr("89049032000000000000000000000001")));
  EXPECT_THAT(page, Not(HasSubstr("234150000000001")));
  status.export_eid_imsi = true;
  page = RenderMetrics(*store_.Snapshot(), status, nullptr, kNow, options);
  EXPECT_THAT(page,
              HasSubstr("esim_subscriber_info{iccid=\"8948010010092445039\",name=\"router\","
                        "eid=\"89049032000000000000000000000001\",imsi=\"234150000000001\"} 1"));
}

TEST_F(WebhookReceiverTest, DeliveryIdsCanBeListedAndRestored) {
  Deliver(UsageBody(1, kNow), "whd_1", kNow);
  // The receiver records into the set it was given (the ExporterApp's durable one).
  const auto entries = ids_.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, "whd_1");
  StateStore other_store;
  DeliveryIdSet other_ids;
  other_ids.Restore(entries, kNow);
  WebhookReceiver restored(other_store, other_ids, nullptr);
  WebhookReceiverSettings settings;
  settings.secret = Secret(kSecret);
  restored.Configure(settings);
  const std::string body = UsageBody(1, kNow);
  const std::string signature = WebhookSignature(kSecret, body);
  const std::string timestamp = Iso(kNow);
  WebhookRequest request{signature, timestamp, "whd_1", "", body, body.size()};
  EXPECT_EQ(restored.Handle(request, kNow).outcome, "duplicate");
}

}  // namespace
}  // namespace esim
