// Tests of the fake eSIMfly API itself: a real server on an ephemeral loopback port, requests
// signed by the test's own signing helper (deliberately not the fake's ComputeSignature, nor
// anything from src/).
#include "fake_esimfly_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "fleet.h"

namespace fake_esimfly {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

  // A signed GET of `path_and_query` (sent as written: the test encodes the query itself). The
  // signature covers `call.signed_body`, the empty string unless a test breaks it; `call.body`
  // and `call.content_type` are not used.
  httplib::Result SendGet(const std::string& path_and_query, Call call = {},
                          httplib::Client* client = nullptr) {
    if (call.timestamp.empty()) call.timestamp = NowMillis();
    if (call.request_id.empty()) call.request_id = NewUuidV4();
    if (call.signature.empty()) {
      call.signature = TestSign(call.secret, call.timestamp, call.request_id, call.access_code,
                                call.signed_body);
    }
    httplib::Headers headers = {{"RT-AccessCode", call.access_code},
                                {"RT-RequestID", call.request_id},
                                {"RT-Timestamp", call.timestamp},
                                {"RT-Signature", call.signature}};
    if (!call.omit_header.empty()) headers.erase(call.omit_header);
    httplib::Client* c = client ? client : client_.get();
    c->set_path_encode(false);
    return c->Get(path_and_query.c_str(), headers);
  }

  httplib::Result SendList(const std::string& query) {
    return SendGet(std::string(kListPath) + (query.empty() ? "" : "?" + query));
  }

  // A listing that must succeed: its parsed body, checked for the documented envelope.
  Json List(const std::string& query) {
    auto res = SendList(query);
    if (!res) {
      ADD_FAILURE() << query << ": " << httplib::to_string(res.error());
      return Json::object();
    }
    EXPECT_EQ(res->status, 200) << query << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    Json body = Json::parse(res->body);
    EXPECT_EQ(body["success"], true);
    EXPECT_TRUE(body["data"]["esims"].is_array()) << res->body;
    EXPECT_TRUE(body["data"]["pagination"].is_object()) << res->body;
    return body;
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
  EXPECT_EQ(api_->FleetSize(), kDefaultFleetSize);
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

// --- Fault injection ---------------------------------------------------------------------------

TEST_F(FakeApiTest, FaultsAnswerAsDocumentedAndSwitchOff) {
  Options o = DefaultOptions();
  o.fault_retry_after = seconds(7);
  StartServer(o);
  EXPECT_FALSE(api_->SetFault("8900000000000000000", Fault::kServerError));

  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kRateLimitedRetryAfter));
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  ExpectError(res, 429, "RATE_LIMIT_EXCEEDED", "message");
  EXPECT_EQ(res->get_header_value("Retry-After"), "7");

  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kRateLimitedBare));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_FALSE(res->has_header("Retry-After"));
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain");
  EXPECT_FALSE(Json::accept(res->body)) << res->body;

  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kServerError));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html");
  EXPECT_THAT(res->body, HasSubstr("<h1>500 Internal Server Error</h1>"));

  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kGarbage));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(Json::accept(res->body)) << res->body;

  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kWrongTypes));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  Json body = Json::parse(res->body);
  EXPECT_EQ(body["success"], true);
  EXPECT_TRUE(body["data"]["data_usage"]["used_gb"].is_string()) << res->body;
  EXPECT_TRUE(body["data"]["data_usage"]["total_gb"].is_string()) << res->body;
  EXPECT_EQ(body["data"]["iccid"], kSpecExampleIccid);

  // Other eSIMs are unaffected all along; switched off, the eSIM answers normally again.
  res = SendFor(kHealthy5gIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kNone));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(Json::parse(res->body)["data"]["data_usage"]["used_gb"].is_number());

  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 7u);
  const std::vector<std::pair<Fault, int>> expected = {{Fault::kRateLimitedRetryAfter, 429},
                                                       {Fault::kRateLimitedBare, 429},
                                                       {Fault::kServerError, 500},
                                                       {Fault::kGarbage, 200},
                                                       {Fault::kWrongTypes, 200},
                                                       {Fault::kNone, 200},
                                                       {Fault::kNone, 200}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(records[i].fault, expected[i].first) << i;
    EXPECT_EQ(records[i].http_status, expected[i].second) << i;
  }
  EXPECT_EQ(records[0].code, "RATE_LIMIT_EXCEEDED");
}

TEST_F(FakeApiTest, FaultsStillRequireAuthentication) {
  StartServer();
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kHang));
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.secret = "sk_wrong";
  ExpectError(Send(call), 401, "INVALID_SIGNATURE", "error");
  EXPECT_EQ(api_->HangingCount(), 0u);
}

TEST_F(FakeApiTest, HugeBodyIsStreamedValidJsonOfTheConfiguredSize) {
  EXPECT_EQ(Options{}.huge_body_bytes, size_t{64} << 20);
  Options o = DefaultOptions();
  o.huge_body_bytes = size_t{3} << 20;
  StartServer(o);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kHugeBody));
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), size_t{3} << 20);
  EXPECT_EQ(res->get_header_value("Content-Length"), std::to_string(size_t{3} << 20));
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["success"], true);
  EXPECT_EQ(body["data"]["iccid"], kSpecExampleIccid);

  // A client that gives up after 1 MiB (as the exporter does) just loses the connection; the
  // server goes on serving.
  size_t received = 0;
  httplib::Client capped("127.0.0.1", port_);
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  call.timestamp = NowMillis();
  call.request_id = NewUuidV4();
  call.signature = TestSign(kSecret, call.timestamp, call.request_id, kAccess, call.body);
  httplib::Request req;
  req.method = "POST";
  req.path = kStatusPath;
  req.headers = {{"RT-AccessCode", kAccess},
                 {"RT-RequestID", call.request_id},
                 {"RT-Timestamp", call.timestamp},
                 {"RT-Signature", call.signature},
                 {"Content-Type", "application/json"}};
  req.body = call.body;
  req.content_receiver = [&](const char*, size_t size, uint64_t, uint64_t) {
    received += size;
    return received < (size_t{1} << 20);
  };
  httplib::Response cut;
  httplib::Error error = httplib::Error::Success;
  EXPECT_FALSE(capped.send(req, cut, error));
  EXPECT_LT(received, size_t{2} << 20);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kNone));
  res = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(FakeApiTest, ConnectionResetAnswersNothing) {
  StartServer();
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kConnectionReset));
  // On a kept-alive connection that already carried an answer, too.
  ASSERT_EQ(SendFor(kHealthy5gIccid)->status, 200);
  auto res = SendFor(kSpecExampleIccid);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Read) << httplib::to_string(res.error());
  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].fault, Fault::kConnectionReset);
  EXPECT_EQ(records[1].http_status, 0);
  // The server is fine, and the eSIM answers again once the fault is off.
  ASSERT_EQ(SendFor(kHealthy5gIccid)->status, 200);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kNone));
  ASSERT_EQ(SendFor(kSpecExampleIccid)->status, 200);
}

TEST_F(FakeApiTest, ConnectionResetOverHttps) {
  const CertFiles certs = TestCertificates();
  Options o = DefaultOptions();
  o.tls_cert_file = certs.cert;
  o.tls_key_file = certs.key;
  StartServer(o);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kConnectionReset));
  httplib::Client tls("https://127.0.0.1:" + std::to_string(port_));
  tls.set_ca_cert_path(certs.ca.c_str());
  tls.enable_server_certificate_verification(true);
  Call call;
  call.body = BodyFor(kSpecExampleIccid).dump();
  EXPECT_FALSE(Send(call, &tls));
  call.body = BodyFor(kHealthy5gIccid).dump();
  auto res = Send(call, &tls);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(FakeApiTest, HangHoldsTheRequestUntilTheFaultIsSwitchedOff) {
  StartServer();
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kHang));
  // A client with a short read timeout gives up.
  client_->set_read_timeout(1, 0);
  const auto started = std::chrono::steady_clock::now();
  auto res = SendFor(kSpecExampleIccid);
  EXPECT_FALSE(res);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(900));
  EXPECT_EQ(api_->HangingCount(), 1u);  // still held on the server side
  EXPECT_EQ(api_->RequestCount(), 1u);  // recorded on arrival

  // A patient client gets the normal answer once the fault is switched off.
  httplib::Client patient("127.0.0.1", port_);
  patient.set_read_timeout(30, 0);
  std::optional<httplib::Result> late;
  std::thread waiter([&] {
    Call call;
    call.body = BodyFor(kSpecExampleIccid).dump();
    late.emplace(Send(call, &patient));
  });
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (api_->HangingCount() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(api_->HangingCount(), 2u);
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kNone));
  waiter.join();
  ASSERT_TRUE(late && *late) << httplib::to_string(late->error());
  EXPECT_EQ((*late)->status, 200);
  EXPECT_EQ(Json::parse((*late)->body)["data"]["iccid"], kSpecExampleIccid);
  // The first request, whose client gave up, is released too (its answer goes nowhere).
  const auto released_by = std::chrono::steady_clock::now() + seconds(5);
  while (api_->HangingCount() > 0 && std::chrono::steady_clock::now() < released_by) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(api_->HangingCount(), 0u);
  EXPECT_EQ(api_->Requests()[0].fault, Fault::kHang);
}

TEST_F(FakeApiTest, HangDoesNotDelayStop) {
  StartServer();
  ASSERT_TRUE(api_->SetFault(kSpecExampleIccid, Fault::kHang));
  client_->set_read_timeout(60, 0);
  bool answered = true;
  std::thread hanging([&] { answered = static_cast<bool>(SendFor(kSpecExampleIccid)); });
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (api_->HangingCount() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(api_->HangingCount(), 1u);
  const auto started = std::chrono::steady_clock::now();
  api_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(3));
  hanging.join();
  EXPECT_FALSE(answered);  // dropped, not answered
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(3));
}

// --- List and balance endpoints ----------------------------------------------------------------

// The listed item of `iccid` in `body` (a parsed listing), or null.
Json ItemOf(const Json& body, const std::string& iccid) {
  for (const Json& item : body["data"]["esims"]) {
    if (item["iccid"] == iccid) return item;
  }
  return nullptr;
}

TEST_F(FakeApiTest, ListSignedGetWorksAndIsRecorded) {
  const auto now = std::chrono::system_clock::now();
  const auto fleet = DefaultFleet(now);
  StartServer(DefaultOptions(), fleet);
  const Json body = List("");
  // Every default-fleet eSIM but the FORBIDDEN one (another account's), pending orders included,
  // ordered by id.
  const Json& esims = body["data"]["esims"];
  ASSERT_EQ(esims.size(), kDefaultFleetSize - 1) << body.dump(2);
  EXPECT_EQ(
      body["data"]["pagination"],
      (Json{{"page", 1}, {"limit", 20}, {"total", kDefaultFleetSize - 1}, {"total_pages", 1}}));
  for (size_t i = 1; i < esims.size(); ++i) {
    EXPECT_LT(esims[i - 1]["id"].get<int64_t>(), esims[i]["id"].get<int64_t>());
  }
  EXPECT_EQ(esims.front()["iccid"], kSpecExampleIccid);
  EXPECT_EQ(esims.back()["id"], kByIdEsimId);

  // The spec example's shape, key by key.
  const Json item = ItemOf(body, kSpecExampleIccid);
  const Json& sd = fleet[0].status_data;
  EXPECT_EQ(item["id"], 1001);
  EXPECT_EQ(item["package_name"], "Australia 1GB - 30 Days");
  EXPECT_EQ(item["package_code"], "australia-30days-1gb");
  EXPECT_EQ(item["countries"], Json::array({"Australia"}));
  EXPECT_EQ(item["status"], "ACTIVE");
  EXPECT_EQ(item["data"], (Json{{"total_mb", 1024},
                                {"used_mb", 0},
                                {"remaining_mb", 1024},
                                {"usage_percentage", 0},
                                {"is_unlimited", false}}));
  EXPECT_EQ(item["validity"], (Json{{"days", 30},
                                    {"activated_at", sd["activation_date"]},
                                    {"expires_at", sd["expiry_date"]},
                                    {"is_expired", false}}));
  EXPECT_EQ(item["created_at"], sd["activation_date"]);
  EXPECT_EQ(item["is_pending"], false);
  EXPECT_TRUE(item.contains("phone_number"));
  EXPECT_TRUE(item["phone_number"].is_null());
  EXPECT_EQ(item["flag_url"], "/images/flags/au.png");
  EXPECT_TRUE(item["qr_code"].is_string());
  EXPECT_TRUE(item["manual_installation"].is_object());
  EXPECT_EQ(item, ListItemJson(fleet[0], now));

  const auto records = api_->Requests();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].path, kListPath);
  EXPECT_EQ(records[0].query, "");
  EXPECT_EQ(records[0].http_status, 200);
  EXPECT_EQ(records[0].code, "");
  EXPECT_EQ(records[0].access_code, kAccess);

  // The query string is recorded as sent, and it is not signed.
  List("page=1&limit=5&status=ACTIVE&include_base64=false");
  EXPECT_EQ(api_->Requests().back().query, "page=1&limit=5&status=ACTIVE&include_base64=false");
  EXPECT_EQ(api_->Requests().back().path, kListPath);
}

TEST_F(FakeApiTest, GetSignaturesCoverTheEmptyBodyOnly) {
  StartServer();
  for (const std::string& path : {std::string(kListPath) + "?page=1", std::string(kBalancePath)}) {
    SCOPED_TRACE(path);
    Call over_query;
    over_query.signed_body = "page=1";  // the query string is not part of the signed message
    ExpectAuthError(SendGet(path, over_query), 401, "INVALID_SIGNATURE");
    Call over_json;
    over_json.signed_body = "{}";
    ExpectAuthError(SendGet(path, over_json), 401, "INVALID_SIGNATURE");
    auto res = SendGet(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
}

// Every authentication failure of the POST endpoint, with the same status and code, on both GETs.
TEST_F(FakeApiTest, GetEndpointsRejectLikeThePostOne) {
  StartServer();
  for (const std::string& path : {std::string(kListPath), std::string(kBalancePath)}) {
    SCOPED_TRACE(path);
    const auto before = api_->RequestCount();
    for (const char* header : {"RT-AccessCode", "RT-RequestID", "RT-Timestamp", "RT-Signature"}) {
      Call call;
      call.omit_header = header;
      ExpectAuthError(SendGet(path, call), 401, "HMAC_REQUIRED");
    }
    auto no_headers = client_->Get(path.c_str());
    ExpectAuthError(no_headers, 401, "HMAC_REQUIRED");
    Call key;
    key.access_code = "esf_someone_else";
    ExpectAuthError(SendGet(path, key), 401, "INVALID_API_KEY");
    Call old;
    old.timestamp = NowMillis(-std::chrono::minutes(6));
    ExpectAuthError(SendGet(path, old), 401, "INVALID_TIMESTAMP");
    Call seconds_ts;
    seconds_ts.timestamp = std::to_string(
        std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    ExpectAuthError(SendGet(path, seconds_ts), 401, "INVALID_TIMESTAMP");
    Call id;
    id.request_id = "3b241101-e2bb-1255-8caf-4136c566a962";
    ExpectAuthError(SendGet(path, id), 401, "INVALID_REQUEST_ID");
    Call secret;
    secret.secret = "sk_wrong";
    ExpectAuthError(SendGet(path, secret), 401, "INVALID_SIGNATURE");
    Call replay;
    replay.timestamp = NowMillis();
    replay.request_id = NewUuidV4();
    auto first = SendGet(path, replay);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200) << first->body;
    ExpectAuthError(SendGet(path, replay), 409, "DUPLICATE_REQUEST");
    // A request id is shared with the POST endpoint's replay memory.
    Call post;
    post.body = BodyFor(kSpecExampleIccid).dump();
    post.request_id = replay.request_id;
    ExpectAuthError(Send(post), 409, "DUPLICATE_REQUEST");
    EXPECT_EQ(api_->RequestCount() - before, 13u);
    EXPECT_EQ(api_->Requests().back().code, "DUPLICATE_REQUEST");
  }
}

TEST_F(FakeApiTest, ListPagesThroughAGeneratedFleet) {
  const auto fleet = GenerateFleet(250);
  StartServer(DefaultOptions(), fleet);
  std::set<std::string> seen;
  std::vector<int64_t> ids;
  for (int page = 1; page <= 3; ++page) {
    SCOPED_TRACE(page);
    const Json body = List("page=" + std::to_string(page) + "&limit=100");
    EXPECT_EQ(body["data"]["pagination"],
              (Json{{"page", page}, {"limit", 100}, {"total", 250}, {"total_pages", 3}}));
    EXPECT_EQ(body["data"]["esims"].size(), page < 3 ? 100u : 50u);
    for (const Json& item : body["data"]["esims"]) {
      EXPECT_TRUE(seen.insert(item["iccid"].get<std::string>()).second)
          << "listed twice: " << item["iccid"];
      ids.push_back(item["id"].get<int64_t>());
    }
  }
  EXPECT_EQ(seen.size(), 250u);
  for (const FakeEsim& e : fleet) EXPECT_EQ(seen.count(e.iccid), 1u) << e.iccid;
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));

  // Past the end: an empty page, the same totals.
  const Json past = List("page=4&limit=100");
  EXPECT_TRUE(past["data"]["esims"].empty());
  EXPECT_EQ(past["data"]["pagination"]["total"], 250);
  EXPECT_EQ(past["data"]["pagination"]["total_pages"], 3);
  // Default limit 20; limit 100 is allowed, as is 1.
  const Json defaults = List("");
  EXPECT_EQ(defaults["data"]["esims"].size(), 20u);
  EXPECT_EQ(defaults["data"]["pagination"],
            (Json{{"page", 1}, {"limit", 20}, {"total", 250}, {"total_pages", 13}}));
  const Json one = List("limit=1&page=250");
  ASSERT_EQ(one["data"]["esims"].size(), 1u);
  EXPECT_EQ(one["data"]["esims"][0]["id"], ids.back());
  EXPECT_EQ(one["data"]["pagination"]["total_pages"], 250);
}

TEST_F(FakeApiTest, ListFiltersByStatus) {
  const auto fleet = GenerateFleet(250);
  std::map<std::string, size_t> expected;
  for (const FakeEsim& e : fleet) expected[e.status_data["status"].get<std::string>()]++;
  ASSERT_EQ(expected.size(), 4u);
  StartServer(DefaultOptions(), fleet);
  for (const char* status : {"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"}) {
    SCOPED_TRACE(status);
    size_t listed = 0;
    for (int page = 1;; ++page) {
      const Json body =
          List("status=" + std::string(status) + "&limit=100&page=" + std::to_string(page));
      EXPECT_EQ(body["data"]["pagination"]["total"], expected[status]);
      for (const Json& item : body["data"]["esims"]) {
        EXPECT_EQ(item["status"], status);
        ++listed;
      }
      if (page >= body["data"]["pagination"]["total_pages"].get<int>()) break;
    }
    EXPECT_EQ(listed, expected[status]);
  }
  EXPECT_EQ(List("status=all")["data"]["pagination"]["total"], 250);
  const Json none = List("status=CANCELLED");
  EXPECT_EQ(none["data"]["pagination"],
            (Json{{"page", 1}, {"limit", 20}, {"total", 0}, {"total_pages", 0}}));
}

TEST_F(FakeApiTest, ListSearchesIccidPackageNameAndCode) {
  StartServer();
  auto iccids_for = [&](const std::string& query) {
    std::set<std::string> out;
    const Json body = List(query);
    for (const Json& item : body["data"]["esims"]) out.insert(item["iccid"]);
    return out;
  };
  EXPECT_EQ(iccids_for(std::string("search=") + kAlertingIccid),
            std::set<std::string>{kAlertingIccid});
  EXPECT_EQ(iccids_for("search=0000000000"),  // part of three ICCIDs
            (std::set<std::string>{kAlertingIccid, kHealthy5gIccid, kProviderErrorIccid}));
  EXPECT_EQ(iccids_for("search=sWeDeN"), std::set<std::string>{kByIdIccid});  // name, any case
  EXPECT_EQ(iccids_for("search=Asia%2010GB"), std::set<std::string>{kAlertingIccid});
  EXPECT_EQ(iccids_for("search=europe-30days"), std::set<std::string>{kDepletedIccid});  // code
  EXPECT_EQ(iccids_for("search=unlimited"), std::set<std::string>{kUnlimitedIccid});
  EXPECT_EQ(iccids_for("search=Germany"), std::set<std::string>{});  // FORBIDDEN: not listed
  EXPECT_EQ(iccids_for("search=nowhere"), std::set<std::string>{});
  // Search and status together.
  EXPECT_EQ(iccids_for("search=30days&status=ACTIVE"),
            (std::set<std::string>{kSpecExampleIccid, kUnlimitedIccid, kAlertingIccid}));
  EXPECT_EQ(List("search=nowhere")["data"]["pagination"]["total"], 0);
}

TEST_F(FakeApiTest, ListRefusesBadParameters) {
  StartServer();
  for (const char* query :
       {"limit=101", "limit=0", "limit=-1", "limit=abc", "limit=", "limit=1e2", "page=0", "page=-1",
        "page=x", "page=", "status=active", "status=BOGUS", "status=", "status=ALL"}) {
    SCOPED_TRACE(query);
    ExpectApiError(SendList(query), 400, "INVALID_PARAMETER");
    EXPECT_EQ(api_->Requests().back().code, "INVALID_PARAMETER");
    EXPECT_EQ(api_->Requests().back().query, query);
  }
  EXPECT_EQ(List("limit=100&include_base64=true&unknown=1")["data"]["esims"].size(),
            kDefaultFleetSize - 1);
}

TEST_F(FakeApiTest, ListReportsUsageInWholeMegabytes) {
  StartServer();
  const Json body = List("");
  auto data_of = [&](const char* iccid) { return ItemOf(body, iccid)["data"]; };
  // 1 GB plan, nothing used.
  EXPECT_EQ(data_of(kSpecExampleIccid)["total_mb"], 1024);
  // 0.5 of 2 GB: 512 of 2048 MB.
  EXPECT_EQ(data_of(kByIdIccid), (Json{{"total_mb", 2048},
                                       {"used_mb", 512},
                                       {"remaining_mb", 1536},
                                       {"usage_percentage", 25},
                                       {"is_unlimited", false}}));
  // 8.5 of 10 GB.
  EXPECT_EQ(data_of(kAlertingIccid), (Json{{"total_mb", 10240},
                                           {"used_mb", 8704},
                                           {"remaining_mb", 1536},
                                           {"usage_percentage", 85},
                                           {"is_unlimited", false}}));
  // Depleted: 3 of 3 GB.
  EXPECT_EQ(data_of(kDepletedIccid), (Json{{"total_mb", 3072},
                                           {"used_mb", 3072},
                                           {"remaining_mb", 0},
                                           {"usage_percentage", 100},
                                           {"is_unlimited", false}}));
  // 1.2 of 5 GB: 1228.8 rounds to 1229.
  EXPECT_EQ(data_of(kExpiredIccid)["used_mb"], 1229);
  EXPECT_EQ(data_of(kExpiredIccid)["remaining_mb"], 5120 - 1229);
  // Every figure an integer (pending orders have no figures yet).
  for (const Json& item : body["data"]["esims"]) {
    if (item["is_pending"] == true) continue;
    for (const char* key : {"total_mb", "used_mb", "remaining_mb", "usage_percentage"}) {
      EXPECT_TRUE(item["data"][key].is_number_integer()) << item["iccid"] << " " << key;
    }
  }
}

TEST_F(FakeApiTest, ListShowsUnlimitedPlansAsZerosWithTheFlag) {
  const auto fleet = GenerateFleet(40);
  StartServer(DefaultOptions(), fleet);
  const Json body = List("limit=100");
  const Json unlimited = ItemOf(body, kUnlimitedIccid);
  EXPECT_TRUE(unlimited.is_null());  // not in the generated fleet
  size_t count = 0;
  for (const FakeEsim& e : fleet) {
    if (e.status_data["unlimited"] != true) continue;
    ++count;
    const Json item = ItemOf(body, e.iccid);
    SCOPED_TRACE(e.iccid);
    EXPECT_EQ(item["data"]["total_mb"], 0);
    EXPECT_EQ(item["data"]["remaining_mb"], 0);
    EXPECT_EQ(item["data"]["usage_percentage"], 0);
    EXPECT_EQ(item["data"]["is_unlimited"], true);
    EXPECT_EQ(item["data"]["used_mb"],
              std::llround(e.status_data["data_usage"]["used_gb"].get<double>() * 1024));
    EXPECT_THAT(item["package_code"].get<std::string>(), HasSubstr("unlimited"));
  }
  EXPECT_EQ(count, 4u);

  // The default fleet's unlimited plan: 12.37 GB used = 12666.88 MB.
  api_->UpsertEsim(DefaultFleet()[1]);
  const Json item = ItemOf(List("search=" + std::string(kUnlimitedIccid)), kUnlimitedIccid);
  EXPECT_EQ(item["data"], (Json{{"total_mb", 0},
                                {"used_mb", 12667},
                                {"remaining_mb", 0},
                                {"usage_percentage", 0},
                                {"is_unlimited", true}}));
}

TEST_F(FakeApiTest, ListValidityFollowsTheStatusDates) {
  const auto now = std::chrono::system_clock::now();
  const auto fleet = DefaultFleet(now);
  StartServer(DefaultOptions(), fleet);
  const Json body = List("");
  std::map<std::string, const FakeEsim*> by_iccid;
  for (const FakeEsim& e : fleet) by_iccid[e.iccid] = &e;

  const Json expired = ItemOf(body, kExpiredIccid)["validity"];
  EXPECT_EQ(expired["is_expired"], true);
  EXPECT_EQ(expired["expires_at"], by_iccid[kExpiredIccid]->status_data["expiry_date"]);
  EXPECT_EQ(ItemOf(body, kExpiredIccid)["status"], "EXPIRED");

  const Json fresh = ItemOf(body, kNewIccid);
  EXPECT_TRUE(fresh["validity"]["activated_at"].is_null());
  EXPECT_TRUE(fresh["validity"]["expires_at"].is_null());
  EXPECT_EQ(fresh["validity"]["is_expired"], false);
  EXPECT_EQ(fresh["validity"]["days"], 30);
  EXPECT_EQ(fresh["created_at"],
            FormatIso8601Millis(std::chrono::floor<milliseconds>(now) - std::chrono::days(2)));
  EXPECT_EQ(fresh["status"], "NEW");
  EXPECT_EQ(fresh["data"]["total_mb"], 5120);

  EXPECT_EQ(ItemOf(body, kByIdIccid)["validity"]["days"], 7);
  EXPECT_EQ(ItemOf(body, kProviderErrorIccid)["validity"]["days"], 14);
  EXPECT_EQ(ItemOf(body, kHealthy5gIccid)["validity"]["days"], 90);
  EXPECT_EQ(ItemOf(body, kAlertingIccid)["validity"]["is_expired"], false);
}

TEST_F(FakeApiTest, ListCarriesTheInstallationSecrets) {
  StartServer();
  auto res = SendList("limit=100");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const Json body = Json::parse(res->body);
  for (const Json& item : body["data"]["esims"]) {
    if (item["is_pending"] == true) continue;  // nothing to install yet
    const std::string iccid = item["iccid"];
    SCOPED_TRACE(iccid);
    EXPECT_EQ(item["qr_code"], "LPA:1$smdp.example$SECRET-ACT-" + iccid);
    EXPECT_EQ(item["manual_installation"]["activation_code"], "SECRET-ACT-" + iccid);
    EXPECT_EQ(item["manual_installation"]["smdp_address"], "smdp.example");
    EXPECT_EQ(item["manual_installation"]["install_url"],
              "https://example.invalid/install/SECRET-" + iccid);
    EXPECT_THAT(res->body, HasSubstr("SECRET-ACT-" + iccid));
  }
  // The live status never carries them.
  auto live = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(live);
  EXPECT_THAT(live->body, Not(HasSubstr("SECRET-")));
}

// Orders still being provisioned, as the vendor lists them (docs/esimfly-api.md): no ICCID, data
// or validity yet, and nothing for the status endpoint to answer about.
TEST_F(FakeApiTest, ListShowsPendingOrdersWithoutIccidDataOrValidity) {
  StartServer();
  const Json body = List("limit=100");
  std::vector<Json> pending;
  for (const Json& item : body["data"]["esims"]) {
    if (item["is_pending"] == true) pending.push_back(item);
  }
  ASSERT_EQ(pending.size(), 2u);
  for (size_t i = 0; i < pending.size(); ++i) {
    const Json& item = pending[i];
    EXPECT_EQ(item["id"], kPendingIds[i]);
    for (const char* key : {"iccid", "data", "validity", "qr_code", "manual_installation"}) {
      EXPECT_TRUE(item.contains(key)) << key;
      EXPECT_TRUE(item[key].is_null()) << key;
    }
    EXPECT_EQ(item["status"], "NEW");
    EXPECT_FALSE(item["package_name"].get<std::string>().empty());
    EXPECT_THAT(body.dump(), Not(HasSubstr(kPendingIccids[i]))) << "the ICCID stays hidden";
  }
  // Counted under their status like any other eSIM; found by package, never by the hidden ICCID.
  EXPECT_EQ(List("status=NEW")["data"]["pagination"]["total"], 3);
  EXPECT_EQ(List(std::string("search=") + kPendingIccids[0])["data"]["pagination"]["total"], 0);
  EXPECT_EQ(List("search=vietnam")["data"]["esims"][0]["id"], kPendingIds[0]);
  ExpectApiError(SendFor(kPendingIccids[0]), 404, "ESIM_NOT_FOUND");
  Call by_id;
  by_id.body = R"({"esimId":1014})";
  ExpectApiError(Send(by_id), 404, "ESIM_NOT_FOUND");
}

TEST_F(FakeApiTest, ListsEveryDocumentedStatus) {
  StartServer();
  for (const char* status : {"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"}) {
    const Json body = List(std::string("status=") + status);
    EXPECT_GE(body["data"]["pagination"]["total"].get<int>(), 1) << status;
    for (const Json& item : body["data"]["esims"]) EXPECT_EQ(item["status"], status);
  }
  EXPECT_EQ(ItemOf(List("status=CANCELLED"), kCancelledIccid)["id"], 1011);
  EXPECT_EQ(ItemOf(List("status=DELETED"), kDeletedIccid)["id"], 1012);
  EXPECT_EQ(Json::parse(SendFor(kDeletedIccid)->body)["data"]["status"], "DELETED");
}

TEST_F(FakeApiTest, ListSpellsThePageCountOnDemand) {
  for (const std::string key : {"total_pages", "totalPages", ""}) {
    SCOPED_TRACE(key);
    Options o = DefaultOptions();
    o.list_total_pages_key = key;
    StartServer(o, GenerateFleet(45));
    const Json pagination = List("limit=20")["data"]["pagination"];
    Json expected = {{"page", 1}, {"limit", 20}, {"total", 45}};
    if (!key.empty()) expected[key] = 3;
    EXPECT_EQ(pagination, expected);
    api_->Stop();
  }
}

TEST_F(FakeApiTest, ListServesOneMalformedEntryOnDemand) {
  Options o = DefaultOptions();
  o.list_malformed_iccid = kNewIccid;
  StartServer(o);
  const Json body = List("limit=100");
  EXPECT_EQ(ItemOf(body, kNewIccid)["data"]["used_mb"], "512 MB");
  for (const Json& item : body["data"]["esims"]) {
    if (item["iccid"] != kNewIccid && !item["data"].is_null()) {
      EXPECT_TRUE(item["data"]["used_mb"].is_number()) << item["iccid"];
    }
  }
}

TEST_F(FakeApiTest, ListInventsNewEsimsOnEveryPageOnDemand) {
  Options o = DefaultOptions();
  o.list_invents_esims = true;
  StartServer(o);
  std::set<std::string> iccids;
  std::set<int64_t> ids;
  for (int page = 1; page <= 3; ++page) {
    for (int again = 0; again < 2; ++again) {
      const Json body = List("limit=50&page=" + std::to_string(page));
      EXPECT_EQ(body["data"]["pagination"], (Json{{"page", page},
                                                  {"limit", 50},
                                                  {"total", (page + 1) * 50},
                                                  {"total_pages", page + 1}}));
      ASSERT_EQ(body["data"]["esims"].size(), 50u);
      for (const Json& item : body["data"]["esims"]) {
        const std::string iccid = item["iccid"];
        EXPECT_TRUE(IsLuhnValid(iccid)) << iccid;
        EXPECT_TRUE(iccids.insert(iccid).second) << iccid << " listed twice";
        EXPECT_TRUE(ids.insert(item["id"].get<int64_t>()).second);
        EXPECT_EQ(item["status"], "ACTIVE");
      }
    }
  }
  EXPECT_EQ(iccids.size(), 300u);
}

TEST_F(FakeApiTest, ListOmitsForbiddenButKeepsProviderErrorEsims) {
  StartServer();
  const Json body = List("limit=100");
  EXPECT_TRUE(ItemOf(body, kForbiddenIccid).is_null());
  const Json provider = ItemOf(body, kProviderErrorIccid);
  ASSERT_FALSE(provider.is_null());
  EXPECT_EQ(provider["status"], "ACTIVE");
  EXPECT_EQ(provider["data"]["used_mb"], 768);
  EXPECT_EQ(provider["package_code"], "france-14days-3gb");
  ExpectApiError(SendFor(kProviderErrorIccid), 502, "PROVIDER_ERROR");  // live status still fails

  FakeEsim gone = DefaultFleet()[0];
  gone.error_code = "ESIM_NOT_FOUND";
  api_->UpsertEsim(gone);
  EXPECT_TRUE(ItemOf(List("limit=100"), kSpecExampleIccid).is_null());
  FakeEsim denied = DefaultFleet()[0];
  denied.error_code = "ESIM_ACCESS_DENIED";
  api_->UpsertEsim(denied);
  EXPECT_FALSE(ItemOf(List("limit=100"), kSpecExampleIccid).is_null());
  EXPECT_FALSE(IsListed(DefaultFleet()[6]));
  EXPECT_EQ(DefaultFleet()[6].iccid, kForbiddenIccid);
}

TEST_F(FakeApiTest, ListedOverridesDifferFromTheLiveValues) {
  StartServer();
  FakeEsim esim = DefaultFleet()[8];  // the alerting one: 8.5 of 10 GB live
  ASSERT_EQ(esim.iccid, kAlertingIccid);
  esim.listed_overrides = {{"data", {{"used_mb", 7168}, {"usage_percentage", 70}}}};
  api_->UpsertEsim(esim);
  Json item = ItemOf(List(""), kAlertingIccid);
  EXPECT_EQ(item["data"], (Json{{"total_mb", 10240},
                                {"used_mb", 7168},
                                {"remaining_mb", 1536},  // only what was overridden changes
                                {"usage_percentage", 70},
                                {"is_unlimited", false}}));
  EXPECT_EQ(item["status"], "ACTIVE");
  auto live = SendFor(kAlertingIccid);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->status, 200);
  EXPECT_DOUBLE_EQ(Json::parse(live->body)["data"]["data_usage"]["used_gb"].get<double>(), 8.5);

  // A status override changes the status filter's answer too; null replaces.
  esim.listed_overrides = {{"status", "CANCELLED"}, {"validity", {{"expires_at", nullptr}}}};
  api_->UpsertEsim(esim);
  const Json cancelled = List("status=CANCELLED");
  ASSERT_EQ(cancelled["data"]["esims"].size(), 2u);  // the default fleet's cancelled one too
  item = ItemOf(cancelled, kAlertingIccid);
  EXPECT_EQ(item["iccid"], kAlertingIccid);
  EXPECT_EQ(item["status"], "CANCELLED");
  EXPECT_TRUE(item["validity"].contains("expires_at"));
  EXPECT_TRUE(item["validity"]["expires_at"].is_null());
  EXPECT_EQ(item["validity"]["days"], 30);
  EXPECT_TRUE(ItemOf(List("status=ACTIVE"), kAlertingIccid).is_null());
  EXPECT_EQ(Json::parse(SendFor(kAlertingIccid)->body)["data"]["status"], "ACTIVE");
}

TEST_F(FakeApiTest, ListFailPageFailsExactlyThatPage) {
  Options o = DefaultOptions();
  o.list_fail_page = 2;
  StartServer(o, GenerateFleet(250));
  EXPECT_EQ(List("limit=100&page=1")["data"]["esims"].size(), 100u);
  ExpectApiError(SendList("limit=100&page=2"), 502, "PROVIDER_ERROR");
  EXPECT_EQ(api_->Requests().back().http_status, 502);
  EXPECT_EQ(api_->Requests().back().query, "limit=100&page=2");
  EXPECT_EQ(List("limit=100&page=3")["data"]["esims"].size(), 50u);
  // Every listing: another status, another limit.
  ExpectApiError(SendList("status=ACTIVE&page=2"), 502, "PROVIDER_ERROR");
  EXPECT_EQ(List("status=ACTIVE&page=1")["data"]["esims"].size(), 20u);

  api_->SetListFailPage(0);
  EXPECT_EQ(List("limit=100&page=2")["data"]["esims"].size(), 100u);
  api_->SetListFailPage(3);
  ExpectApiError(SendList("limit=100&page=3"), 502, "PROVIDER_ERROR");
  EXPECT_EQ(List("limit=100&page=2")["data"]["esims"].size(), 100u);
  // The balance is unaffected.
  auto balance = SendGet(kBalancePath);
  ASSERT_TRUE(balance);
  EXPECT_EQ(balance->status, 200);
}

TEST_F(FakeApiTest, BalanceEndpoint) {
  StartServer();
  auto res = SendGet(kBalancePath);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(res->body),
            (Json{{"success", true}, {"data", {{"balance", 1500.0}, {"currency", "USD"}}}}));
  EXPECT_EQ(api_->Requests().back().path, kBalancePath);
  EXPECT_EQ(api_->Requests().back().method, "GET");

  api_->SetBalance(0, "EUR");
  res = SendGet(kBalancePath);
  ASSERT_TRUE(res);
  const Json body = Json::parse(res->body);
  EXPECT_EQ(body["data"]["balance"], 0.0);
  EXPECT_EQ(body["data"]["currency"], "EUR");

  Options o = DefaultOptions();
  o.balance = 12.5;
  o.currency = "IQD";
  FakeEsimflyApi other(o);
  httplib::Client client("127.0.0.1", other.Start());
  res = SendGet(kBalancePath, {}, &client);
  ASSERT_TRUE(res);
  EXPECT_DOUBLE_EQ(Json::parse(res->body)["data"]["balance"].get<double>(), 12.5);
  EXPECT_EQ(Json::parse(res->body)["data"]["currency"], "IQD");
}

TEST_F(FakeApiTest, RateLimitIsSharedAcrossEndpoints) {
  Options o = DefaultOptions();
  o.rate_limit_per_minute = 3;
  StartServer(o);
  auto status = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  EXPECT_EQ(status->get_header_value("X-RateLimit-Remaining"), "2");
  auto list = SendList("limit=100");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(list->get_header_value("X-RateLimit-Limit"), "3");
  EXPECT_EQ(list->get_header_value("X-RateLimit-Remaining"), "1");
  EXPECT_EQ(list->get_header_value("X-RateLimit-Reset"),
            status->get_header_value("X-RateLimit-Reset"));
  auto balance = SendGet(kBalancePath);
  ASSERT_TRUE(balance);
  EXPECT_EQ(balance->status, 200);
  EXPECT_EQ(balance->get_header_value("X-RateLimit-Remaining"), "0");

  auto limited = SendList("");
  ExpectApiError(limited, 429, "RATE_LIMIT_EXCEEDED");
  EXPECT_GE(std::stoi(limited->get_header_value("Retry-After")), 1);
  ExpectApiError(SendGet(kBalancePath), 429, "RATE_LIMIT_EXCEEDED");
  ExpectApiError(SendFor(kSpecExampleIccid), 429, "RATE_LIMIT_EXCEEDED");
  // A rejected parameter still costs a request, like a 404 on the status endpoint.
  api_->SetRateLimitPerMinute(1);
  ExpectApiError(SendList("limit=101"), 400, "INVALID_PARAMETER");
  ExpectApiError(SendList(""), 429, "RATE_LIMIT_EXCEEDED");
}

TEST_F(FakeApiTest, WrongMethodsOnTheNewPathsAre405) {
  StartServer();
  ExpectApiError(client_->Post(kListPath, "{}", "application/json"), 405, "METHOD_NOT_ALLOWED");
  ExpectApiError(client_->Post(kBalancePath, "{}", "application/json"), 405, "METHOD_NOT_ALLOWED");
  ExpectApiError(client_->Get("/api/v1/business/esims/"), 404, "NOT_FOUND");
  ExpectApiError(client_->Get("/api/v1/business/balances"), 404, "NOT_FOUND");
  auto unknown = client_->Get("/api/v1/business/nothing?x=1");
  ExpectApiError(unknown, 404, "NOT_FOUND");
  EXPECT_EQ(api_->Requests().back().query, "x=1");
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
  ASSERT_EQ(fleet.size(), kDefaultFleetSize);
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
  EXPECT_EQ(iccids.size(), kDefaultFleetSize);
  EXPECT_EQ(ids.size(), kDefaultFleetSize);
  // Every documented status, and pending orders.
  std::set<std::string> statuses;
  size_t pending = 0;
  for (const FakeEsim& e : fleet) {
    if (e.pending) {
      ++pending;
    } else {
      statuses.insert(e.status_data["status"].get<std::string>());
    }
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED",
                                             "DELETED"}));
  EXPECT_EQ(pending, kDefaultFleetSize - kDefaultFleetEsims);

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

TEST(FleetTest, DefaultFleetHasPackages) {
  for (const FakeEsim& e : DefaultFleet()) {
    SCOPED_TRACE(e.iccid);
    EXPECT_FALSE(e.package_name.empty());
    EXPECT_FALSE(e.package_code.empty());
    EXPECT_FALSE(e.countries.empty());
    EXPECT_TRUE(e.listed_overrides.is_null());
    // The code names the plan: "<N>gb" or "unlimited".
    const bool unlimited = e.status_data["unlimited"] == true;
    const std::string plan =
        unlimited ? "unlimited"
                  : std::to_string(e.status_data["data_usage"]["total_gb"].get<int>()) + "gb";
    EXPECT_EQ(e.package_code.substr(e.package_code.size() - plan.size()), plan);
  }
}

TEST(FleetTest, GeneratedFleetHasPackagesNamedAfterTheNetwork) {
  for (const FakeEsim& e : GenerateFleet(60)) {
    SCOPED_TRACE(e.iccid);
    ASSERT_EQ(e.countries.size(), 1u);
    EXPECT_EQ(e.package_name.rfind(e.countries[0] + " ", 0), 0u) << e.package_name;
    EXPECT_THAT(e.package_name, HasSubstr(" - 30 Days")) << e.package_name;
    EXPECT_THAT(e.package_code, HasSubstr("-30days-")) << e.package_code;
    if (e.status_data["status"] != "NEW") {
      EXPECT_EQ(e.status_data["last_network"]["country"], e.countries[0]);
    }
    EXPECT_EQ(e.created_at.empty(), e.status_data["status"] != "NEW");
  }
}

TEST(FleetTest, ListItemDerivesDefaultsWithoutAPackage) {
  FakeEsim bare{"8900000000000000018", 7,
                Json{{"status", "ACTIVE"},
                     {"unlimited", false},
                     {"activation_date", "2026-01-01T00:00:00Z"},
                     {"expiry_date", "2026-01-08T00:00:00.000Z"},
                     {"last_network", {{"country", "Spain"}, {"country_iso2", "ES"}}},
                     {"data_usage", {{"used_gb", 0.25}, {"total_gb", 0.5}}}},
                ""};
  // 2026-01-10, two days after the expiry.
  const auto now =
      std::chrono::system_clock::time_point(milliseconds(1767225600000)) + std::chrono::days(9);
  const Json item = ListItemJson(bare, now);
  EXPECT_EQ(item["package_name"], "Data 0.5GB - 7 Days");
  EXPECT_EQ(item["package_code"], "data-7days-0.5gb");
  EXPECT_EQ(item["countries"], Json::array({"Spain"}));
  EXPECT_EQ(item["flag_url"], "/images/flags/es.png");
  EXPECT_EQ(item["validity"]["days"], 7);
  EXPECT_EQ(item["validity"]["is_expired"], true);
  EXPECT_EQ(ListItemJson(bare, now - std::chrono::days(3))["validity"]["is_expired"], false);
  EXPECT_EQ(item["created_at"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(item["data"], (Json{{"total_mb", 512},
                                {"used_mb", 256},
                                {"remaining_mb", 256},
                                {"usage_percentage", 50},
                                {"is_unlimited", false}}));
  // Nothing at all: no crash, an unlimited-looking plan with no dates.
  const Json empty = ListItemJson(FakeEsim{"8900000000000000026", 8, Json::object(), ""}, now);
  EXPECT_EQ(empty["status"], "NEW");
  EXPECT_EQ(empty["data"]["is_unlimited"], true);
  EXPECT_EQ(empty["validity"]["days"], 30);
  EXPECT_EQ(empty["countries"], Json::array());
  EXPECT_EQ(empty["flag_url"], "/images/flags/global.png");
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

TEST(FleetTest, FaultNamesAndFleetFiles) {
  for (Fault fault : {Fault::kNone, Fault::kHang, Fault::kHugeBody, Fault::kRateLimitedRetryAfter,
                      Fault::kRateLimitedBare, Fault::kServerError, Fault::kConnectionReset,
                      Fault::kGarbage, Fault::kWrongTypes}) {
    EXPECT_EQ(ParseFault(FaultName(fault)), fault) << FaultName(fault);
  }
  EXPECT_THROW(ParseFault("slow"), std::invalid_argument);
  std::vector<FakeEsim> fleet = {DefaultFleet()[0]};
  EXPECT_FALSE(FleetToJson(fleet)[0].contains("fault"));
  fleet[0].fault = Fault::kGarbage;
  const Json json = FleetToJson(fleet);
  EXPECT_EQ(json[0]["fault"], "garbage");
  EXPECT_EQ(FleetFromJson(json)[0].fault, Fault::kGarbage);
  try {
    FleetFromJson(Json::parse(R"([{"iccid":"1","id":1,"status_data":{},"fault":"slow"}])"));
    ADD_FAILURE() << "an unknown fault must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("\"fault\" must be one of")) << e.what();
  }
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
    EXPECT_EQ(loaded[i].package_name, fleet[i].package_name);
    EXPECT_EQ(loaded[i].package_code, fleet[i].package_code);
    EXPECT_EQ(loaded[i].countries, fleet[i].countries);
    EXPECT_EQ(loaded[i].created_at, fleet[i].created_at);
    EXPECT_EQ(loaded[i].listed_overrides, fleet[i].listed_overrides);
    EXPECT_EQ(loaded[i].pending, fleet[i].pending);
  }
  // listed_overrides round-trips; the optional keys may be left out.
  std::vector<FakeEsim> overridden = {fleet[0]};
  overridden[0].listed_overrides = {{"data", {{"used_mb", 5}}}};
  const Json overridden_json = FleetToJson(overridden);
  EXPECT_EQ(FleetFromJson(overridden_json)[0].listed_overrides, overridden[0].listed_overrides);
  const FakeEsim minimal =
      FleetFromJson(Json::parse(R"([{"iccid":"1","id":1,"status_data":{}}])"))[0];
  EXPECT_TRUE(minimal.package_name.empty());
  EXPECT_TRUE(minimal.countries.empty());
  EXPECT_TRUE(minimal.listed_overrides.is_null());
  EXPECT_FALSE(FleetToJson({minimal})[0].contains("package_name"));

  auto expect_load_error = [&](const std::string& content, const std::string& fragment) {
    const std::string path = (dir / "bad.json").string();
    std::ofstream(path) << content;
    try {
      LoadFleetFile(path);
      ADD_FAILURE() << "loaded: " << content;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(fragment)) << e.what();
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
  expect_load_error(R"([{"iccid":"1","id":1,"status_data":{},"package_name":1}])",
                    "\"package_name\" must be a string");
  expect_load_error(R"([{"iccid":"1","id":1,"status_data":{},"countries":"Spain"}])",
                    "\"countries\" must be an array of strings");
  expect_load_error(R"([{"iccid":"1","id":1,"status_data":{},"listed_overrides":[1]}])",
                    "\"listed_overrides\" must be an object");
  expect_load_error(R"([{"iccid":"1","id":1,"status_data":{},"pending":"yes"}])",
                    "\"pending\" must be a boolean");
  EXPECT_THROW(LoadFleetFile((dir / "missing.json").string()), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fake_esimfly

namespace fake_esimfly {
namespace {

TEST_F(FakeApiTest, WebhookSubscriptionPutRotatesTheSecretAndGetShowsIt) {
  StartServer();
  const auto put = [this](const std::string& body, const std::string& secret = kSecret) {
    const std::string timestamp = NowMillis();
    const std::string request_id = NewUuidV4();
    httplib::Headers headers = {
        {"RT-AccessCode", kAccess},
        {"RT-RequestID", request_id},
        {"RT-Timestamp", timestamp},
        {"RT-Signature", TestSign(secret, timestamp, request_id, kAccess, body)}};
    return client_->Put(kWebhooksPath, headers, body, "application/json");
  };
  auto res = SendGet(kWebhooksPath);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_TRUE(Json::parse(res->body)["data"]["webhook_url"].is_null());
  EXPECT_TRUE(api_->WebhookSecret().empty());

  const std::string body =
      R"({"webhook_url":"https://mon.example.com/webhook","events":["esim.usage.threshold"]})";
  ExpectAuthError(put(body, "sk_wrong"), 401, "INVALID_SIGNATURE");
  res = put(body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string first = Json::parse(res->body)["data"]["secret"];
  EXPECT_TRUE(first.starts_with("whsec_"));
  EXPECT_EQ(api_->WebhookSecret(), first);
  EXPECT_EQ(api_->WebhookUrl(), "https://mon.example.com/webhook");
  res = put(body);
  ASSERT_TRUE(res);
  EXPECT_NE(Json::parse(res->body)["data"]["secret"], first);  // rotated

  api_->SetRecentDeliveries(Json::array({{{"id", "whd_1"}, {"status", "failed"}}}));
  res = SendGet(kWebhooksPath);
  ASSERT_TRUE(res);
  const Json data = Json::parse(res->body)["data"];
  EXPECT_EQ(data["webhook_url"], "https://mon.example.com/webhook");
  EXPECT_EQ(data["events"], Json::array({"esim.usage.threshold"}));
  EXPECT_EQ(data["recent_deliveries"][0]["status"], "failed");
  EXPECT_FALSE(data.contains("secret"));  // shown once, by the PUT

  // The test knob moves the URL as another system's PUT would, keeping the secret.
  const std::string secret = api_->WebhookSecret();
  api_->SetWebhookSubscription("https://orders.example.com/hook",
                               Json::array({"esim.provisioned"}));
  res = SendGet(kWebhooksPath);
  ASSERT_TRUE(res);
  const Json moved = Json::parse(res->body)["data"];
  EXPECT_EQ(moved["webhook_url"], "https://orders.example.com/hook");
  EXPECT_EQ(moved["events"], Json::array({"esim.provisioned"}));
  EXPECT_EQ(api_->WebhookSecret(), secret);

  res = put(R"({"webhook_url":"ftp://x","events":[]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = put(R"({"webhook_url":"https://x","events":["order.shipped"]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

}  // namespace
}  // namespace fake_esimfly

// --- Several accounts ----------------------------------------------------------------------------

namespace fake_esimfly {
namespace {

constexpr char kGlobexAccess[] = "esf_globex_access";
constexpr char kGlobexSecret[] = "sk_globex_secret";

// Two accounts on one server: the default one ("acme", kAccess, the default fleet) and "globex"
// (kGlobexAccess, five generated eSIMs of the second account's ICCID range).
class FakeApiAccountsTest : public FakeApiTest {
 protected:
  static AccountOptions Globex() {
    AccountOptions globex;
    globex.name = "globex";
    globex.access_code = kGlobexAccess;
    globex.secret_key = kGlobexSecret;
    return globex;
  }

  void StartTwoAccounts(Options options, AccountOptions globex = Globex()) {
    options.account_name = "acme";
    api_ = std::make_unique<FakeEsimflyApi>(std::move(options), DefaultFleet());
    globex_fleet_ = GenerateFleet(5, std::chrono::system_clock::now(), kAccountIndexStride);
    api_->AddAccount(std::move(globex), globex_fleet_);
    port_ = api_->Start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(10, 0);
  }
  void StartTwoAccounts() { StartTwoAccounts(DefaultOptions()); }

  static Call AsGlobex(Call call) {
    call.access_code = kGlobexAccess;
    call.secret = kGlobexSecret;
    return call;
  }
  httplib::Result GlobexStatus(const std::string& iccid) {
    Call call;
    call.body = BodyFor(iccid).dump();
    return Send(AsGlobex(call));
  }
  std::string GlobexIccid(size_t i = 0) const { return globex_fleet_.at(i).iccid; }

  std::vector<FakeEsim> globex_fleet_;
};

std::set<std::string> ListedIccids(const httplib::Result& res) {
  std::set<std::string> iccids;
  if (!res || res->status != 200) {
    ADD_FAILURE() << (res ? res->body : httplib::to_string(res.error()));
    return iccids;
  }
  const Json body = Json::parse(res->body);
  for (const Json& item : body["data"]["esims"]) {
    if (item["iccid"].is_string()) iccids.insert(item["iccid"].get<std::string>());
  }
  return iccids;
}

TEST_F(FakeApiAccountsTest, EachAccountAnswersFromItsOwnFleet) {
  StartTwoAccounts();
  EXPECT_EQ(api_->AccountNames(), (std::vector<std::string>{"acme", "globex"}));
  EXPECT_EQ(api_->FleetSize(), kDefaultFleetSize);
  EXPECT_EQ(api_->FleetSize("acme"), kDefaultFleetSize);
  EXPECT_EQ(api_->FleetSize("globex"), 5u);

  auto acme = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->status, 200) << acme->body;
  EXPECT_EQ(api_->Requests().back().account, "acme");
  auto globex = GlobexStatus(GlobexIccid(3));
  ASSERT_TRUE(globex);
  ASSERT_EQ(globex->status, 200) << globex->body;
  EXPECT_EQ(Json::parse(globex->body)["data"]["iccid"], GlobexIccid(3));
  EXPECT_EQ(api_->Requests().back().account, "globex");
  EXPECT_EQ(api_->Requests().back().access_code, kGlobexAccess);

  // Each listing holds that account's eSIMs only.
  const std::string page = std::string(kListPath) + "?limit=100";
  const std::set<std::string> acme_listed = ListedIccids(SendGet(page));
  const std::set<std::string> globex_listed = ListedIccids(SendGet(page, AsGlobex({})));
  EXPECT_EQ(globex_listed.size(), 5u);
  for (const FakeEsim& esim : globex_fleet_) {
    EXPECT_TRUE(globex_listed.count(esim.iccid)) << esim.iccid;
    EXPECT_FALSE(acme_listed.count(esim.iccid)) << esim.iccid;
  }
  EXPECT_TRUE(acme_listed.count(kSpecExampleIccid));
  EXPECT_FALSE(globex_listed.count(kSpecExampleIccid));

  // Generated fleets of different accounts never share an ICCID or id.
  const auto first = GenerateFleet(50, std::chrono::system_clock::now());
  const auto second = GenerateFleet(50, std::chrono::system_clock::now(), 2 * kAccountIndexStride);
  for (const FakeEsim& a : first) {
    for (const FakeEsim& b : second) {
      ASSERT_NE(a.iccid, b.iccid);
      ASSERT_NE(a.id, b.id);
    }
  }
  EXPECT_TRUE(IsLuhnValid(second[7].iccid));
}

TEST_F(FakeApiAccountsTest, OneAccountsCredentialsDoNotReadTheOthersEsims) {
  StartTwoAccounts();
  // acme asks for a globex eSIM, globex for acme's (by ICCID and by id): not found.
  ExpectApiError(SendFor(GlobexIccid()), 404, "ESIM_NOT_FOUND");
  ExpectApiError(GlobexStatus(kSpecExampleIccid), 404, "ESIM_NOT_FOUND");
  Call by_id;
  by_id.body = Json{{"esimId", kByIdEsimId}}.dump();
  ExpectApiError(Send(AsGlobex(by_id)), 404, "ESIM_NOT_FOUND");
  auto own = Send(by_id);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;

  // globex's code signed with acme's secret, or a wrong one: refused for globex only.
  Call crossed = AsGlobex({});
  crossed.body = BodyFor(GlobexIccid()).dump();
  crossed.secret = kSecret;
  ExpectAuthError(Send(crossed), 401, "INVALID_SIGNATURE");
  EXPECT_EQ(api_->Requests().back().account, "globex");
  crossed.secret = "sk_wrong";
  ExpectAuthError(Send(crossed), 401, "INVALID_SIGNATURE");
  auto acme = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->status, 200) << acme->body;
  // And acme's code with globex's secret.
  Call reverse;
  reverse.body = BodyFor(kSpecExampleIccid).dump();
  reverse.secret = kGlobexSecret;
  ExpectAuthError(Send(reverse), 401, "INVALID_SIGNATURE");
  auto globex = GlobexStatus(GlobexIccid());
  ASSERT_TRUE(globex);
  EXPECT_EQ(globex->status, 200) << globex->body;

  // An unknown code names no account.
  Call unknown;
  unknown.body = BodyFor(kSpecExampleIccid).dump();
  unknown.access_code = "esf_nobody";
  ExpectAuthError(Send(unknown), 401, "INVALID_API_KEY");
  EXPECT_EQ(api_->Requests().back().account, "");
}

TEST_F(FakeApiAccountsTest, AccountsNeverShareAnEsimNameOrAccessCode) {
  Options options = DefaultOptions();
  options.account_name = "acme";
  FakeEsimflyApi api(options, DefaultFleet());
  AccountOptions globex = Globex();
  // An eSIM of acme's, by ICCID and by id.
  EXPECT_THROW(api.AddAccount(globex, {api.Fleet().front()}), std::invalid_argument);
  FakeEsim same_id = GenerateFleet(1, std::chrono::system_clock::now(), kAccountIndexStride)[0];
  same_id.id = kByIdEsimId;
  EXPECT_THROW(api.AddAccount(globex, {same_id}), std::invalid_argument);
  EXPECT_EQ(api.AccountNames(), std::vector<std::string>{"acme"});  // nothing added
  AccountOptions taken = globex;
  taken.name = "acme";
  EXPECT_THROW(api.AddAccount(taken, {}), std::invalid_argument);
  taken = globex;
  taken.access_code = kAccess;
  EXPECT_THROW(api.AddAccount(taken, {}), std::invalid_argument);

  api.AddAccount(globex, GenerateFleet(2, std::chrono::system_clock::now(), kAccountIndexStride));
  EXPECT_THROW(api.UpsertEsim(api.Fleet("globex")[0]), std::invalid_argument);  // into acme
  EXPECT_THROW(api.UpsertEsim(api.Fleet()[0], "globex"), std::invalid_argument);
  EXPECT_THROW(api.FleetSize("initech"), std::invalid_argument);
  EXPECT_THROW(api.SetAccountFault("initech", AccountFault::kDown), std::invalid_argument);
  // Moving an eSIM: remove it from one, then add it to the other.
  const FakeEsim moved = api.Fleet("globex")[0];
  api.RemoveEsim(moved.iccid, "globex");
  api.UpsertEsim(moved);
  EXPECT_EQ(api.FleetSize("globex"), 1u);
  EXPECT_EQ(api.FleetSize(), kDefaultFleetSize + 1);

  api.Start();
  AccountOptions late = Globex();
  late.name = "late";
  late.access_code = "esf_late";
  EXPECT_THROW(api.AddAccount(late, {}), std::logic_error);
}

TEST_F(FakeApiAccountsTest, RateLimitWindowsArePerAccount) {
  Options options = DefaultOptions();
  options.rate_limit_per_minute = 1;
  AccountOptions globex = Globex();
  globex.rate_limit_per_minute = 2;
  StartTwoAccounts(options, globex);

  auto acme = SendFor(kSpecExampleIccid);
  ASSERT_TRUE(acme);
  EXPECT_EQ(acme->status, 200);
  EXPECT_EQ(acme->get_header_value("X-RateLimit-Limit"), "1");
  EXPECT_EQ(acme->get_header_value("X-RateLimit-Remaining"), "0");
  ExpectApiError(SendFor(kSpecExampleIccid), 429, "RATE_LIMIT_EXCEEDED");

  // acme's exhausted window leaves globex's untouched.
  for (const char* remaining : {"1", "0"}) {
    auto res = GlobexStatus(GlobexIccid());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("X-RateLimit-Limit"), "2");
    EXPECT_EQ(res->get_header_value("X-RateLimit-Remaining"), remaining);
  }
  auto limited = GlobexStatus(GlobexIccid());
  ExpectApiError(limited, 429, "RATE_LIMIT_EXCEEDED");
  EXPECT_EQ(limited->get_header_value("X-RateLimit-Limit"), "2");
  // A refused signature carries its account's headers.
  Call bad = AsGlobex({});
  bad.body = BodyFor(GlobexIccid()).dump();
  bad.secret = "sk_wrong";
  auto refused = Send(bad);
  ExpectAuthError(refused, 401, "INVALID_SIGNATURE");
  EXPECT_EQ(refused->get_header_value("X-RateLimit-Limit"), "2");

  // A fresh window for globex only.
  api_->SetRateLimitPerMinute(5, "globex");
  auto fresh = GlobexStatus(GlobexIccid());
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 200);
  EXPECT_EQ(fresh->get_header_value("X-RateLimit-Remaining"), "4");
  ExpectApiError(SendFor(kSpecExampleIccid), 429, "RATE_LIMIT_EXCEEDED");
}

TEST_F(FakeApiAccountsTest, AccountFaultLeavesTheOtherAccountWorking) {
  Options options = DefaultOptions();
  options.fault_retry_after = seconds(7);
  StartTwoAccounts(options);
  struct Case {
    AccountFault fault;
    int status;
    std::string code;  // empty: not JSON
    std::string text_key;
  };
  const Case cases[] = {
      {AccountFault::kRevoked, 401, "INVALID_API_KEY", "error"},
      {AccountFault::kDown, 503, "", ""},
      {AccountFault::kInvalidSignature, 401, "INVALID_SIGNATURE", "error"},
      {AccountFault::kRateLimited, 429, "RATE_LIMIT_EXCEEDED", "message"},
      {AccountFault::kProviderError, 502, "PROVIDER_ERROR", "message"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(AccountFaultName(c.fault));
    EXPECT_EQ(ParseAccountFault(AccountFaultName(c.fault)), c.fault);
    api_->SetAccountFault("globex", c.fault);
    EXPECT_EQ(api_->GetAccountFault("globex"), c.fault);
    // Every endpoint of globex fails...
    for (int endpoint = 0; endpoint < 3; ++endpoint) {
      SCOPED_TRACE(endpoint);
      auto res = endpoint == 0   ? GlobexStatus(GlobexIccid())
                 : endpoint == 1 ? SendGet(kListPath, AsGlobex({}))
                                 : SendGet(kBalancePath, AsGlobex({}));
      if (c.code.empty()) {
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, c.status);
        EXPECT_EQ(res->get_header_value("Content-Type"), "text/html");
      } else {
        ExpectError(res, c.status, c.code, c.text_key);
      }
      if (c.fault == AccountFault::kRateLimited) {
        EXPECT_EQ(res->get_header_value("Retry-After"), "7");
      }
      EXPECT_EQ(api_->Requests().back().account, "globex");
      EXPECT_EQ(api_->Requests().back().http_status, c.status);
    }
    // ...while acme answers as ever.
    auto acme = SendFor(kSpecExampleIccid);
    ASSERT_TRUE(acme);
    EXPECT_EQ(acme->status, 200) << acme->body;
    auto acme_list = SendGet(kListPath);
    ASSERT_TRUE(acme_list);
    EXPECT_EQ(acme_list->status, 200);
  }
  api_->SetAccountFault("globex", AccountFault::kNone);
  auto healed = GlobexStatus(GlobexIccid());
  ASSERT_TRUE(healed);
  EXPECT_EQ(healed->status, 200) << healed->body;
  EXPECT_THROW(ParseAccountFault("sleepy"), std::invalid_argument);

  // The default account can fail the same way, the other one keeps working.
  api_->SetAccountFault("", AccountFault::kProviderError);
  EXPECT_EQ(api_->GetAccountFault("acme"), AccountFault::kProviderError);
  ExpectApiError(SendFor(kSpecExampleIccid), 502, "PROVIDER_ERROR");
  healed = GlobexStatus(GlobexIccid());
  ASSERT_TRUE(healed);
  EXPECT_EQ(healed->status, 200) << healed->body;
}

TEST_F(FakeApiAccountsTest, BalanceWebhookAndEsimFaultsArePerAccount) {
  StartTwoAccounts();
  api_->SetBalance(12.5, "EUR", "globex");
  auto acme = SendGet(kBalancePath);
  ASSERT_TRUE(acme);
  EXPECT_EQ(Json::parse(acme->body)["data"]["currency"], "USD");
  auto globex = SendGet(kBalancePath, AsGlobex({}));
  ASSERT_TRUE(globex);
  EXPECT_DOUBLE_EQ(Json::parse(globex->body)["data"]["balance"].get<double>(), 12.5);
  EXPECT_EQ(Json::parse(globex->body)["data"]["currency"], "EUR");

  // globex subscribes; acme's subscription stays empty.
  const std::string body =
      R"({"webhook_url":"https://mon.example.com/webhook/globex","events":["esim.installed"]})";
  const std::string timestamp = NowMillis();
  const std::string request_id = NewUuidV4();
  httplib::Headers headers = {
      {"RT-AccessCode", kGlobexAccess},
      {"RT-RequestID", request_id},
      {"RT-Timestamp", timestamp},
      {"RT-Signature", TestSign(kGlobexSecret, timestamp, request_id, kGlobexAccess, body)}};
  auto put = client_->Put(kWebhooksPath, headers, body, "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(api_->WebhookUrl("globex"), "https://mon.example.com/webhook/globex");
  EXPECT_FALSE(api_->WebhookSecret("globex").empty());
  EXPECT_EQ(api_->WebhookUrl(), "");
  EXPECT_EQ(api_->WebhookSecret("acme"), "");
  auto acme_hooks = SendGet(kWebhooksPath);
  ASSERT_TRUE(acme_hooks);
  EXPECT_TRUE(Json::parse(acme_hooks->body)["data"]["webhook_url"].is_null());
  auto globex_hooks = SendGet(kWebhooksPath, AsGlobex({}));
  ASSERT_TRUE(globex_hooks);
  EXPECT_EQ(Json::parse(globex_hooks->body)["data"]["webhook_url"],
            "https://mon.example.com/webhook/globex");

  // An eSIM fault finds its eSIM in whichever account holds it.
  ASSERT_TRUE(api_->SetFault(GlobexIccid(), Fault::kServerError));
  auto faulty = GlobexStatus(GlobexIccid());
  ASSERT_TRUE(faulty);
  EXPECT_EQ(faulty->status, 500);
  EXPECT_EQ(api_->Requests().back().fault, Fault::kServerError);
  api_->SetListFailPage(1, "globex");
  ExpectApiError(SendGet(kListPath, AsGlobex({})), 502, "PROVIDER_ERROR");
  auto acme_list = SendGet(kListPath);
  ASSERT_TRUE(acme_list);
  EXPECT_EQ(acme_list->status, 200);
}

}  // namespace
}  // namespace fake_esimfly
