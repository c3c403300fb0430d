// A fake eSIMfly business API: a strict, independent implementation of
// docs/esimfly-api.md (live status), used in-process by the integration tests and as the
// `fake_esimfly_api` binary by the demo.
//
// It shares no code with src/ on purpose: it verifies the exporter's request signing against its
// own reading of the spec, so a signing bug in the exporter shows up as INVALID_SIGNATURE here.
//
// Endpoint: POST /api/v1/business/esims/status. Checks, in this order, each answering as the spec
// documents:
//   1. RT-AccessCode, RT-RequestID, RT-Timestamp, RT-Signature present and non-empty
//                                                                   401 HMAC_REQUIRED
//   2. the access code is the configured one                        401 INVALID_API_KEY
//   3. RT-Timestamp is decimal Unix milliseconds within max_timestamp_age of now (either side)
//                                                                   401 INVALID_TIMESTAMP
//   4. RT-RequestID is a UUID v4 (36 chars, version 4, variant 8/9/a/b, either hex case)
//                                                                   401 INVALID_REQUEST_ID
//   5. RT-Signature == UPPERCASE_HEX(HMAC_SHA256(secret, ts + id + access code + body)), over the
//      exact body bytes received, compared in constant time        401 INVALID_SIGNATURE
//   6. the request id was not used before (remembered until its timestamp leaves the window; the
//      id is remembered from here on whatever the outcome, so a retry needs a fresh id)
//                                                                   409 DUPLICATE_REQUEST
//   7. Content-Type is application/json (parameters such as charset allowed)
//                                                                   415 UNSUPPORTED_MEDIA_TYPE
//      (the spec documents no code for this; this one is the fake's choice)
//   8. the rate limit window is not exhausted (when configured)     429 RATE_LIMIT_EXCEEDED
//                                                                       + Retry-After seconds
//   9. the body is a JSON object                                    400 INVALID_REQUEST (fake's
//                                                                       choice, undocumented)
//  10. it has "iccid" (non-empty string) or, only when iccid is absent, "esimId" (integer)
//                                                                   400 MISSING_IDENTIFIER
//  11. the eSIM exists and is not a pending order                   404 ESIM_NOT_FOUND
//  12. the eSIM's fault when set (see "Fault injection" below), else its error_code when set:
//      PROVIDER_ERROR 502, ESIM_NOT_FOUND 404, RATE_LIMIT_EXCEEDED 429, anything else
//      (FORBIDDEN, ESIM_ACCESS_DENIED, INVALID_USER, UNSUPPORTED_PROVIDER, NOT_SUPPORTED...) 403
//  13. 200 {"success":true,"message":"Live eSIM status retrieved","data":<status_data>}
//
// Error bodies: checks 1-6 (the vendor's HMAC middleware) use
// {"success":false,"error":"...","code":"..."}; all others {"success":false,"message":"...",
// "code":"..."}. Every answer is Content-Type application/json.
// When a rate limit is configured every response (errors included) carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset. Only requests that pass checks 1-7 consume the
// budget; a request answered 429 does not.
// Any other path answers 404 NOT_FOUND (405 METHOD_NOT_ALLOWED for another method on a known
// path). Every request is recorded, rejected ones included.
//
// The bulk reads of docs/esimfly-api.md (eSIM list, balance), authenticated by the same checks
// 1-6 and 8 (the signed body of a GET is the empty string, the query string is not signed; no
// Content-Type is required), sharing the one rate limit with the status endpoint:
//
// GET /api/v1/business/esims: the account's stored eSIMs, ordered by id (then iccid). Every eSIM
//   is listed except those whose error_code is FORBIDDEN (another account's) or ESIM_NOT_FOUND;
//   PROVIDER_ERROR ones are listed, and pending orders (FakeEsim::pending) as the vendor lists
//   them: is_pending true, iccid, data and validity null. Query parameters, each validated after
//   authentication:
//     page    integer >= 1, default 1                              else 400 INVALID_PARAMETER
//     limit   integer 1..100, default 20                           else 400 INVALID_PARAMETER
//     status  all (default), NEW, ACTIVE, EXPIRED, CANCELLED, DEPLETED, DELETED (exact case),
//             matched against the listed status (after listed_overrides)
//                                                                  else 400 INVALID_PARAMETER
//     search  case-insensitive substring of the ICCID (not of a pending order's), package name
//             or package code
//     include_base64 and any other parameter: ignored
//   Then, when list_fail_page > 0 and page == list_fail_page:     502 PROVIDER_ERROR
//   Else 200 {"success":true,"data":{"esims":[<ListItemJson>...],
//             "pagination":{"page","limit","total","total_pages"}}}; a page past the end is empty.
//   total_pages = ceil(total / limit) (0 for an empty listing), under the key
//   Options::list_total_pages_key ("totalPages", or left out, on demand).
//   With Options::list_invents_esims, every page is `limit` made-up eSIMs never listed before,
//   total = (page + 1) * limit. The entry of Options::list_malformed_iccid has data.used_mb as
//   a string ("512 MB").
// GET /api/v1/business/balance: 200 {"success":true,"data":{"balance":<balance>,
//   "currency":<currency>}}.
//
// Fault injection (status endpoint only, after checks 1-11, so the request is authenticated,
// remembered, counted against the rate limit and recorded whatever the fault):
//   kHang                  reads the request and answers nothing until SetFault switches the
//                          fault off (then it answers as step 13 would) or Stop() (then the
//                          connection is dropped); Stop() returns promptly either way
//   kHugeBody              200 application/json, Content-Length huge_body_bytes (default 64 MiB):
//                          {"padding":"xxx...","success":true,"message":...,"data":<status>},
//                          valid JSON, streamed in 64 KiB pieces (the fake holds none of it)
//   kRateLimitedRetryAfter 429 {"success":false,"message":...,"code":"RATE_LIMIT_EXCEEDED"},
//                          Retry-After: fault_retry_after seconds (plus X-RateLimit-* when a
//                          rate limit is configured)
//   kRateLimitedBare       429 text/plain "Too Many Requests", no other header
//   kServerError           500 text/html, an nginx-style error page
//   kConnectionReset       the TCP connection is reset (RST) without a byte of answer
//   kGarbage               200 application/json with a body that is not JSON
//   kWrongTypes            200 success JSON whose data.data_usage.used_gb (and total_gb, when a
//                          number) are strings, e.g. "0.5"
// Its record has `fault` set; http_status is what was sent (0 for kHang until released, and for
// kConnectionReset), code the JSON code sent (RATE_LIMIT_EXCEEDED for kRateLimitedRetryAfter),
// else empty. A reset on an HTTPS server may raise SIGPIPE on the server's next write: the fake
// then ignores SIGPIPE in the process (only when its disposition was the default).
//
// Several accounts (API keys) on one server, so that one account fails while another works:
// Options describes the default account (named Options::account_name); AddAccount adds more, each
// with its own access code and secret key, fleet, rate limit window, balance, list fault page and
// webhook subscription. Check 2 picks the account by RT-AccessCode, check 5 verifies its secret,
// check 8 counts against its own window, and every endpoint answers from that account's data only:
// a request signed for one account never sees another's eSIMs (their ICCIDs and ids are
// disjoint, AddAccount and UpsertEsim refuse a shared one). Request ids (check 6) are remembered
// server-wide. Requests that match no account (unknown code, unknown path) carry the default
// account's rate limit headers. The knobs taking an `account` name act on the default account when
// it is empty and throw std::invalid_argument for an unknown name.
//
// Account faults (SetAccountFault), for every endpoint of one account:
//   kRevoked           401 INVALID_API_KEY at check 2, as for an unknown access code
//   kDown              503 text/html (an nginx-style page) right after check 2: not authenticated,
//                      not counted against the rate limit
//   kInvalidSignature  401 INVALID_SIGNATURE at check 5 whatever the signature (a rotated secret)
//   kRateLimited       429 RATE_LIMIT_EXCEEDED + Retry-After fault_retry_after at check 8, not
//                      counted (an exhausted daily budget)
//   kProviderError     502 PROVIDER_ERROR after checks 1-8 (authenticated and counted)
// Their records carry the account and the answer sent; `fault` stays kNone.
//
// Thread safety: every public member function is thread safe, except that BaseUrl() must not race
// Start() and AddAccount() must precede Start() and not race the other calls. The server answers on
// its own worker threads between Start() and Stop().
#ifndef ESIM_EXPORTER_TESTS_FAKE_API_FAKE_ESIMFLY_API_H_
#define ESIM_EXPORTER_TESTS_FAKE_API_FAKE_ESIMFLY_API_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fleet.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fake_esimfly {

inline constexpr char kStatusPath[] = "/api/v1/business/esims/status";
inline constexpr char kListPath[] = "/api/v1/business/esims";
inline constexpr char kBalancePath[] = "/api/v1/business/balance";
// The webhook subscription of the key: GET answers it, a signed PUT
// {"webhook_url", "events"} sets it and answers a fresh signing secret once (rotating it).
inline constexpr char kWebhooksPath[] = "/api/v1/business/webhooks";

// A whole account's misbehaviour; see "Account faults" above.
enum class AccountFault {
  kNone,
  kRevoked,
  kDown,
  kInvalidSignature,
  kRateLimited,
  kProviderError,
};
// "none", "revoked", "down", "invalid_signature", "rate_limited", "provider_error".
const char* AccountFaultName(AccountFault fault);
// The inverse of AccountFaultName; throws std::invalid_argument on anything else.
AccountFault ParseAccountFault(const std::string& name);

struct RequestRecord {
  std::string method, path;
  std::string iccid;  // from the body when it parsed, whatever the outcome
  int64_t esim_id = 0;
  int http_status = 0;
  std::string code;                                   // the error code answered; empty on success
  std::chrono::steady_clock::time_point at;           // when the request arrived
  std::chrono::steady_clock::time_point answered_at;  // when its answer was ready to go
  std::string access_code;     // RT-AccessCode as received (may be wrong or empty)
  std::string query;           // the raw query string after '?' (empty without one), as received
  Fault fault = Fault::kNone;  // the fault injected into the answer, if any
  std::string account;         // the account RT-AccessCode named; empty when it named none
};

// An account served next to the default one (FakeEsimflyApi::AddAccount).
struct AccountOptions {
  std::string name;         // non-empty, unique on the server
  std::string access_code;  // non-empty, unique on the server
  std::string secret_key;
  int rate_limit_per_minute = 0;  // 0 = unlimited; its own fixed windows
  double balance = 1500.0;
  std::string currency = "USD";
};

struct Options {
  // The default account: its name (for records, logs and the per-account knobs) and credentials.
  std::string account_name = "default";
  std::string access_code = "esf_demo_access_code";
  std::string secret_key = "sk_demo_secret_key";
  int rate_limit_per_minute = 0;            // 0 = unlimited; fixed windows (see rate_limit_window)
  std::chrono::milliseconds latency{0};     // added before every answer
  std::string tls_cert_file, tls_key_file;  // both set: serve HTTPS
  std::chrono::milliseconds max_timestamp_age{std::chrono::minutes(5)};
  bool reset_header_iso8601 = false;  // X-RateLimit-Reset as ISO 8601 instead of Unix seconds

  // Extensions beyond the brief.
  // Length of a fixed rate-limit window, which starts at the first counted request after the
  // previous one ended. 60 s as the vendor documents; tests shorten it.
  std::chrono::milliseconds rate_limit_window{std::chrono::seconds(60)};
  size_t worker_threads = 32;          // one per open connection (keep-alive holds a thread)
  size_t keep_alive_max_count = 1000;  // requests per connection before the server closes it
  std::chrono::seconds keep_alive_timeout{5};  // idle time before the server closes a connection
  size_t max_recorded_requests = 0;  // 0 = keep every RequestRecord; else only the newest N
  // Called with each request's record once its answer is composed (on a server thread, so it must
  // be thread safe); for request logs.
  std::function<void(const RequestRecord&)> on_request;

  // The balance endpoint's answer.
  double balance = 1500.0;
  std::string currency = "USD";
  // Fault knob: when > 0, that page of every listing answers 502 PROVIDER_ERROR (partial sweep
  // failures).
  int list_fail_page = 0;
  // The key of the list pages' page count: "total_pages" as the list endpoint documents,
  // "totalPages" as a general page of the vendor's docs spells it, or empty for none (clients
  // then derive it from total and limit).
  std::string list_total_pages_key = "total_pages";
  // A buggy or hostile list endpoint: every page answers `limit` eSIMs never listed before (new
  // ICCIDs and ids, see ListItemJson; the fleet is ignored) and claims one page more than the
  // one asked for, so a sweep never reaches the end by itself.
  bool list_invents_esims = false;
  // Fault knob: the list entry of the eSIM with this ICCID carries a wrong-typed field
  // (data.used_mb as text), one malformed entry among good ones; empty: none.
  std::string list_malformed_iccid;
  // Fault injection (see FakeEsim::fault): kRateLimitedRetryAfter's Retry-After and kHugeBody's
  // body size.
  std::chrono::seconds fault_retry_after{1};
  size_t huge_body_bytes = size_t{64} << 20;
};

// Thrown by Start() when the address cannot be bound (the binary exits 2 on it).
class BindError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FakeEsimflyApi {
 public:
  explicit FakeEsimflyApi(Options options, std::vector<FakeEsim> fleet = DefaultFleet());
  ~FakeEsimflyApi();  // stops
  FakeEsimflyApi(const FakeEsimflyApi&) = delete;
  FakeEsimflyApi& operator=(const FakeEsimflyApi&) = delete;

  // Binds (port 0 = ephemeral), serves on a background thread, returns the port. Throws
  // BindError when the address cannot be bound, std::runtime_error on any other failure (bad
  // TLS files, started twice).
  int Start(const std::string& host = "127.0.0.1", int port = 0);
  // Stops accepting, waits for the workers (an idle keep-alive connection can hold one for up to
  // keep_alive_timeout). Idempotent.
  void Stop();

  int port() const { return port_.load(); }
  bool tls() const;
  // "http(s)://host:port", valid after Start().
  std::string BaseUrl() const;

  // Adds an account with its own fleet (see "Several accounts" above). Before Start() only
  // (std::logic_error after). Throws std::invalid_argument on an empty or taken name or access
  // code, or an eSIM whose ICCID or id another account holds.
  void AddAccount(AccountOptions account, std::vector<FakeEsim> fleet);
  std::vector<std::string> AccountNames() const;  // the default account first, then as added
  // Switches a whole account's fault on or off (AccountFault::kNone).
  void SetAccountFault(const std::string& account, AccountFault fault);
  AccountFault GetAccountFault(const std::string& account) const;

  // Keyed by iccid; replaces the id index entry too. Throws std::invalid_argument when another
  // account holds the ICCID or the id.
  void UpsertEsim(FakeEsim esim, const std::string& account = {});
  void RemoveEsim(const std::string& iccid, const std::string& account = {});
  std::vector<FakeEsim> Fleet(const std::string& account = {}) const;  // ordered by iccid
  size_t FleetSize(const std::string& account = {}) const;

  // Runtime knobs for tests; `account` empty: the default account.
  void SetRateLimitPerMinute(int limit, const std::string& account = {});  // and a fresh window
  void SetLatency(std::chrono::milliseconds latency);                      // server-wide
  void SetBalance(double balance, std::string currency, const std::string& account = {});
  void SetListFailPage(int page, const std::string& account = {});  // 0 = none
  // The webhook subscription as the last PUT /webhooks set it; the secret is empty before one.
  std::string WebhookUrl(const std::string& account = {}) const;
  std::string WebhookSecret(const std::string& account = {}) const;
  // recent_deliveries of GET /webhooks (the vendor keeps the last 10).
  void SetRecentDeliveries(nlohmann::json deliveries, const std::string& account = {});
  // Sets the URL and events as a PUT would (e.g. another system's), without a new secret.
  void SetWebhookSubscription(std::string url, nlohmann::json events,
                              const std::string& account = {});
  // Switches an eSIM's fault on or off (Fault::kNone), whichever account holds it; releases
  // requests hanging on it when the new fault is not kHang. Returns false (and changes nothing)
  // for an unknown ICCID.
  bool SetFault(const std::string& iccid, Fault fault);
  size_t HangingCount() const;  // status requests currently held by kHang

  std::vector<RequestRecord> Requests() const;  // every request seen (bounded, see Options)
  size_t RequestCount() const;                  // every request seen since start or Clear
  void ClearRequests();
  size_t ConnectionCount() const;     // TCP connections accepted (to prove keep-alive)
  size_t SeenRequestIdCount() const;  // request ids currently remembered for replay detection

 private:
  struct Account;
  struct Answer {
    int http_status = 200;
    std::string code;  // empty on success
    nlohmann::json body;
    std::map<std::string, std::string> headers;  // extra headers (Retry-After)
    Fault fault = Fault::kNone;                  // the looked-up eSIM's, for step 12
    Account* account = nullptr;                  // whose rate limit headers; null: the default
    std::string html{};                          // non-empty: sent as text/html instead of body
  };
  struct RateLimitState {
    int limit = 0;
    int used = 0;
    std::chrono::steady_clock::time_point window_start;
    std::chrono::system_clock::time_point window_end_wall;
    bool window_open = false;
  };
  struct Account {
    std::string name, access_code, secret_key;
    std::atomic<AccountFault> fault{AccountFault::kNone};
    std::map<std::string, FakeEsim> esims_by_iccid;        // guarded by fleet_mu_
    std::unordered_map<int64_t, std::string> iccid_by_id;  // guarded by fleet_mu_
    // The list's order (id, then ICCID), rebuilt after an upsert or removal: sorting the whole
    // fleet for every page made a sweep of 50,000 eSIMs quadratic. Guarded by fleet_mu_.
    mutable std::vector<const FakeEsim*> list_order;
    mutable bool list_order_stale = true;
    RateLimitState rate;                                         // guarded by auth_mu_
    double balance = 0;                                          // guarded by knobs_mu_
    std::string currency;                                        // guarded by knobs_mu_
    std::string webhook_url;                                     // guarded by knobs_mu_
    nlohmann::json webhook_events = nlohmann::json::array();     // guarded by knobs_mu_
    std::string webhook_secret;                                  // guarded by knobs_mu_
    nlohmann::json recent_deliveries = nlohmann::json::array();  // guarded by knobs_mu_
    int list_fail_page = 0;                                      // guarded by knobs_mu_
  };

  void HandleStatus(const httplib::Request& req, httplib::Response& res);
  void HandleList(const httplib::Request& req, httplib::Response& res);
  void HandleBalance(const httplib::Request& req, httplib::Response& res);
  void HandleWebhooks(const httplib::Request& req, httplib::Response& res);
  void HandleUnknown(const httplib::Request& req, httplib::Response& res, int http_status,
                     const std::string& code, const std::string& message);
  // Runs checks 1-8 for any signed endpoint; `signed_body` is the body bytes to verify (the empty
  // string for a GET). Returns the rejection, or nullopt when the request may proceed (in which
  // case it has consumed one unit of the rate limit).
  // `account` is set to the account RT-AccessCode names (null when none), even on a rejection.
  std::optional<Answer> Authenticate(const httplib::Request& req, const std::string& signed_body,
                                     bool require_json_content_type, Account*& account);
  std::optional<Answer> CheckRateLimit(Account& account);  // requires auth_mu_
  Answer LookUp(const nlohmann::json& body, const Account& account) const;
  Answer List(const httplib::Request& req, const Account& account) const;
  // The account's eSIMs in list order; needs fleet_mu_.
  static const std::vector<const FakeEsim*>& ListOrder(const Account& account);
  // The named account (empty: the default); throws std::invalid_argument for an unknown name.
  Account& AccountNamed(const std::string& name) const;
  Account* AccountByCode(const std::string& access_code) const;  // null when none
  // Adds to `account`; requires fleet_mu_.
  void UpsertLocked(FakeEsim esim, Account& account);
  void Finish(httplib::Response& res, const Answer& answer, RequestRecord record);
  // Writes status, the rate limit headers (when configured), extra headers and the JSON body.
  void Compose(httplib::Response& res, const Answer& answer);
  void Record(RequestRecord record);
  // Step 12 for an eSIM with a fault: answers (or does not) as the fault says.
  void InjectFault(const httplib::Request& req, httplib::Response& res, const nlohmann::json& body,
                   const Answer& looked_up, RequestRecord record);
  Fault CurrentFault(const std::string& iccid) const;
  void WaitLatency();

  Options options_;
  std::atomic<int> port_{0};
  std::string host_;

  // [0] the default account, then as added; fixed once started (AddAccount precedes Start).
  std::vector<std::unique_ptr<Account>> accounts_;

  mutable std::mutex fleet_mu_;  // guards every account's fleet

  mutable std::mutex auth_mu_;
  // Request id -> the wall time until which it must be remembered; plus that order for pruning.
  std::unordered_map<std::string, std::chrono::system_clock::time_point> seen_ids_;
  std::multimap<std::chrono::system_clock::time_point, std::string> seen_ids_by_expiry_;
  std::chrono::milliseconds latency_;  // guarded by auth_mu_ (also every account's rate)

  mutable std::mutex knobs_mu_;  // guards every account's balance, webhook and list fault page
  mutable std::atomic<size_t> invented_esims_{0};  // eSIMs list_invents_esims made up so far

  mutable std::mutex records_mu_;
  std::deque<RequestRecord> records_;  // guarded by records_mu_
  size_t request_count_ = 0;           // guarded by records_mu_

  std::shared_ptr<std::atomic<size_t>> connections_ = std::make_shared<std::atomic<size_t>>(0);

  mutable std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  size_t hanging_ = 0;     // guarded by stop_mu_

  std::mutex lifecycle_mu_;  // serialises Start/Stop
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Uppercase hex HMAC-SHA256 of timestamp + request id + access code + body.
std::string ComputeSignature(const std::string& secret_key, const std::string& timestamp,
                             const std::string& request_id, const std::string& access_code,
                             const std::string& body);

// True when `s` is a UUID v4 as the fake accepts it.
bool IsUuidV4(const std::string& s);

// True when the list endpoint lists this eSIM (its error_code is not FORBIDDEN or ESIM_NOT_FOUND).
bool IsListed(const FakeEsim& esim);

// The list endpoint's item for an eSIM, derived from its status_data, with listed_overrides
// merged over it last:
//   id, iccid, package_name, package_code, countries (the eSIM's, else derived; see fleet.h),
//   status (status_data.status), esim_status (status_data.esim_status),
//   data {total_mb, used_mb, remaining_mb, usage_percentage, is_unlimited}: integers, MB with
//     1 GB = 1024 MB, used_mb = round(used_gb * 1024), remaining_mb = max(0, total - used),
//     usage_percentage = round(100 * used_mb / total_mb) capped at 100; unlimited plans (unlimited
//     true or total_gb null): total_mb 0, remaining_mb 0, usage_percentage 0, is_unlimited true,
//   validity {days, activated_at, expires_at, is_expired}: the status data's activation_date and
//     expiry_date as they are (null before activation), days between them (rounded; without
//     both, the "<N>days" of the package code or name, else 30), is_expired when expiry_date is
//     before `now` (without one: status EXPIRED),
//   created_at, is_pending false, phone_number null, flag_url "/images/flags/<iso2>.png",
//   (a pending order: iccid, data, validity, qr_code and manual_installation null, is_pending
//   true, no esim_status),
//   and the installation secrets, each containing "SECRET-":
//     qr_code "LPA:1$smdp.example$SECRET-ACT-<iccid>",
//     manual_installation {smdp_address "smdp.example", activation_code "SECRET-ACT-<iccid>",
//                          install_url "https://example.invalid/install/SECRET-<iccid>"}.
nlohmann::json ListItemJson(const FakeEsim& esim, std::chrono::system_clock::time_point now =
                                                      std::chrono::system_clock::now());

}  // namespace fake_esimfly

#endif  // ESIM_EXPORTER_TESTS_FAKE_API_FAKE_ESIMFLY_API_H_
