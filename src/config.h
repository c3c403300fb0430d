// The validated, immutable configuration of the exporter (contract.md, "Config file").
// LoadConfig is the only way to build one from a file; it never touches the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace esim {

// A secret value (the API secret key). Kept out of every printable path on purpose:
// there is no operator<< and no implicit conversion to std::string.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& other) const { return value_ == other.value_; }

 private:
  std::string value_;
};

struct RateLimitConfig {
  int per_minute = 50;
  int per_hour = 500;
  int per_day = 5000;
  bool operator==(const RateLimitConfig&) const = default;
};

struct ApiConfig {
  std::string url = "https://esimfly.net";  // base URL without trailing slash
  std::string access_code;
  Secret secret_key;
  std::chrono::milliseconds timeout{30000};
  int max_concurrency = 4;
  RateLimitConfig rate_limit;
  std::string ca_file;                      // empty: system CA store only
  size_t max_response_bytes = 1024 * 1024;  // larger answers are cut off: INVALID_RESPONSE
  // Where the secret came from, for the permission warning; empty when inline or env.
  std::string secret_key_file;
};

struct PollConfig {
  std::chrono::milliseconds interval{std::chrono::minutes(15)};
  std::chrono::milliseconds stale_after{std::chrono::hours(6)};
};

struct MetricsConfig {
  bool export_imei = false;  // IMEI is personal data: exported only when opted in
};

// Bulk reads (contract.md, "inventory:"): paged GET /esims listings, 100 eSIMs per request.
struct InventoryConfig {
  bool enabled = false;
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  // One paged listing each, sent as the `status` query value: distinct values from NEW, ACTIVE,
  // EXPIRED, CANCELLED, DEPLETED, DELETED, or the single value "all" (one listing of every status).
  std::vector<std::string> statuses{"NEW", "ACTIVE", "DEPLETED", "EXPIRED"};
  // Monitor every eSIM the sweep finds; only valid with `enabled`. esims entries then only add
  // names and labels, and the esims list may be empty.
  bool discover = false;
};

struct BalanceConfig {
  std::chrono::milliseconds interval{std::chrono::hours(1)};  // 0 disables
};

struct EsimConfig {
  std::string iccid;                          // empty when identified by esim_id
  std::optional<int64_t> esim_id;             // set when identified by esim_id
  std::string name;                           // optional, label `name`
  std::map<std::string, std::string> labels;  // optional, only on esim_info; sorted by name
  // A stable key for the eSIM within one config: "iccid:<digits>" or "esim_id:<n>".
  std::string Key() const;
};

struct Config {
  std::string path;  // the file it was loaded from
  ApiConfig api;
  PollConfig poll;
  MetricsConfig metrics;
  std::vector<EsimConfig> esims;
  InventoryConfig inventory;
  BalanceConfig balance;
  // Non-fatal findings (http:// URL, world-readable secret file, ...), for the log.
  std::vector<std::string> warnings;
};

// Thrown by LoadConfig. what() reads "FILE:LINE:COL: problem; how to fix it"
// (LINE:COL omitted when the problem is not tied to one place, e.g. an unreadable file).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks up an environment variable; injectable for tests. Returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

// Parses and validates the YAML config at `path`. Throws ConfigError on the first problem.
Config LoadConfig(const std::string& path, const EnvLookup& env = ProcessEnvironment());

// Parses "90s", "15m", "1h30m", "250ms", "2d". Returns nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// True when `iccid` is 19 or 20 digits and its last digit is a valid Luhn check digit.
bool IsValidIccid(const std::string& iccid);

}  // namespace esim
