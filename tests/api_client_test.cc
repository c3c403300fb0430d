#include "api_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "signer.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kNow = 1782484480.0;

HttpResponse Answer(int status, std::string body, HeaderMap headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

// The spec's example answer, word for word.
constexpr char kSpecExample[] = R"({
  "success": true,
  "message": "Live eSIM status retrieved",
  "data": {
    "iccid": "8948010010036785060",
    "status": "ACTIVE",
    "esim_status": "Active",
    "smdp_status": "AFFECTED",
    "profile": "Enabled",
    "unlimited": false,
    "last_network": {"operator": "Optus", "mcc": "505", "mnc": "2", "country": "Australia",
                     "country_iso2": "AU", "connection_type": "4G - LTE"},
    "device": {"model": "GTF7P", "imei": "350000000000000"},
    "activation_date": "2026-06-26T14:34:40.000Z",
    "last_usage_date": "2026-06-26T14:35:21.000Z",
    "expiry_date": "2026-07-26T14:34:40.000Z",
    "data_usage": {"used_gb": 0, "total_gb": 1, "unlimited": false}
  }
})";

TEST(InterpretStatusResponseTest, ParsesEveryFieldOfTheSpecExample) {
  const ApiResult result = InterpretStatusResponse(Answer(200, kSpecExample), kNow);
  ASSERT_EQ(result.code, "OK");
  EXPECT_TRUE(result.api_up);
  ASSERT_TRUE(result.status);
  const EsimStatus& s = *result.status;
  EXPECT_EQ(s.iccid, "8948010010036785060");
  EXPECT_EQ(s.status, "ACTIVE");
  EXPECT_EQ(s.esim_status, "Active");
  EXPECT_EQ(s.smdp_status, "AFFECTED");
  EXPECT_EQ(s.profile, "Enabled");
  EXPECT_FALSE(s.unlimited);
  EXPECT_EQ(s.last_network.operator_name, "Optus");
  EXPECT_EQ(s.last_network.mcc, "505");
  EXPECT_EQ(s.last_network.mnc, "2");
  EXPECT_EQ(s.last_network.country, "Australia");
  EXPECT_EQ(s.last_network.country_iso2, "AU");
  EXPECT_EQ(s.last_network.connection_type, "4G - LTE");
  EXPECT_EQ(s.device.model, "GTF7P");
  EXPECT_EQ(s.device.imei, "350000000000000");
  EXPECT_EQ(s.activation_time, 1782484480.0);
  EXPECT_EQ(s.last_usage_time, 1782484521.0);
  EXPECT_EQ(s.expiry_time, 1785076480.0);
  EXPECT_EQ(s.used_bytes, 0.0);
  EXPECT_EQ(s.total_bytes, 1073741824.0);
}

TEST(InterpretStatusResponseTest, GigabytesBecomeBinaryBytes) {
  const ApiResult result =
      InterpretStatusResponse(Answer(200, R"({"success":true,"data":{"status":"ACTIVE",
                 "data_usage":{"used_gb":0.25,"total_gb":3}}})"),
                              kNow);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.status->used_bytes, 268435456.0);  // 256 MiB, as the list endpoint's MB
  EXPECT_EQ(result.status->total_bytes, 3 * kGiB);
}

TEST(InterpretStatusResponseTest, UnlimitedPlanHasNoAllowance) {
  const ApiResult result = InterpretStatusResponse(
      Answer(200, R"({"success":true,"data":{"status":"ACTIVE","unlimited":true,
                 "data_usage":{"used_gb":12.5,"total_gb":null,"unlimited":true}}})"),
      kNow);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.status->unlimited);
  EXPECT_FALSE(result.status->total_bytes.has_value());
  EXPECT_EQ(result.status->used_bytes, 12.5 * kGiB);
}

TEST(InterpretStatusResponseTest, NullsOfANeverConnectedEsimAreAbsent) {
  const ApiResult result = InterpretStatusResponse(
      Answer(200, R"({"success":true,"data":{"iccid":"8948010010036785060","status":"NEW",
        "esim_status":"New","smdp_status":"RELEASED","profile":null,"unlimited":false,
        "last_network":{"operator":null,"mcc":null,"mnc":null,"country":null,
                        "country_iso2":null,"connection_type":null},
        "device":{"model":null,"imei":null},
        "activation_date":null,"last_usage_date":null,"expiry_date":null,
        "data_usage":{"used_gb":0,"total_gb":5,"unlimited":false}}})"),
      kNow);
  ASSERT_TRUE(result.ok()) << result.message;
  const EsimStatus& s = *result.status;
  EXPECT_FALSE(s.profile);
  EXPECT_FALSE(s.last_network.HasAny());
  EXPECT_FALSE(s.device.HasAny());
  EXPECT_FALSE(s.activation_time);
  EXPECT_FALSE(s.last_usage_time);
  EXPECT_FALSE(s.expiry_time);
  EXPECT_EQ(s.total_bytes, 5 * kGiB);
}

struct ErrorCase {
  const char* name;
  int status;
  const char* body;
  const char* code;
  bool api_up;
};

class ErrorMappingTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorMappingTest, MapsToACountedOutcome) {
  const ErrorCase& c = GetParam();
  const ApiResult result = InterpretStatusResponse(Answer(c.status, c.body), kNow);
  EXPECT_EQ(result.code, c.code);
  EXPECT_EQ(result.api_up, c.api_up);
  EXPECT_FALSE(result.status.has_value());
  EXPECT_EQ(result.http_status, c.status);
}

INSTANTIATE_TEST_SUITE_P(
    AllDocumentedAndUndocumented, ErrorMappingTest,
    testing::Values(
        ErrorCase{
            "missing_identifier", 400,
            R"({"success":false,"message":"iccid or esimId required","code":"MISSING_IDENTIFIER"})",
            "MISSING_IDENTIFIER", true},
        ErrorCase{"forbidden", 403, R"({"success":false,"message":"x","code":"FORBIDDEN"})",
                  "FORBIDDEN", true},
        ErrorCase{"not_found", 404, R"({"success":false,"message":"x","code":"ESIM_NOT_FOUND"})",
                  "ESIM_NOT_FOUND", true},
        ErrorCase{"provider", 502, R"({"success":false,"message":"x","code":"PROVIDER_ERROR"})",
                  "PROVIDER_ERROR", true},
        ErrorCase{"hmac_required", 401,
                  R"({"success":false,"error":"HMAC required","code":"HMAC_REQUIRED"})",
                  "HMAC_REQUIRED", false},
        ErrorCase{"invalid_key", 401,
                  R"({"success":false,"error":"Invalid API key","code":"INVALID_API_KEY"})",
                  "INVALID_API_KEY", false},
        ErrorCase{"invalid_signature", 401,
                  R"({"success":false,"error":"Invalid signature","code":"INVALID_SIGNATURE"})",
                  "INVALID_SIGNATURE", false},
        ErrorCase{"invalid_timestamp", 401,
                  R"({"success":false,"error":"stale","code":"INVALID_TIMESTAMP"})",
                  "INVALID_TIMESTAMP", false},
        ErrorCase{"invalid_request_id", 401,
                  R"({"success":false,"error":"bad id","code":"INVALID_REQUEST_ID"})",
                  "INVALID_REQUEST_ID", false},
        ErrorCase{"duplicate", 409, R"({"success":false,"error":"dup","code":"DUPLICATE_REQUEST"})",
                  "DUPLICATE_REQUEST", false},
        ErrorCase{"invalid_user", 403, R"({"success":false,"error":"x","code":"INVALID_USER"})",
                  "INVALID_USER", false},
        ErrorCase{"access_denied", 403,
                  R"({"success":false,"message":"x","code":"ESIM_ACCESS_DENIED"})",
                  "ESIM_ACCESS_DENIED", true},
        ErrorCase{"rate_limit_200", 200,
                  R"({"success":false,"message":"slow down","code":"RATE_LIMIT_EXCEEDED"})",
                  "RATE_LIMIT_EXCEEDED", true},
        ErrorCase{"rate_limit_bare_429", 429, "Too Many Requests", "RATE_LIMIT_EXCEEDED", true},
        ErrorCase{"rate_limit_json_429", 429, R"({"success":false})", "RATE_LIMIT_EXCEEDED", true},
        ErrorCase{"gateway_html", 503, "<html>Service Unavailable</html>", "HTTP_503", false},
        ErrorCase{"empty_500", 500, "", "HTTP_500", false},
        ErrorCase{"json_without_code", 500, R"({"success":false,"message":"boom"})", "HTTP_500",
                  false},
        ErrorCase{"garbage_200", 200, "not json", "INVALID_RESPONSE", false},
        ErrorCase{"array_200", 200, "[1,2,3]", "INVALID_RESPONSE", false},
        ErrorCase{"no_data", 200, R"({"success":true})", "INVALID_RESPONSE", false},
        ErrorCase{"status_missing", 200,
                  R"({"success":true,"data":{"data_usage":{"used_gb":1,"total_gb":2}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"used_is_string", 200,
                  R"({"success":true,"data":{"status":"ACTIVE","data_usage":{"used_gb":"1"}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"negative_usage", 200,
                  R"({"success":true,"data":{"status":"ACTIVE","data_usage":{"used_gb":-1}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"bad_date", 200,
                  R"({"success":true,"data":{"status":"ACTIVE","expiry_date":"soon",
                     "data_usage":{"used_gb":1}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"network_is_string", 200,
                  R"({"success":true,"data":{"status":"ACTIVE","last_network":"Optus",
                     "data_usage":{"used_gb":1}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"success_is_string", 200,
                  R"({"success":"yes","data":{"status":"ACTIVE","data_usage":{"used_gb":1}}})",
                  "INVALID_RESPONSE", false},
        ErrorCase{"hostile_code", 400, R"({"success":false,"code":"<script>alert(1)</script>"})",
                  "HTTP_400", false}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(InterpretStatusResponseTest, TakesTheHumanTextFromMessageOrError) {
  EXPECT_EQ(
      InterpretStatusResponse(
          Answer(404, R"({"success":false,"message":"eSIM not found","code":"ESIM_NOT_FOUND"})"),
          kNow)
          .message,
      "eSIM not found");
  EXPECT_EQ(
      InterpretStatusResponse(
          Answer(401,
                 R"({"success":false,"error":"Invalid signature","code":"INVALID_SIGNATURE"})"),
          kNow)
          .message,
      "Invalid signature");
}

TEST(InterpretStatusResponseTest, TransportFailuresHaveTheirOwnCodes) {
  HttpResponse failed;
  failed.error = TransportError::kTimeout;
  EXPECT_EQ(InterpretStatusResponse(failed, kNow).code, "TIMEOUT");
  failed.error = TransportError::kConnection;
  EXPECT_EQ(InterpretStatusResponse(failed, kNow).code, "CONNECTION_ERROR");
  failed.error = TransportError::kTls;
  EXPECT_EQ(InterpretStatusResponse(failed, kNow).code, "TLS_ERROR");
  failed.error = TransportError::kBodyTooLarge;
  const ApiResult too_large = InterpretStatusResponse(failed, kNow);
  EXPECT_EQ(too_large.code, "INVALID_RESPONSE");
  EXPECT_FALSE(too_large.api_up);
}

TEST(InterpretStatusResponseTest, ReadsRateLimitHeadersInBothDocumentedForms) {
  const ApiResult unix_form = InterpretStatusResponse(Answer(200, kSpecExample,
                                                             {{"x-ratelimit-limit", "100"},
                                                              {"x-ratelimit-remaining", "42"},
                                                              {"x-ratelimit-reset", "1782484540"}}),
                                                      kNow);
  EXPECT_EQ(unix_form.rate_limit.limit, 100.0);
  EXPECT_EQ(unix_form.rate_limit.remaining, 42.0);
  EXPECT_EQ(unix_form.rate_limit.reset_time, 1782484540.0);

  const ApiResult iso_form = InterpretStatusResponse(
      Answer(200, kSpecExample, {{"x-ratelimit-reset", "2026-06-26T14:35:40.000Z"}}), kNow);
  EXPECT_EQ(iso_form.rate_limit.reset_time, 1782484540.0);
}

TEST(InterpretStatusResponseTest, ReadsRetryAfterAsSecondsOrDate) {
  const ApiResult seconds = InterpretStatusResponse(Answer(429, "", {{"retry-after", "30"}}), kNow);
  EXPECT_EQ(seconds.retry_after_time, kNow + 30);
  const ApiResult date = InterpretStatusResponse(
      Answer(429, "", {{"retry-after", "Fri, 26 Jun 2026 14:35:40 GMT"}}), kNow);
  EXPECT_EQ(date.retry_after_time, 1782484540.0);
}

TEST(StatusRequestBodyTest, UsesIccidOrEsimId) {
  EsimConfig by_iccid;
  by_iccid.iccid = "8948010010036785060";
  EXPECT_EQ(StatusRequestBody(by_iccid), R"({"iccid":"8948010010036785060"})");
  EsimConfig by_id;
  by_id.esim_id = 12345;
  EXPECT_EQ(StatusRequestBody(by_id), R"({"esimId":12345})");
}

class RecordingTransport : public HttpTransport {
 public:
  HttpResponse Send(const HttpRequest& request) override {
    requests.push_back(request);
    return Answer(200, kSpecExample);
  }
  std::vector<HttpRequest> requests;
};

TEST(ApiClientTest, SignsExactlyTheBodyItSends) {
  auto transport = std::make_shared<RecordingTransport>();
  ApiClient client("esf_code", Secret("sk_secret"), transport, [] { return 1767225600.123; });
  EsimConfig esim;
  esim.iccid = "8948010010036785060";
  const ApiResult result = client.FetchStatus(esim);
  EXPECT_TRUE(result.ok());
  ASSERT_EQ(transport->requests.size(), 1u);
  const HttpRequest& sent = transport->requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/api/v1/business/esims/status");
  std::map<std::string, std::string> headers(sent.headers.begin(), sent.headers.end());
  EXPECT_EQ(headers["RT-AccessCode"], "esf_code");
  EXPECT_EQ(headers["RT-Timestamp"], "1767225600123");
  EXPECT_EQ(headers["Content-Type"], "application/json");
  EXPECT_EQ(headers["RT-Signature"],
            ComputeSignature("sk_secret", "1767225600123", headers["RT-RequestID"], "esf_code",
                             sent.body));
  for (const auto& [name, value] : sent.headers) {
    EXPECT_THAT(value, Not(HasSubstr("sk_secret"))) << "secret leaked in " << name;
  }
}

TEST(ApiClientTest, EveryRequestGetsAFreshRequestId) {
  auto transport = std::make_shared<RecordingTransport>();
  ApiClient client("esf_code", Secret("sk_secret"), transport, [] { return 1767225600.0; });
  EsimConfig esim;
  esim.iccid = "8948010010036785060";
  client.FetchStatus(esim);
  client.FetchStatus(esim);
  ASSERT_EQ(transport->requests.size(), 2u);
  auto id_of = [](const HttpRequest& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "RT-RequestID") return value;
    }
    return std::string();
  };
  EXPECT_NE(id_of(transport->requests[0]), id_of(transport->requests[1]));
}

class ThrowingTransport : public HttpTransport {
 public:
  HttpResponse Send(const HttpRequest&) override { throw std::runtime_error("boom"); }
};

TEST(ApiClientTest, NeverLetsAnExceptionEscape) {
  ApiClient client("esf_code", Secret("sk_secret"), std::make_shared<ThrowingTransport>(),
                   [] { return 0.0; });
  EsimConfig esim;
  esim.iccid = "8948010010036785060";
  const ApiResult result = client.FetchStatus(esim);
  EXPECT_EQ(result.code, "INVALID_RESPONSE");
  EXPECT_FALSE(result.api_up);
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

// The inventory spec's example item, with an unlimited one and the installation secrets.
constexpr char kListExample[] = R"({"success": true,
 "data": {
   "esims": [{
     "id": 12345, "iccid": "8910300001234567890",
     "package_name": "Sweden 1GB - 7 Days", "package_code": "sweden-7days-1gb",
     "countries": ["Sweden"], "status": "ACTIVE",
     "data": {"total_mb": 1024, "used_mb": 256, "remaining_mb": 768,
              "usage_percentage": 25, "is_unlimited": false},
     "validity": {"days": 7, "activated_at": "2024-01-29T10:30:00Z",
                  "expires_at": "2024-02-05T10:30:00Z", "is_expired": false},
     "created_at": "2024-01-29T10:30:00Z", "is_pending": false, "phone_number": null,
     "qr_code": "LPA:1$smdp$SECRET-QR", "manual_installation": {"activation_code": "SECRET-AC"},
     "flag_url": "/images/flags/se.png"
   }, {
     "id": 12346, "iccid": "8948010010036785060", "package_name": "World Unlimited",
     "package_code": "world-unl", "countries": ["France", "Spain"], "status": "NEW",
     "data": {"total_mb": 0, "used_mb": 0, "remaining_mb": 0, "usage_percentage": 0,
              "is_unlimited": true},
     "validity": {"days": 30, "activated_at": null, "expires_at": null, "is_expired": false}
   }],
   "pagination": {"page": 1, "limit": 100, "total": 2, "total_pages": 1}}})";

TEST(InterpretListResponseTest, ReadsItemsInBytesAndNeverTheSecrets) {
  const ApiResult result = InterpretListResponse(Answer(200, kListExample), kNow);
  ASSERT_TRUE(result.ok()) << result.message;
  ASSERT_TRUE(result.list);
  ASSERT_EQ(result.list->esims.size(), 2u);
  const ListedEsim& sweden = result.list->esims[0];
  EXPECT_EQ(sweden.id, 12345);
  EXPECT_EQ(sweden.iccid, "8910300001234567890");
  EXPECT_EQ(sweden.package_code, "sweden-7days-1gb");
  EXPECT_EQ(sweden.countries, std::vector<std::string>{"Sweden"});
  EXPECT_EQ(sweden.used_bytes, 256.0 * 1024 * 1024);
  EXPECT_EQ(sweden.total_bytes, 1024.0 * 1024 * 1024);  // 1 GB plan: same bytes as live 1 GB
  EXPECT_EQ(sweden.activation_time, 1706524200.0);
  EXPECT_EQ(sweden.expiry_time, 1707129000.0);
  const ListedEsim& unlimited = result.list->esims[1];
  EXPECT_TRUE(unlimited.unlimited);
  EXPECT_FALSE(unlimited.total_bytes.has_value()) << "total_mb 0 of an unlimited plan";
  EXPECT_FALSE(unlimited.activation_time);
  EXPECT_EQ(result.list->total, 2);
  EXPECT_EQ(result.list->total_pages, 1);
}

TEST(InterpretListResponseTest, WrongShapesAreInvalidResponses) {
  for (const char* body : {R"({"success":true,"data":{"esims":{}}})",
                           R"({"success":true,"data":{"esims":[],"pagination":{"page":1}}})",
                           R"({"success":true,"data":{"esims":[],
                              "pagination":{"page":1,"total_pages":1}}})",
                           R"({"success":true,"data":{"esims":[],
                              "pagination":{"page":1,"total":1,"totalPages":"1"}}})",
                           R"({"success":true,"data":{"esims":[],
                              "pagination":{"page":1,"total":-1,"total_pages":1}}})"}) {
    const ApiResult result = InterpretListResponse(Answer(200, body), kNow);
    EXPECT_EQ(result.code, "INVALID_RESPONSE") << body;
    EXPECT_FALSE(result.list.has_value());
  }
}

// Orders still being provisioned (is_pending, iccid null, data and validity null) and single
// broken entries are skipped and counted; the rest of the page is read.
TEST(InterpretListResponseTest, SkipsPendingAndMalformedEntriesAndReadsTheRest) {
  const char* body = R"({"success": true, "data": {"esims": [
     {"id": 1, "iccid": null, "status": "NEW", "data": null, "validity": null, "is_pending": true},
     {"id": 2, "iccid": null, "status": "NEW", "data": null, "validity": null},
     {"id": 3, "iccid": "8910300001234567890", "status": "NEW", "is_pending": true,
      "data": {"total_mb": 1024, "used_mb": 0, "is_unlimited": false}},
     {"id": 4, "iccid": "", "status": "NEW", "data": null},
     {"id": 5, "iccid": "8910300001234567891", "status": "ACTIVE", "data": null},
     {"id": "six", "iccid": "8910300001234567892", "status": "ACTIVE",
      "data": {"total_mb": 1024, "used_mb": 1, "is_unlimited": false}},
     {"id": 7, "iccid": "8910300001234567893", "status": "ACTIVE",
      "data": {"total_mb": 1024, "used_mb": "one", "is_unlimited": false}},
     "not an object",
     {"id": 9, "iccid": "8910300001234567894", "status": "ACTIVE",
      "data": {"total_mb": 1024, "used_mb": 10, "is_unlimited": false}, "validity": null}],
   "pagination": {"page": 1, "limit": 100, "total": 9, "total_pages": 1}}})";
  const ApiResult result = InterpretListResponse(Answer(200, body), kNow);
  ASSERT_TRUE(result.ok()) << result.message;
  ASSERT_EQ(result.list->esims.size(), 1u);
  EXPECT_EQ(result.list->esims[0].id, 9) << "a null validity alone is a complete eSIM";
  EXPECT_FALSE(result.list->esims[0].expiry_time.has_value());
  EXPECT_EQ(result.list->skipped.pending, 5);
  EXPECT_EQ(result.list->skipped.malformed, 3);
  EXPECT_EQ(result.list->skipped.first_malformed, "esims[].id is missing");
  EXPECT_EQ(result.list->total, 9);
}

TEST(InterpretListResponseTest, ReadsThePageCountInEitherSpellingOrDerivesIt) {
  auto pages = [](const std::string& pagination) {
    const std::string body =
        R"({"success":true,"data":{"esims":[],"pagination":)" + pagination + "}}";
    const ApiResult result = InterpretListResponse(Answer(200, body), kNow);
    EXPECT_TRUE(result.ok()) << pagination << ": " << result.message;
    return result.list ? result.list->total_pages : std::optional<int64_t>(-1);
  };
  EXPECT_EQ(pages(R"({"page":1,"limit":20,"total":45,"total_pages":3})"), 3);
  EXPECT_EQ(pages(R"({"page":1,"limit":20,"total":45,"totalPages":3})"), 3);
  EXPECT_EQ(pages(R"({"page":1,"limit":20,"total":45})"), 3);
  EXPECT_EQ(pages(R"({"page":1,"limit":20,"total":40})"), 2);
  EXPECT_EQ(pages(R"({"page":1,"limit":100,"total":0})"), 0);
  EXPECT_EQ(pages(R"({"total":45})"), std::nullopt) << "the caller knows the limit it asked for";
}

TEST(InterpretBalanceResponseTest, ReadsAmountAndCurrency) {
  const ApiResult result = InterpretBalanceResponse(
      Answer(200, R"({"success":true,"data":{"balance":1500.00,"currency":"USD"}})"), kNow);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.balance->amount, 1500.0);
  EXPECT_EQ(result.balance->currency, "USD");
  EXPECT_EQ(
      InterpretBalanceResponse(Answer(200, R"({"success":true,"data":{"balance":"1"}})"), kNow)
          .code,
      "INVALID_RESPONSE");
}

TEST(ApiClientTest, SignsGetRequestsOverTheEmptyBody) {
  auto transport = std::make_shared<RecordingTransport>();
  ApiClient client("esf_code", Secret("sk_secret"), transport, [] { return 1767225600.0; });
  client.FetchListPage("ACTIVE", 2);
  ASSERT_EQ(transport->requests.size(), 1u);
  const HttpRequest& sent = transport->requests[0];
  EXPECT_EQ(sent.method, "GET");
  EXPECT_EQ(sent.path, "/api/v1/business/esims?page=2&limit=100&status=ACTIVE");
  EXPECT_EQ(sent.body, "");
  std::map<std::string, std::string> headers(sent.headers.begin(), sent.headers.end());
  EXPECT_EQ(headers["RT-Signature"], ComputeSignature("sk_secret", "1767225600000",
                                                      headers["RT-RequestID"], "esf_code", ""));
}

}  // namespace
}  // namespace esim

namespace esim {
namespace {

TEST(InterpretStatusResponseTest, LongTextIsCutAtACharacterBoundary) {
  std::string operator_name;
  for (int i = 0; i < 100; ++i) operator_name += "\xe6\x97\xa5";  // 300 bytes of U+65E5
  const ApiResult result = InterpretStatusResponse(
      Answer(200, R"({"success":true,"data":{"status":"ACTIVE","last_network":{"operator":")" +
                      operator_name + R"("},"data_usage":{"used_gb":1}}})"),
      kNow);
  ASSERT_TRUE(result.ok()) << result.message;
  const std::string& kept = *result.status->last_network.operator_name;
  EXPECT_EQ(kept.size(), 255u);  // 85 whole characters, not 256 bytes with a broken one
  EXPECT_EQ(kept, operator_name.substr(0, 255));
}

TEST(InterpretStatusResponseTest, AbsurdUsageIsAnInvalidResponse) {
  EXPECT_EQ(InterpretStatusResponse(Answer(200, R"({"success":true,"data":{"status":"ACTIVE",
                           "data_usage":{"used_gb":1e300}}})"),
                                    kNow)
                .code,
            "INVALID_RESPONSE");
}

}  // namespace
}  // namespace esim
