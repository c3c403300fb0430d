// The eSIMs the fake eSIMfly API knows: the default fleet (one eSIM per shape the exporter must
// handle), a generator for load tests, and loading a fleet from a JSON file.
//
// Thread safety: free functions without shared state; all thread safe.
#ifndef ESIM_EXPORTER_TESTS_FAKE_API_FLEET_H_
#define ESIM_EXPORTER_TESTS_FAKE_API_FLEET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fake_esimfly {

// Misbehaviour of the status endpoint for one eSIM, injected after a request passed
// authentication (so signing is still verified and the rate limit is still consumed). Faults
// concern POST /esims/status only; the list and balance endpoints ignore them.
enum class Fault {
  kNone,
  kHang,                   // read the request, never answer: the handler waits until the fault
                           // is switched off (then answers normally) or the server stops
  kHugeBody,               // 200 with a valid JSON body of Options::huge_body_bytes (64 MiB),
                           // streamed: the fake never holds it in memory
  kRateLimitedRetryAfter,  // 429 RATE_LIMIT_EXCEEDED JSON + Retry-After: Options::fault_retry_after
  kRateLimitedBare,        // 429, text/plain "Too Many Requests", no Retry-After, no JSON
  kServerError,            // 500 with an HTML body (a proxy's error page)
  kConnectionReset,        // close the connection without a byte of answer (RST)
  kGarbage,                // 200, Content-Type application/json, a body that is not JSON
  kWrongTypes,             // 200 success JSON with data_usage.used_gb (and total_gb) as strings
};

// "none", "hang", "huge_body", "429_retry_after", "429_bare", "500", "connection_reset",
// "garbage", "wrong_types".
const char* FaultName(Fault fault);
// The inverse of FaultName; throws std::invalid_argument on anything else.
Fault ParseFault(const std::string& name);

struct FakeEsim {
  std::string iccid;
  int64_t id = 0;              // the vendor's esimId
  nlohmann::json status_data;  // the exact `data` object the status endpoint returns
  // Non-empty: this eSIM always answers that documented error (FORBIDDEN, PROVIDER_ERROR,
  // ESIM_ACCESS_DENIED...).
  std::string error_code;

  // For the list endpoint (GET /api/v1/business/esims); all optional. Every member has a default
  // member initializer, so the older four-member aggregate initialisation still compiles warning
  // free.
  std::string package_name{};            // empty: "Data <N>GB - <D> Days" (or "Unlimited")
  std::string package_code{};            // empty: "data-<D>days-<N>gb" (or "-unlimited")
  std::vector<std::string> countries{};  // empty: last_network.country when known, else []
  std::string created_at{};              // empty: activation_date, else a fixed date
  // Merged over the derived list item (see ListItemJson): objects merge key by key, recursively;
  // any other value (null included) replaces. Lets tests make the stored, listed values differ
  // from the live ones, e.g. {"data": {"used_mb": 100}} or {"status": "CANCELLED"}. Null: none.
  nlohmann::json listed_overrides{};
  // The status endpoint misbehaves this way for this eSIM (see Fault); kNone: it does not.
  // Takes precedence over error_code. Switch at run time with FakeEsimflyApi::SetFault.
  Fault fault{Fault::kNone};
  // An order still being provisioned: the list shows it with is_pending true and iccid, data and
  // validity null (docs/esimfly-api.md, "Pending entries"), the
  // status endpoint answers ESIM_NOT_FOUND, and search does not match its (hidden) ICCID.
  bool pending{false};
};

// The ICCIDs and ids of DefaultFleet(), for tests and the demo configuration.
inline constexpr char kSpecExampleIccid[] = "8948010010036785060";  // id 1001
inline constexpr char kUnlimitedIccid[] = "8944500102198304826";    // id 1002
inline constexpr char kDepletedIccid[] = "8934000012345678905";     // id 1003
inline constexpr char kExpiredIccid[] = "8910300001234567896";      // id 1004
inline constexpr char kNewIccid[] = "8985230000000001236";          // id 1005
inline constexpr char kByIdIccid[] = "8946000000000123451";         // id 12345
inline constexpr int64_t kByIdEsimId = 12345;
inline constexpr char kForbiddenIccid[] = "8949012340000007779";      // id 1007
inline constexpr char kProviderErrorIccid[] = "8933000000000005029";  // id 1008
inline constexpr char kAlertingIccid[] = "8910000000000000853";       // id 1009
inline constexpr char kHealthy5gIccid[] = "8982000000000000100";      // id 1010
inline constexpr char kCancelledIccid[] = "8939123456789012348";      // id 1011
inline constexpr char kDeletedIccid[] = "8944071234567890124";        // id 1012
inline constexpr char kRetiredIccid[] = "8981012345678123454";        // id 1013
// Pending orders (FakeEsim::pending): ids 1014 and 1015, listed without an ICCID.
inline constexpr char kPendingIccids[2][20] = {"8914009876543210981", "8914009876543210999"};
inline constexpr int64_t kPendingIds[2] = {1014, 1015};
// eSIMs of DefaultFleet(): complete ones, and all of them with the pending orders.
inline constexpr size_t kDefaultFleetEsims = 13;
inline constexpr size_t kDefaultFleetSize = 15;

// Thirteen eSIMs, one per shape (see fleet.cc; every documented status among them), and two
// pending orders, dates relative to `now`, each with a package (name, code, countries) for the
// list endpoint.
std::vector<FakeEsim> DefaultFleet(
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// `count` varied, mostly healthy eSIMs for load tests: Luhn-valid 19-digit ICCIDs
// 8988303XXXXXXXXXXXC (X = index), ids 100000 + index, no error codes; indexes run from
// `first_index` (accounts served side by side take disjoint ranges, e.g. kAccountIndexStride
// apart). Deterministic for a given `now` and `first_index`: 85 % ACTIVE (2 in 17 of them
// unlimited), 5 % NEW, 5 % DEPLETED, 5 % EXPIRED. Each has a 30-day package named after its
// network's country and plan: "Japan 5GB - 30 Days" / "japan-30days-5gb", "Spain Unlimited - 30
// Days" / "spain-30days-unlimited".
std::vector<FakeEsim> GenerateFleet(
    size_t count, std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
    size_t first_index = 0);
// The index range of one account's generated fleet: the n-th account starts at n times this.
inline constexpr size_t kAccountIndexStride = 100000000;

// A fleet file is a JSON array of {"iccid": string, "id": integer, "status_data": object,
// "error_code": string (optional), "package_name": string (optional), "package_code": string
// (optional), "countries": array of strings (optional), "created_at": string (optional),
// "listed_overrides": object (optional), "fault": FaultName (optional), "pending": boolean
// (optional)}. Throws std::runtime_error
// naming the file and the entry. FleetToJson writes the optional keys only when set.
std::vector<FakeEsim> FleetFromJson(const nlohmann::json& json);
std::vector<FakeEsim> LoadFleetFile(const std::string& path);
nlohmann::json FleetToJson(const std::vector<FakeEsim>& fleet);

// Luhn check over a string of decimal digits (false on anything else or an empty string).
bool IsLuhnValid(const std::string& digits);
// Appends the Luhn check digit to a string of decimal digits.
std::string AppendLuhnCheckDigit(const std::string& digits);

// "2026-07-26T14:34:40.000Z" (UTC, milliseconds, as the vendor writes dates).
std::string FormatIso8601Millis(std::chrono::system_clock::time_point t);

}  // namespace fake_esimfly

#endif  // ESIM_EXPORTER_TESTS_FAKE_API_FLEET_H_
