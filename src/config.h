// The validated, immutable configuration of the exporter (docs/contract.md, "Config file").
// LoadConfig is the only way to build one from a file; it never touches the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config_labels.h"

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

// This exporter's share of the API key's limits. The vendor's current per-key limits are
// 60/min, 1,000/h and 10,000/day, and the key is often shared: the defaults take half.
struct RateLimitConfig {
  int per_minute = 30;
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
  std::string ca_file;  // empty: system CA store only
  // ca_file's content as loaded: a reload notices a new bundle behind the same path.
  std::string ca_pem;
  size_t max_response_bytes = 1024 * 1024;  // larger answers are cut off: INVALID_RESPONSE
  // Where the secret came from, for the permission warning; empty when inline or env.
  std::string secret_key_file;
  bool operator==(const ApiConfig&) const = default;
};

struct PollConfig {
  std::chrono::milliseconds interval{std::chrono::minutes(15)};
  std::chrono::milliseconds stale_after{std::chrono::hours(6)};
  bool operator==(const PollConfig&) const = default;
};

struct MetricsConfig {
  bool export_imei = false;  // IMEI is personal data: exported only when opted in
  // EID and IMSI (from webhook events) identify a device and a subscriber: personal data too.
  bool export_eid_imsi = false;
  bool operator==(const MetricsConfig&) const = default;
};

// The webhook receiver (docs/contract.md, "Webhooks"). No `webhook:` block: no receiver.
struct WebhookConfig {
  bool enabled = false;
  std::string path = "/webhook";  // served on the main listener, or on listen_address alone
  Secret secret;                  // the subscription's signing secret (whsec_...)
  std::string secret_file;        // where it came from, for messages; empty when inline or env
  // Deliveries whose X-Webhook-Timestamp is older are refused (and so are those this far in
  // the future). At most 24 h: the delivery-id window, so a replay can never outlive it.
  std::chrono::milliseconds max_age{std::chrono::hours(1)};
  std::string listen_address;  // empty: the main listener serves the receiver
  // The HTTPS URL the vendor should deliver to; when set, esim_webhook_subscription_points_here
  // compares the key's subscription with it. Empty: not compared.
  std::string public_url;
  // How often the account-reading replica reads GET /webhooks (delivery health); 0 disables.
  // Hourly by default: 24 requests a day of the key's budget.
  std::chrono::milliseconds check_interval{std::chrono::hours(1)};
  bool operator==(const WebhookConfig&) const = default;
};

// Bulk reads (docs/contract.md, "Config file"): paged GET /esims listings, 100 eSIMs per request.
struct InventoryConfig {
  bool enabled = false;
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  // One paged listing each, sent as the `status` query value: distinct values from NEW, ACTIVE,
  // EXPIRED, CANCELLED, DEPLETED, DELETED, or the single value "all" (one listing of every status).
  std::vector<std::string> statuses{"NEW", "ACTIVE", "DEPLETED", "EXPIRED"};
  // Monitor every eSIM the sweep finds; only valid with `enabled`. esims entries then only add
  // names and labels, and the esims list may be empty.
  bool discover = false;
  // Discovery adds at most this many eSIMs (per replica); past it, it warns and counts the rest.
  int64_t max_discovered = 50000;
  bool operator==(const InventoryConfig&) const = default;
};

struct BalanceConfig {
  std::chrono::milliseconds interval{std::chrono::hours(1)};  // 0 disables
  // balance.low: the low-balance alert's threshold in this account's own currency (accounts can
  // differ); 0: no alert; unset: alerts.balance_low (Config::BalanceLow).
  std::optional<double> low;
  bool operator==(const BalanceConfig&) const = default;
};

// The thresholds the shipped alert rules compare per-eSIM series with (config `alerts:`).
struct AlertThresholds {
  double data_usage_warning_ratio = 0.8;
  double data_usage_critical_ratio = 0.95;
  std::chrono::milliseconds expiry_warning{std::chrono::hours(7 * 24)};
  std::chrono::milliseconds expiry_critical{std::chrono::hours(24)};
  bool operator==(const AlertThresholds&) const = default;
};

// Thresholds set for some eSIMs only (a group's or an eSIM's `alerts:`); unset ones come from
// the next level up.
struct AlertOverrides {
  std::optional<double> data_usage_warning_ratio;
  std::optional<double> data_usage_critical_ratio;
  std::optional<std::chrono::milliseconds> expiry_warning;
  std::optional<std::chrono::milliseconds> expiry_critical;
  bool operator==(const AlertOverrides&) const = default;
  bool empty() const { return *this == AlertOverrides{}; }
  // These overrides over `below`: a set value wins.
  AlertOverrides Over(const AlertOverrides& below) const;
  AlertThresholds Over(const AlertThresholds& defaults) const;
};

// alerts.groups[]: eSIMs whose config labels include every `match` pair.
struct AlertGroup {
  std::map<std::string, std::string> match;  // never empty
  AlertOverrides thresholds;
  bool Matches(const ConfigLabels& labels) const;
  bool operator==(const AlertGroup&) const = default;
};

struct AlertsConfig {
  AlertThresholds defaults;
  // In the account's own currency; 0: no low-balance alert. The default of every account
  // without its own balance.low.
  double balance_low = 50;
  std::vector<AlertGroup> groups;  // the first matching group applies
  bool operator==(const AlertsConfig&) const = default;
};

struct EsimConfig {
  // The account (API key) it belongs to: accounts[].name; empty for the unnamed account of the
  // top-level blocks. Label `account` on its series when set.
  std::string account;
  std::string iccid;               // empty when identified by esim_id
  std::optional<int64_t> esim_id;  // set when identified by esim_id
  std::string name;                // optional, label `name`
  // Optional; on every per-eSIM series after iccid and name; sorted by name.
  ConfigLabels labels;
  // The thresholds set by the eSIM's own `alerts:` over those of the first group matching its
  // labels; unset ones take AlertsConfig::defaults (see EffectiveAlerts). An eSIM found by
  // discovery has none.
  AlertOverrides alerts;
  // Its thresholds in force: `alerts` over `defaults`.
  AlertThresholds EffectiveAlerts(const AlertThresholds& defaults) const {
    return alerts.Over(defaults);
  }
  // A stable key for the eSIM within one config: "iccid:<digits>" or "esim_id:<n>".
  std::string Key() const;
  // Key() == key, without building the key (index lookups compare many).
  bool HasKey(std::string_view key) const;
  // The identity a key names (iccid or esim_id, nothing else): what a status request needs.
  // A string that is no key gives an EsimConfig without either.
  static EsimConfig FromKey(std::string_view key);
  bool operator==(const EsimConfig&) const = default;
};

// Each eSIM's Key(), in order.
std::vector<std::string> KeysOf(const std::vector<EsimConfig>& esims);

// One Config describes one account (API key) in its api, esims, other_shards_esim_ids,
// inventory, balance and webhook fields; poll, metrics and alerts are shared by all accounts.
struct Config {
  std::string path;  // the file it was loaded from
  // The account's name (accounts[].name, label `account`); empty for the unnamed account that
  // the top-level blocks form.
  std::string account;
  ApiConfig api;
  PollConfig poll;
  MetricsConfig metrics;
  std::vector<EsimConfig> esims;
  // Set by ApplyShard: the esim_ids of other replicas' eSIMs that the config names by esim_id
  // only. Their ICCID, hence their discovery hash, is not known here: discovery leaves them be.
  std::vector<int64_t> other_shards_esim_ids;
  InventoryConfig inventory;
  BalanceConfig balance;
  AlertsConfig alerts;
  WebhookConfig webhook;
  // With an `accounts:` list: one Config per account in file order, each with its name, its own
  // blocks and copies of the shared ones (path, poll, metrics, alerts); the top-level account
  // fields are then left at their defaults (esims empty). Without one: empty, and this Config
  // is the one unnamed account. Use AccountsOf() to get the accounts to run.
  std::vector<Config> accounts;
  // Non-fatal findings (http:// URL, world-readable secret file, an account that monitors
  // nothing, ...), for the log. With accounts:, all of them are here on the top-level Config;
  // the entries of `accounts` carry none (logging them again would repeat each one).
  std::vector<std::string> warnings;
  // The account's low-balance threshold: its balance.low, else alerts.balance_low.
  double BalanceLow() const { return balance.low.value_or(alerts.balance_low); }
  // Everything, secrets and ca_pem included: a reload that loads a config equal to the running
  // one (warnings aside) has nothing to do.
  bool operator==(const Config&) const = default;
};

// The accounts to run: config.accounts, or the config itself as the one unnamed account.
// Pointers into `config`, valid while it lives: a copy would copy every eSIM list.
std::vector<const Config*> AccountsOf(const Config& config);
std::vector<Config*> AccountsOf(Config& config);

// Empties the eSIM lists of `config` and of its accounts and frees their memory (`esims = {}`
// keeps a vector's capacity: 9.6 MB that stayed allocated at 50,000 eSIMs). For a config kept
// in force after its eSIMs went to the state store and the poll schedule.
void DropEsimLists(Config& config);

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

}  // namespace esim
