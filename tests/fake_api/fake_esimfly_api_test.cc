// Tests of the fake eSIMfly API itself: a real server on an ephemeral loopback port, requests
// signed by the test's own signing helper (deliberately not the fake's ComputeSignature, nor
// anything from src/).
#include "fake_esimfly_api.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "fleet.h"

namespace fake_esimfly {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// --- The test's own signing, straight from the spec --------------------------------------------

std::string TestSign(const std::string& secret, const std::string& timestamp,
                     const std::string& request_id, const std::string& access_code,
                     const std::string& body) {
  const std::string message = timestamp + request_id + access_code + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string hex;
  for (unsigned int i = 0; i < mac_len; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02X", mac[i]);
    hex += byte;
  }
  return hex;
}

std::string NewUuidV4() {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const char* hex = "0123456789abcdef";
  std::string s = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  for (char& c : s) {
    if (c == 'x') c = hex[rng() % 16];
    if (c == 'y') c = hex[8 + rng() % 4];
  }
  return s;
}

std::string NowMillis(milliseconds offset = milliseconds(0)) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch() + offset)
                            .count());
}

constexpr char kAccess[] = "esf_test_access";
constexpr char kSecret[] = "sk_test_secret";

// One request to sign; tests change fields to break exactly one thing.
struct Call {
  std::string body;
  std::string signed_body;  // empty: sign `body`
  std::string access_code = kAccess;
  std::string secret = kSecret;
  std::string timestamp;   // empty: now
  std::string request_id;  // empty: fresh
  std::string signature;   // empty: computed
  std::string content_type = "application/json";
  std::string omit_header;  // one RT-* header left out
};

Json BodyFor(const std::string& iccid) { return Json{{"iccid", iccid}}; }

class FakeApiTest : public ::testing::Test {
 protected:
  Options DefaultOptions() {
    Options o;
    o.access_code = kAccess;
    o.secret_key = kSecret;
    o.keep_alive_timeout = seconds(1);
    return o;
  }

  void StartServer(Options options, std::vector<FakeEsim> fleet = DefaultFleet()) {
    api_ = std::make_unique<FakeEsimflyApi>(std::move(options), std::move(fleet));
    port_ = api_->Start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(10, 0);
  }
  void StartServer() { StartServer(DefaultOptions()); }

  httplib::Result Send(Call call, httplib::Client* client = nullptr) {
    if (call.timestamp.empty()) call.timestamp = NowMillis();
    if (call.request_id.empty()) call.request_id = NewUuidV4();
    const std::string& to_sign = call.signed_body.empty() ? call.body : call.signed_body;
    if (call.signature.empty()) {
      call.signature =
          TestSign(call.secret, call.timestamp, call.request_id, call.access_code, to_sign);
    }
    httplib::Headers headers = {{"RT-AccessCode", call.access_code},
                                {"RT-RequestID", call.request_id},
                                {"RT-Timestamp", call.timestamp},
                                {"RT-Signature", call.signature}};
    if (!call.omit_header.empty()) headers.erase(call.omit_header);
    return (client ? client : client_.get())
        ->Post(kStatusPath, headers, call.body, call.content_type.c_str());
  }

  httplib::Result SendFor(const std::string& iccid) {
    Call call;
    call.body = BodyFor(iccid).dump();
    return Send(call);
  }

  std::unique_ptr<FakeEsimflyApi> api_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

// Asserts an error answer: status, code, and the text under `text_key` (the other key absent).
void ExpectError(const httplib::Result& res, int status, const std::string& code,
                 const std::string& text_key) {
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["code"], code);
  ASSERT_TRUE(body.contains(text_key)) << res->body;
  EXPECT_TRUE(body[text_key].is_string());
  EXPECT_FALSE(body[text_key].get<std::string>().empty());
  EXPECT_FALSE(body.contains(text_key == "error" ? "message" : "error")) << res->body;
}

// `pattern`: 'd' is any decimal digit, every other character itself.
bool MatchesPattern(const std::string& s, const std::string& pattern) {
  if (s.size() != pattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (pattern[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != pattern[i]) {
      return false;
    }
  }
  return true;
}

void ExpectAuthError(const httplib::Result& res, int status, const std::string& code) {
  ExpectError(res, status, code, "error");
}
void ExpectApiError(const httplib::Result& res, int status, const std::string& code) {
  ExpectError(res, status, code, "message");
}

// --- Signing -------------------------------------------------------------------------------------

TEST(FakeApiSigningTest, SpecWorkedVector) {
  const std::string expected = "DC680D6C4FB1E005AFBA5104FF6C94D660CD23EE2801891EFF54362440F29172";
  EXPECT_EQ(TestSign("sk_your_secret_key", "1767225600000", "3b241101-e2bb-4255-8caf-4136c566a962",
                     "esf_your_access_code", R"({"iccid":"8948010010036785060"})"),
            expected);
  EXPECT_EQ(ComputeSignature("sk_your_secret_key", "1767225600000",
                             "3b241101-e2bb-4255-8caf-4136c566a962", "esf_your_access_code",
                             R"({"iccid":"8948010010036785060"})"),
            expected);
}

TEST(FakeApiSigningTest, UuidV4Recognition) {
  EXPECT_TRUE(IsUuidV4("3b241101-e2bb-4255-8caf-4136c566a962"));
  EXPECT_TRUE(IsUuidV4("3B241101-E2BB-4255-BCAF-4136C566A962"));
  EXPECT_FALSE(IsUuidV4("3b241101-e2bb-1255-8caf-4136c566a962"));    // version 1
  EXPECT_FALSE(IsUuidV4("3b241101-e2bb-4255-caf0-4136c566a962"));    // variant c
  EXPECT_FALSE(IsUuidV4("3b241101e2bb42558caf4136c566a962"));        // no dashes
  EXPECT_FALSE(IsUuidV4("3b241101-e2bb-4255-8caf-4136c566a96"));     // 35 chars
  EXPECT_FALSE(IsUuidV4("{3b241101-e2bb-4255-8caf-4136c566a962}"));  // braces
  EXPECT_FALSE(IsUuidV4("3b241101-e2bb-4255-8caf-4136c566a96g"));    // not hex
}

// The fake accepts the spec's exact worked request (with a window wide enough for its date).
TEST_F(FakeApiTest, AcceptsTheSpecWorkedRequest) {
  Options o;
  o.access_code = "esf_your_access_code";
  o.secret_key = "sk_your_secret_key";
  o.max_timestamp_age = std::chrono::hours(24 * 365 * 30);
  StartServer(o);
  Call call;
  call.access_code = "esf_your_access_code";
  call.timestamp = "1767225600000";
  call.request_id = "3b241101-e2bb-4255-8caf-4136c566a962";
  call.body = R"({"iccid":"8948010010036785060"})";
  call.signature = "DC680D6C4FB1E005AFBA5104FF6C94D660CD23EE2801891EFF54362440F29172";
  auto res = Send(call);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

// --- Success -------------------------------------------------------------------------------------

TEST_F(FakeApiTest, SignedRequestGetsTheRecord) {
  const auto now = std::chrono::system_clock::now();
  std::vector<FakeEsim> fleet = DefaultFleet(now);
  StartServer(DefaultOptions(), fleet);
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["message"], "Live eSIM status retrieved");
  EXPECT_EQ(body["data"], fleet[0].status_data);
  EXPECT_EQ(body["data"]["iccid"], kSpecExampleIccid);
  EXPECT_EQ(body["data"]["status"], "ACTIVE");
  EXPECT_EQ(body["data"]["device"]["model"], "GTF7P");
  EXPECT_EQ(body["data"]["last_network"]["connection_type"], "4G - LTE");
  EXPECT_EQ(body["data"]["data_usage"]["total_gb"], 1);
  EXPECT_FALSE(res->has_header("X-RateLimit-Limit"));  // no limit configured

  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].method, "POST");
  EXPECT_EQ(records[0].path, kStatusPath);
  EXPECT_EQ(records[0].iccid, kSpecExampleIccid);
  EXPECT_EQ(records[0].http_status, 200);
  EXPECT_EQ(records[0].code, "");
  EXPECT_EQ(records[0].access_code, kAccess);
  EXPECT_EQ(api_->RequestCount(), 1u);
}

TEST_F(FakeApiTest, LooksUpByEsimIdAndPrefersIccid) {
  StartServer();
  Call by_id;
  by_id.body = R"({"esimId":12345})";
  auto res = Send(by_id);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  Json body = Json::parse(res->body);
  EXPECT_EQ(body["data"]["iccid"], kByIdIccid);
  EXPECT_DOUBLE_EQ(body["data"]["data_usage"]["used_gb"].get<double>(), 0.5);
  EXPECT_EQ(api_->Requests().back().esim_id, kByIdEsimId);
  EXPECT_EQ(api_->Requests().back().iccid, "");

  Call both;
  both.body = Json{{"iccid", kSpecExampleIccid}, {"esimId", kByIdEsimId}}.dump();
  res = Send(both);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Json::parse(res->body)["data"]["iccid"], kSpecExampleIccid);
}

TEST_F(FakeApiTest, ContentTypeWithCharsetIsAccepted) {
  StartServer();
  Call call;
  call.body = BodyFor(kHealthy5gIccid).dump();
  call.content_type = "application/json; charset=utf-8";
  auto res = Send(call);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

// --- Authentication errors, in the documented order ---------------------------------------------

class MissingHeaderTest : public FakeApiTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(MissingHeaderTest, AnswersHmacRequired) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.omit_header = GetParam();
  ExpectAuthError(Send(call), 401, "HMAC_REQUIRED");
  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].code, "HMAC_REQUIRED");
  EXPECT_EQ(records[0].http_status, 401);
}

INSTANTIATE_TEST_SUITE_P(EachHeader, MissingHeaderTest,
                         ::testing::Values("RT-AccessCode", "RT-RequestID", "RT-Timestamp",
                                           "RT-Signature"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST_F(FakeApiTest, UnknownAccessCodeIsInvalidApiKey) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.access_code = "esf_someone_else";
  ExpectAuthError(Send(call), 401, "INVALID_API_KEY");
  EXPECT_EQ(api_->Requests().at(0).access_code, "esf_someone_else");
}

TEST_F(FakeApiTest, TimestampMustBeFreshMilliseconds) {
  StartServer();
  auto send_with = [&](const std::string& ts) {
    Call call;
    call.body = BodyFor(kSpecExampleIccid).dump();
    call.timestamp = ts;
    return Send(call);
  };
  ExpectAuthError(send_with(NowMillis(-std::chrono::minutes(6))), 401, "INVALID_TIMESTAMP");
  ExpectAuthError(send_with(NowMillis(std::chrono::minutes(6))), 401, "INVALID_TIMESTAMP");
  const std::string seconds_not_millis = std::to_string(
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  ExpectAuthError(send_with(seconds_not_millis), 401, "INVALID_TIMESTAMP");
  ExpectAuthError(send_with("1.767e12"), 401, "INVALID_TIMESTAMP");
  ExpectAuthError(send_with("-" + NowMillis()), 401, "INVALID_TIMESTAMP");
  ExpectAuthError(send_with(NowMillis() + "0"), 401, "INVALID_TIMESTAMP");  // ten times too big
  // Four minutes old is inside the default five-minute window.
  auto res = send_with(NowMillis(-std::chrono::minutes(4)));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(FakeApiTest, RequestIdMustBeUuidV4) {
  StartServer();
  auto send_with = [&](const std::string& id) {
    Call call;
    call.body = BodyFor(kSpecExampleIccid).dump();
    call.request_id = id;
    return Send(call);
  };
  ExpectAuthError(send_with("3b241101-e2bb-1255-8caf-4136c566a962"), 401, "INVALID_REQUEST_ID");
  ExpectAuthError(send_with("3b241101-e2bb-4255-7caf-4136c566a962"), 401, "INVALID_REQUEST_ID");
  ExpectAuthError(send_with("not-a-uuid"), 401, "INVALID_REQUEST_ID");
  ExpectAuthError(send_with("3b241101e2bb42558caf4136c566a962"), 401, "INVALID_REQUEST_ID");
  std::string upper = NewUuidV4();
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto res = send_with(upper);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(FakeApiTest, WrongSecretIsInvalidSignature) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.secret = "sk_wrong";
  ExpectAuthError(Send(call), 401, "INVALID_SIGNATURE");
}

TEST_F(FakeApiTest, LowercaseHexSignatureIsRejected) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.timestamp = NowMillis();
  call.request_id = NewUuidV4();
  std::string sig = TestSign(kSecret, call.timestamp, call.request_id, kAccess, call.body);
  std::transform(sig.begin(), sig.end(), sig.begin(), ::tolower);
  call.signature = sig;
  ExpectAuthError(Send(call), 401, "INVALID_SIGNATURE");
}

TEST_F(FakeApiTest, BodyAlteredAfterSigningIsInvalidSignature) {
  StartServer();
  Call call;
  call.signed_body = R"({"iccid":"8948010010036785060"})";
  call.body = R"({"iccid": "8948010010036785060"})";  // same JSON, other bytes
  ExpectAuthError(Send(call), 401, "INVALID_SIGNATURE");
  Call exact;
  exact.body = R"({"iccid": "8948010010036785060"})";  // signed as sent: fine
  auto res = Send(exact);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(FakeApiTest, ReusedRequestIdIsDuplicate) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.timestamp = NowMillis();
  call.request_id = NewUuidV4();
  auto first = Send(call);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  ExpectAuthError(Send(call), 409, "DUPLICATE_REQUEST");
  // Even a fresh timestamp and signature do not make an old id new.
  call.timestamp = NowMillis(milliseconds(5));
  ExpectAuthError(Send(call), 409, "DUPLICATE_REQUEST");
  EXPECT_EQ(api_->SeenRequestIdCount(), 1u);
}

TEST_F(FakeApiTest, RejectedSignatureDoesNotBurnTheRequestId) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.request_id = NewUuidV4();
  call.secret = "sk_wrong";
  ExpectAuthError(Send(call), 401, "INVALID_SIGNATURE");
  call.secret = kSecret;
  auto res = Send(call);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(FakeApiTest, SeenRequestIdsAreForgottenAfterTheWindow) {
  Options o = DefaultOptions();
  o.max_timestamp_age = milliseconds(400);
  StartServer(o);
  ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_EQ(api_->SeenRequestIdCount(), 2u);
  std::this_thread::sleep_for(milliseconds(900));
  ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_EQ(api_->SeenRequestIdCount(), 1u);
}

TEST_F(FakeApiTest, NonJsonContentTypeIsRejected) {
  StartServer();
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.content_type = "text/plain";
  ExpectApiError(Send(call), 415, "UNSUPPORTED_MEDIA_TYPE");
}

// --- Request body and eSIM errors ----------------------------------------------------------------

TEST_F(FakeApiTest, MissingIdentifier) {
  StartServer();
  for (const char* body : {R"({})", R"({"esimId":"12345"})", R"({"iccid":""})", R"({"iccid":null})",
                           R"({"iccid":8948010010036785060})", R"({"esimId":0})",
                           R"({"ICCID":"8948010010036785060"})"}) {
    Call call;
    call.body = body;
    SCOPED_TRACE(body);
    ExpectApiError(Send(call), 400, "MISSING_IDENTIFIER");
  }
}

TEST_F(FakeApiTest, NonObjectBodyIsInvalidRequest) {
  StartServer();
  for (const char* body : {"not json", R"(["8948010010036785060"])"}) {
    Call call;
    call.body = body;
    SCOPED_TRACE(body);
    ExpectApiError(Send(call), 400, "INVALID_REQUEST");
  }
}

TEST_F(FakeApiTest, UnknownEsimIsNotFound) {
  StartServer();
  ExpectApiError(SendFor("8900000000000000009"), 404, "ESIM_NOT_FOUND");
  Call by_id;
  by_id.body = R"({"esimId":999999})";
  ExpectApiError(Send(by_id), 404, "ESIM_NOT_FOUND");
}

TEST_F(FakeApiTest, ForbiddenEsim) {
  StartServer();
  ExpectApiError(SendFor(kForbiddenIccid), 403, "FORBIDDEN");
}

TEST_F(FakeApiTest, ProviderErrorEsim) {
  StartServer();
  ExpectApiError(SendFor(kProviderErrorIccid), 502, "PROVIDER_ERROR");
  EXPECT_EQ(api_->Requests().back().code, "PROVIDER_ERROR");
  EXPECT_EQ(api_->Requests().back().http_status, 502);
}

TEST_F(FakeApiTest, OtherEsimLevelRefusalsAre403) {
  StartServer();
  FakeEsim esim = DefaultFleet()[0];
  esim.error_code = "ESIM_ACCESS_DENIED";
  api_->UpsertEsim(esim);
  ExpectApiError(SendFor(kSpecExampleIccid), 403, "ESIM_ACCESS_DENIED");
}

TEST_F(FakeApiTest, UpsertAndRemoveChangeAnswers) {
  StartServer();
  api_->RemoveEsim(kSpecExampleIccid);
  ExpectApiError(SendFor(kSpecExampleIccid), 404, "ESIM_NOT_FOUND");

  FakeEsim changed = DefaultFleet()[0];
  changed.status_data["data_usage"]["used_gb"] = 0.9;
  api_->UpsertEsim(changed);
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_DOUBLE_EQ(Json::parse(res->body)["data"]["data_usage"]["used_gb"].get<double>(), 0.9);

  // A new id for an existing ICCID moves the id index with it.
  changed.id = 777;
  api_->UpsertEsim(changed);
  Call old_id;
  old_id.body = R"({"esimId":1001})";
  ExpectApiError(Send(old_id), 404, "ESIM_NOT_FOUND");
  Call new_id;
  new_id.body = R"({"esimId":777})";
  res = Send(new_id);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(api_->FleetSize(), 10u);
}

// --- Rate limit ----------------------------------------------------------------------------------

TEST_F(FakeApiTest, RateLimitExhaustsWithHeadersAndRetryAfter) {
  Options o = DefaultOptions();
  o.rate_limit_per_minute = 2;
  StartServer(o);
  const int64_t now_s =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto first = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("X-RateLimit-Limit"), "2");
  EXPECT_EQ(first->get_header_value("X-RateLimit-Remaining"), "1");
  const int64_t reset = std::stoll(first->get_header_value("X-RateLimit-Reset"));
  EXPECT_GE(reset, now_s + 59);
  EXPECT_LE(reset, now_s + 62);

  // An authentication failure carries the headers but does not consume the budget.
  Call bad;
  bad.body = BodyFor(kSpecExampleIccid).dump();
  bad.secret = "sk_wrong";
  auto rejected = Send(bad);
  ExpectAuthError(rejected, 401, "INVALID_SIGNATURE");
  EXPECT_EQ(rejected->get_header_value("X-RateLimit-Remaining"), "1");

  // A 404 consumes it like any authenticated request.
  ExpectApiError(SendFor("8900000000000000009"), 404, "ESIM_NOT_FOUND");
  auto limited = SendFor(kSpecExampleIccid);
  ExpectApiError(limited, 429, "RATE_LIMIT_EXCEEDED");
  EXPECT_EQ(limited->get_header_value("X-RateLimit-Remaining"), "0");
  EXPECT_EQ(limited->get_header_value("X-RateLimit-Limit"), "2");
  EXPECT_EQ(std::stoll(limited->get_header_value("X-RateLimit-Reset")), reset);
  const int retry_after = std::stoi(limited->get_header_value("Retry-After"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(api_->Requests().back().code, "RATE_LIMIT_EXCEEDED");
}

TEST_F(FakeApiTest, RateLimitResetAsIso8601) {
  Options o = DefaultOptions();
  o.rate_limit_per_minute = 5;
  o.reset_header_iso8601 = true;
  StartServer(o);
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string reset = res->get_header_value("X-RateLimit-Reset");
  EXPECT_TRUE(MatchesPattern(reset, "dddd-dd-ddTdd:dd:dd.dddZ")) << reset;
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "4");
}

TEST_F(FakeApiTest, RateLimitWindowStartsAfresh) {
  Options o = DefaultOptions();
  o.rate_limit_per_minute = 1;
  o.rate_limit_window = milliseconds(500);
  StartServer(o);
  EXPECT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_EQ(SendFor(kSpecExampleIccid)->status, 429);
  std::this_thread::sleep_for(milliseconds(600));
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), "0");
}

TEST_F(FakeApiTest, RateLimitCanBeChangedAtRuntime) {
  StartServer();
  EXPECT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  api_->SetRateLimitPerMinute(1);
  EXPECT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_EQ(SendFor(kSpecExampleIccid)->status, 429);
}

// --- Transport -----------------------------------------------------------------------------------

TEST_F(FakeApiTest, UnknownPathsAreRecordedAs404) {
  StartServer();
  auto res = client_->Get("/api/v1/business/nothing");
  ExpectApiError(res, 404, "NOT_FOUND");
  res = client_->Get(kStatusPath);
  ExpectApiError(res, 405, "METHOD_NOT_ALLOWED");
  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].path, "/api/v1/business/nothing");
  EXPECT_EQ(records[0].http_status, 404);
  EXPECT_EQ(records[1].code, "METHOD_NOT_ALLOWED");
}

TEST_F(FakeApiTest, EveryRequestIsRecordedInOrder) {
  StartServer();
  SendFor(kSpecExampleIccid);
  Call bad;
  bad.body = BodyFor(kForbiddenIccid).dump();
  bad.secret = "sk_wrong";
  Send(bad);
  SendFor(kProviderErrorIccid);
  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].code, "");
  EXPECT_EQ(records[1].code, "INVALID_SIGNATURE");
  EXPECT_EQ(records[1].iccid, kForbiddenIccid);
  EXPECT_EQ(records[2].code, "PROVIDER_ERROR");
  EXPECT_LE(records[0].at, records[1].at);
  EXPECT_LE(records[1].at, records[2].at);
  api_->ClearRequests();
  EXPECT_EQ(api_->RequestCount(), 0u);
  EXPECT_TRUE(api_->Requests().empty());
}

TEST_F(FakeApiTest, RecordsAreBoundedWhenAsked) {
  Options o = DefaultOptions();
  o.max_recorded_requests = 2;
  StartServer(o);
  SendFor(kSpecExampleIccid);
  SendFor(kForbiddenIccid);
  SendFor(kProviderErrorIccid);
  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].iccid, kForbiddenIccid);
  EXPECT_EQ(api_->RequestCount(), 3u);
}

TEST_F(FakeApiTest, ConnectionCountShowsKeepAlive) {
  StartServer();
  client_->set_keep_alive(true);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_EQ(api_->ConnectionCount(), 1u);
  httplib::Client other("127.0.0.1", port_);  // keep-alive off: one connection per request
  for (int i = 0; i < 2; ++i) {
    Call call;
    call.body = BodyFor(kSpecExampleIccid).dump();
    ASSERT_EQ(Send(call, &other)->status, 200);
  }
  EXPECT_EQ(api_->ConnectionCount(), 3u);
  EXPECT_EQ(api_->RequestCount(), 5u);
}

TEST_F(FakeApiTest, LatencyIsAddedBeforeTheAnswer) {
  Options o = DefaultOptions();
  o.latency = milliseconds(500);
  StartServer(o);
  const auto start = std::chrono::steady_clock::now();
  auto res = SendFor(kSpecExampleIccid);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(elapsed, milliseconds(500));
  api_->SetLatency(milliseconds(0));
  const auto start2 = std::chrono::steady_clock::now();
  ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start2, milliseconds(400));
}

TEST_F(FakeApiTest, StartTwiceThrowsAndBusyPortIsBindError) {
  StartServer();
  EXPECT_THROW(api_->Start(), std::runtime_error);
  FakeEsimflyApi second(DefaultOptions());
  EXPECT_THROW(second.Start("127.0.0.1", port_), BindError);
  api_->Stop();
  api_->Stop();  // idempotent
  EXPECT_FALSE(client_->Get("/")) << "still serving after Stop()";
}

// The server certificate: the build's (ESIM_TEST_CERT_DIR), else a self-signed one made here.
struct CertFiles {
  std::string ca, cert, key;
};

CertFiles TestCertificates() {
#ifdef ESIM_TEST_CERT_DIR
  const std::string dir = ESIM_TEST_CERT_DIR;
  return {dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
#else
  static const CertFiles files = [] {
    char tmpl[] = "/tmp/fake_esimfly_certs_XXXXXX";
    const char* dir_c = mkdtemp(tmpl);
    if (dir_c == nullptr) throw std::runtime_error("mkdtemp failed");
    const std::string dir = dir_c;
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        dir + "/server.key -out " + dir + "/server.pem 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed: " + cmd);
    return CertFiles{dir + "/server.pem", dir + "/server.pem", dir + "/server.key"};
  }();
  return files;
#endif
}

TEST_F(FakeApiTest, ServesHttpsWithTheGivenCertificate) {
  const CertFiles certs = TestCertificates();
  Options o = DefaultOptions();
  o.tls_cert_file = certs.cert;
  o.tls_key_file = certs.key;
  StartServer(o);
  EXPECT_EQ(api_->BaseUrl(), "https://127.0.0.1:" + std::to_string(port_));

  httplib::Client tls("https://127.0.0.1:" + std::to_string(port_));
  tls.set_ca_cert_path(certs.ca.c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_keep_alive(true);
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  auto res = Send(call, &tls);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Json::parse(res->body)["data"]["iccid"], kSpecExampleIccid);
  ASSERT_EQ(Send(call, &tls)->status, 200);  // fresh id per Send
  EXPECT_EQ(api_->ConnectionCount(), 1u);

  // Plain HTTP to the TLS port gets no answer.
  EXPECT_FALSE(client_->Post(kStatusPath, call.body, "application/json"));
}

TEST(FakeApiTlsTest, MissingCertificateFailsToStart) {
  Options o;
  o.tls_cert_file = "/nonexistent/server.pem";
  o.tls_key_file = "/nonexistent/server.key";
  FakeEsimflyApi api(o);
  EXPECT_THROW(api.Start(), std::runtime_error);
  o.tls_key_file.clear();
  FakeEsimflyApi half(o);
  EXPECT_THROW(half.Start(), std::runtime_error);
}

// --- Fleets --------------------------------------------------------------------------------------

TEST(FleetTest, Luhn) {
  EXPECT_TRUE(IsLuhnValid("79927398713"));
  EXPECT_FALSE(IsLuhnValid("79927398710"));
  EXPECT_TRUE(IsLuhnValid("8948010010036785060"));
  EXPECT_FALSE(IsLuhnValid("8948010010036785061"));
  EXPECT_FALSE(IsLuhnValid(""));
  EXPECT_FALSE(IsLuhnValid("7992739871a"));
  EXPECT_EQ(AppendLuhnCheckDigit("7992739871"), "79927398713");
}

TEST(FleetTest, DefaultFleetCoversEveryShape) {
  const auto now = std::chrono::system_clock::now();
  const std::string now_iso = FormatIso8601Millis(now);
  const auto fleet = DefaultFleet(now);
  ASSERT_EQ(fleet.size(), 10u);
  std::set<std::string> iccids;
  std::set<int64_t> ids;
  std::map<std::string, const FakeEsim*> by_iccid;
  for (const FakeEsim& e : fleet) {
    SCOPED_TRACE(e.iccid);
    EXPECT_EQ(e.iccid.size(), 19u);
    EXPECT_TRUE(IsLuhnValid(e.iccid));
    EXPECT_EQ(e.status_data["iccid"], e.iccid);
    iccids.insert(e.iccid);
    ids.insert(e.id);
    by_iccid[e.iccid] = &e;
    for (const char* key :
         {"status", "esim_status", "smdp_status", "profile", "unlimited", "last_network", "device",
          "activation_date", "last_usage_date", "expiry_date", "data_usage"}) {
      EXPECT_TRUE(e.status_data.contains(key)) << key;
    }
  }
  EXPECT_EQ(iccids.size(), 10u);
  EXPECT_EQ(ids.size(), 10u);

  const Json& spec = by_iccid.at(kSpecExampleIccid)->status_data;
  EXPECT_EQ(spec["device"]["model"], "GTF7P");
  EXPECT_EQ(spec["last_network"]["operator"], "Optus");
  EXPECT_EQ(spec["data_usage"]["used_gb"], 0);
  EXPECT_EQ(spec["data_usage"]["total_gb"], 1);
  EXPECT_EQ(spec["expiry_date"],
            FormatIso8601Millis(std::chrono::floor<milliseconds>(now) + std::chrono::days(20)));

  const Json& unlimited = by_iccid.at(kUnlimitedIccid)->status_data;
  EXPECT_EQ(unlimited["unlimited"], true);
  EXPECT_TRUE(unlimited["data_usage"]["total_gb"].is_null());
  EXPECT_EQ(unlimited["data_usage"]["unlimited"], true);

  const Json& depleted = by_iccid.at(kDepletedIccid)->status_data;
  EXPECT_EQ(depleted["status"], "DEPLETED");
  EXPECT_EQ(depleted["data_usage"]["used_gb"], depleted["data_usage"]["total_gb"]);

  const Json& expired = by_iccid.at(kExpiredIccid)->status_data;
  EXPECT_EQ(expired["status"], "EXPIRED");
  EXPECT_LT(expired["expiry_date"].get<std::string>(), now_iso);

  const Json& fresh = by_iccid.at(kNewIccid)->status_data;
  EXPECT_EQ(fresh["status"], "NEW");
  EXPECT_TRUE(fresh["profile"].is_null());
  for (const auto& [key, value] : fresh["last_network"].items())
    EXPECT_TRUE(value.is_null()) << key;
  for (const auto& [key, value] : fresh["device"].items()) EXPECT_TRUE(value.is_null()) << key;
  EXPECT_TRUE(fresh["activation_date"].is_null());
  EXPECT_TRUE(fresh["expiry_date"].is_null());
  EXPECT_EQ(fresh["data_usage"]["total_gb"], 5);

  EXPECT_EQ(by_iccid.at(kByIdIccid)->id, 12345);
  EXPECT_EQ(by_iccid.at(kForbiddenIccid)->error_code, "FORBIDDEN");
  EXPECT_EQ(by_iccid.at(kProviderErrorIccid)->error_code, "PROVIDER_ERROR");

  const Json& alerting = by_iccid.at(kAlertingIccid)->status_data;
  EXPECT_DOUBLE_EQ(alerting["data_usage"]["used_gb"].get<double>() /
                       alerting["data_usage"]["total_gb"].get<double>(),
                   0.85);
  EXPECT_EQ(alerting["expiry_date"],
            FormatIso8601Millis(std::chrono::floor<milliseconds>(now) + std::chrono::days(3)));

  const Json& healthy = by_iccid.at(kHealthy5gIccid)->status_data;
  EXPECT_EQ(healthy["last_network"]["connection_type"], "5G");
  EXPECT_GT(healthy["expiry_date"].get<std::string>(), now_iso);
}

TEST(FleetTest, Iso8601Format) {
  const auto t = std::chrono::system_clock::time_point(milliseconds(1767225600123));
  EXPECT_EQ(FormatIso8601Millis(t), "2026-01-01T00:00:00.123Z");
}

TEST(FleetTest, GeneratedFleetIsValidVariedAndDeterministic) {
  const auto now = std::chrono::system_clock::now();
  const auto fleet = GenerateFleet(2000, now);
  ASSERT_EQ(fleet.size(), 2000u);
  std::set<std::string> iccids;
  std::set<int64_t> ids;
  std::map<std::string, int> statuses;
  int unlimited = 0;
  for (const FakeEsim& e : fleet) {
    ASSERT_EQ(e.iccid.size(), 19u) << e.iccid;
    ASSERT_TRUE(IsLuhnValid(e.iccid)) << e.iccid;
    EXPECT_TRUE(e.error_code.empty());
    EXPECT_EQ(e.status_data["iccid"], e.iccid);
    iccids.insert(e.iccid);
    ids.insert(e.id);
    statuses[e.status_data["status"]]++;
    if (e.status_data["unlimited"] == true) {
      ++unlimited;
      EXPECT_TRUE(e.status_data["data_usage"]["total_gb"].is_null());
    } else {
      EXPECT_LE(e.status_data["data_usage"]["used_gb"].get<double>(),
                e.status_data["data_usage"]["total_gb"].get<double>());
    }
  }
  EXPECT_EQ(iccids.size(), 2000u);
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(statuses["NEW"], 100);
  EXPECT_EQ(statuses["DEPLETED"], 100);
  EXPECT_EQ(statuses["EXPIRED"], 100);
  EXPECT_EQ(statuses["ACTIVE"], 1700);
  EXPECT_EQ(unlimited, 200);
  EXPECT_EQ(FleetToJson(GenerateFleet(50, now)), FleetToJson(GenerateFleet(50, now)));
}

TEST(FleetTest, FleetFileRoundTripAndErrors) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("fake_esimfly_fleet_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fleet = DefaultFleet();
  const std::string good = (dir / "fleet.json").string();
  std::ofstream(good) << FleetToJson(fleet).dump(2);
  const auto loaded = LoadFleetFile(good);
  ASSERT_EQ(loaded.size(), fleet.size());
  for (size_t i = 0; i < fleet.size(); ++i) {
    EXPECT_EQ(loaded[i].iccid, fleet[i].iccid);
    EXPECT_EQ(loaded[i].id, fleet[i].id);
    EXPECT_EQ(loaded[i].status_data, fleet[i].status_data);
    EXPECT_EQ(loaded[i].error_code, fleet[i].error_code);
  }

  auto expect_load_error = [&](const std::string& content, const std::string& fragment) {
    const std::string path = (dir / "bad.json").string();
    std::ofstream(path) << content;
    try {
      LoadFleetFile(path);
      ADD_FAILURE() << "loaded: " << content;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_load_error("{}", "array");
  expect_load_error("[{]", "invalid JSON");
  expect_load_error(R"([{"iccid":"1","status_data":{}}])", "\"id\"");
  expect_load_error(R"([{"iccid":"1","id":1}])", "status_data");
  expect_load_error(
      R"([{"iccid":"1","id":1,"status_data":{}},{"iccid":"1","id":2,"status_data":{}}])",
      "duplicate iccid");
  expect_load_error(R"([{"iccid":"1","id":1,"status_data":{},"extra":1}])", "unknown key");
  EXPECT_THROW(LoadFleetFile((dir / "missing.json").string()), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fake_esimfly
