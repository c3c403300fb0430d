// The eSIMfly live-status call: builds the body, signs it, sends it through an HttpTransport and
// turns whatever comes back into an ApiResult. Never throws; thread safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config.h"
#include "esim_status.h"
#include "http_transport.h"
#include "webhook_subscription.h"

namespace esim {

// The API's X-RateLimit-* headers, when sent.
struct RateLimitHeaders {
  std::optional<double> limit, remaining;
  std::optional<double> reset_time;  // Unix seconds
};

struct ApiResult {
  // "OK", the API's error code (FORBIDDEN, PROVIDER_ERROR, ...), or a transport outcome
  // (TIMEOUT, CONNECTION_ERROR, TLS_ERROR, HTTP_<status>, INVALID_RESPONSE).
  std::string code;
  // True when the API answered with a valid signed-API response (esim_up).
  bool api_up = false;
  std::string message;                    // the API's human text or the transport's, for the log
  int http_status = 0;                    // 0 when no HTTP answer arrived
  std::optional<EsimStatus> status;       // status call: set when code == "OK"
  std::optional<EsimListPage> list;       // list call: set when code == "OK"
  std::optional<AccountBalance> balance;  // balance call: set when code == "OK"
  std::optional<WebhookSubscription> webhook_subscription;  // GET /webhooks: when code == "OK"
  RateLimitHeaders rate_limit;
  std::optional<double> retry_after_time;  // Unix seconds, from Retry-After
  std::optional<double> server_time;       // Unix seconds, from Date
  double duration_seconds = 0;
  bool ok() const { return code == "OK"; }
};

// Interprets one HTTP answer of the status endpoint; `now` (Unix seconds) resolves relative
// Retry-After / X-RateLimit-Reset values. Pure; exposed for tests.
ApiResult InterpretStatusResponse(const HttpResponse& response, double now);

ApiResult InterpretListResponse(const HttpResponse& response, double now);
ApiResult InterpretBalanceResponse(const HttpResponse& response, double now);
// GET /webhooks. Bounded (see webhook_subscription.h); null optional fields are accepted, any
// other wrong shape is INVALID_RESPONSE. Never throws.
ApiResult InterpretWebhookSubscriptionResponse(const HttpResponse& response, double now);

// True for the codes that mean the API refused our credentials or the request's signing
// (esim_up 0): HMAC_REQUIRED, INVALID_API_KEY, INVALID_SIGNATURE, INVALID_TIMESTAMP, ...
bool IsCredentialRefusal(std::string_view code);

// The JSON request body for one eSIM: {"iccid":"..."} or {"esimId":n}.
std::string StatusRequestBody(const EsimConfig& esim);

class ApiClient {
 public:
  using WallClock = std::function<double()>;  // Unix seconds
  ApiClient(std::string access_code, Secret secret_key, std::shared_ptr<HttpTransport> transport,
            WallClock wall_clock);
  ApiResult FetchStatus(const EsimConfig& esim) const;
  // One page of GET /esims for `status` (NEW, ACTIVE, ..., or all), `limit` eSIMs a page.
  ApiResult FetchListPage(const std::string& status, int64_t page, int limit = 100) const;
  ApiResult FetchBalance() const;
  // The key's webhook subscription (read only; the signing secret is never part of it).
  ApiResult FetchWebhookSubscription() const;

 private:
  enum class Kind { kStatus, kList, kBalance, kWebhookSubscription };
  ApiResult Send(const std::string& method, const std::string& path, const std::string& body,
                 Kind kind) const;

  std::string access_code_;
  Secret secret_key_;
  std::shared_ptr<HttpTransport> transport_;
  WallClock wall_clock_;
};

}  // namespace esim
