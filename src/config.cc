#include "config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "config_url.h"
#include "config_values.h"
#include "credentials.h"
#include "local_file.h"
#include "text.h"
#include "yaml_reader.h"

namespace esim {

using std::chrono::milliseconds;
using YAML::Mark;
using Node = YamlNode;

namespace {

// The delivery-id window: a webhook older than this could be a replay of a forgotten id.
constexpr milliseconds kMaxWebhookAge = std::chrono::hours(24);
constexpr milliseconds kMinWebhookAge = std::chrono::seconds(60);

constexpr milliseconds kMinPollInterval = std::chrono::seconds(60);  // messages say "60s"
// Sweeps and balance reads spend the same budget as live polls; messages say "60s" too.
constexpr milliseconds kMinInventoryInterval = std::chrono::seconds(60);
constexpr int64_t kMaxDiscovered = 10000000;
constexpr milliseconds kMinBalanceInterval = std::chrono::seconds(60);
constexpr milliseconds kMaxTimeout = std::chrono::minutes(5);
constexpr int kMaxConcurrency = 64;
constexpr size_t kMaxNameLength = 128;

// Size caps keep a mistyped path (a log file, /dev/zero) from being slurped whole.
constexpr size_t kMaxConfigSize = 16 << 20;
constexpr size_t kMaxCaFileSize = 16 << 20;

// The thresholds a group or an eSIM may set (alerts: also takes balance_low and groups).
constexpr std::array<std::string_view, 4> kThresholdKeys = {
    "data_usage_warning_ratio", "data_usage_critical_ratio", "expiry_warning", "expiry_critical"};

// The `status` values of the eSIM list endpoint (docs/esimfly-api.md), in the vendor's order.
constexpr std::array<std::string_view, 6> kInventoryStatuses = {"NEW",       "ACTIVE",   "EXPIRED",
                                                                "CANCELLED", "DEPLETED", "DELETED"};
// The list endpoint's own value for "every status": one paged listing instead of one per status.
constexpr std::string_view kAllStatuses = "all";

constexpr char kDurationHint[] = "(units: ms, s, m, h, d)";

// One config parse. Throws ConfigError at the first problem; errors come in document order,
// then the checks that need the whole file (credentials, an empty eSIM list).
class Loader : public YamlReader {
  using Field = TreeField;  // the config is read into a YamlTree: it can list 100,000 eSIMs

 public:
  Loader(std::string path, const EnvLookup& env) : YamlReader(std::move(path), "url"), env_(env) {
    config_.path = this->path();
  }

  Config Load() {
    std::string error;
    const std::optional<LocalFile> file = ReadLocalFile(path(), kMaxConfigSize, error);
    if (!file) throw ConfigError(path() + ": cannot read: " + error);
    config_mode_ = file->mode;
    ParseYamlTree(file->content, [this](const Node& root) {
      if (root.IsNull()) {
        Fail(Mark(),
             "the config file is empty; write at least an esims: list (see the example config)");
      }
      ParseRoot(root);
    });
    config_.warnings = TakeWarnings();
    return std::move(config_);
  }

 private:
  // The thresholds one level of the config sets (alerts:, a group, an eSIM), with where.
  struct AlertLevel {
    explicit AlertLevel(std::string level_path) : path(std::move(level_path)) {}
    std::string path;  // "alerts", "alerts.groups[0]", "esims[3].alerts"
    AlertOverrides values;
    std::map<std::string, Mark, std::less<>> marks;  // threshold key -> its value's position
    Mark at;                                         // the level itself
  };

  // The thresholds in force at one level, and the key that set each (absent: built in).
  struct ResolvedAlerts {
    AlertThresholds values;
    std::map<std::string, std::string, std::less<>> origin;
  };

  // The parse state of one account (the unnamed one of the top-level blocks, or one entry of
  // accounts:): its blocks, where they stand, and the credentials as the file gives them.
  struct AccountParse {
    Config config;      // its api, esims, inventory, balance and webhook
    std::string index;  // "accounts[1]"; empty for the unnamed account
    Mark at;            // the account's entry (the document start for the unnamed one)
    Mark name_mark;
    Mark api_mark;    // the api key, or `at`: where a missing credential points
    Mark esims_mark;  // the esims key, or `at`: where "nothing to monitor" points
    Mark webhook_mark;
    std::optional<Mark> webhook_path_mark;  // set when webhook.path is given
    std::optional<Mark> discover_mark;
    GivenValue access_code;
    GivenValue access_code_file;
    GivenValue secret_key;
    GivenValue secret_key_file;
    GivenValue webhook_secret;
    GivenValue webhook_secret_file;
    std::vector<AlertLevel> esim_alerts;            // in config.esims order
    std::map<std::string, int> first_line_by_key;   // EsimConfig::Key() -> line
    std::map<std::string, int> first_line_by_name;  // name -> line
  };

  // Where a named account's credentials come from besides the file: its own environment
  // variables and systemd credentials, never the unprefixed ones (two accounts would silently
  // share one key).
  struct AccountCredentialKeys {
    explicit AccountCredentialKeys(const std::string& name) {
      const std::string env = "ESIMFLY_" + EnvName(name) + "_";
      const std::string systemd = "esimfly_" + name + "_";
      const std::string account = "account " + Quoted(name) + ": ";
      access_env = env + "ACCESS_CODE";
      secret_env = env + "SECRET_KEY";
      webhook_env = env + "WEBHOOK_SECRET";
      access_systemd = systemd + "access_code";
      secret_systemd = systemd + "secret_key";
      webhook_systemd = systemd + "webhook_secret";
      access_missing = account +
                       "no API access code given; set api.access_code or api.access_code_file in "
                       "the account, the environment variable " +
                       access_env + ", or the systemd credential " + access_systemd;
      secret_missing = account +
                       "no API secret key given; set api.secret_key_file (recommended) or "
                       "api.secret_key in the account, the environment variable " +
                       secret_env + ", or the systemd credential " + secret_systemd +
                       " (LoadCredential=)";
      webhook_missing = account +
                        "no webhook secret given; set webhook.secret_file (recommended) or "
                        "webhook.secret in the account, the environment variable " +
                        webhook_env + ", or the systemd credential " + webhook_systemd +
                        " (the secret is shown once by the vendor when the subscription is set)";
      access = kAccessCodeKeys;
      access.env = access_env;
      access.systemd_name = access_systemd;
      access.missing = access_missing;
      secret = kSecretKeyKeys;
      secret.env = secret_env;
      secret.systemd_name = secret_systemd;
      secret.missing = secret_missing;
      webhook = kWebhookSecretKeys;
      webhook.env = webhook_env;
      webhook.systemd_name = webhook_systemd;
      webhook.missing = webhook_missing;
    }
    AccountCredentialKeys(const AccountCredentialKeys&) = delete;
    AccountCredentialKeys& operator=(const AccountCredentialKeys&) = delete;
    std::string access_env, secret_env, webhook_env;
    std::string access_systemd, secret_systemd, webhook_systemd;
    std::string access_missing, secret_missing, webhook_missing;
    CredentialKeys access, secret, webhook;  // views into the strings above
  };

  std::exception_ptr MakeError(const std::string& message) const override {
    return std::make_exception_ptr(ConfigError(message));
  }

  // A null value has no useful position of its own (yaml-cpp points past it): use the key's.
  static Mark Where(const Node& key, const Node& value) {
    return value.IsNull() ? key.Mark() : value.Mark();
  }

  void ParseRoot(const Node& root) {
    if (!root.IsMap()) {
      const std::string sections = "api, poll, metrics, esims, inventory, balance, alerts, webhook";
      Fail(root.Mark(), "the config must be a map of sections (" + sections + "), got " +
                            KindOf(root) + "; start each section with \"name:\" at column 1");
    }
    root_mark_ = root.Mark();
    unnamed_.at = root.Mark();
    unnamed_.api_mark = root.Mark();
    unnamed_.esims_mark = root.Mark();
    // An account block at the top level belongs to the unnamed account.
    const auto top_level = [this](void (Loader::*parse)(const Node&, const Node&)) {
      return [this, parse](const Node& k, const Node& v) {
        top_level_blocks_.emplace_back(k.Scalar(), k.Mark());
        (this->*parse)(k, v);
      };
    };
    // A new section is one more row here plus its own Parse function.
    ForEachField(root, "",
                 {
                     {"api", top_level(&Loader::ParseApi)},
                     {"poll", [this](const Node& k, const Node& v) { ParsePoll(k, v); }},
                     {"metrics", [this](const Node& k, const Node& v) { ParseMetrics(k, v); }},
                     {"esims", top_level(&Loader::ParseEsims)},
                     {"inventory", top_level(&Loader::ParseInventory)},
                     {"balance", top_level(&Loader::ParseBalance)},
                     {"alerts", [this](const Node& k, const Node& v) { ParseAlerts(k, v); }},
                     {"webhook", top_level(&Loader::ParseWebhook)},
                     {"accounts", [this](const Node& k, const Node& v) { ParseAccounts(k, v); }},
                 });
    if (accounts_mark_) {
      LoadAccounts();
      return;
    }
    account_ = &unnamed_;
    ResolveCredentials(unnamed_, nullptr);
    CheckPollTimes();
    CheckDiscovery(unnamed_);
    ResolveAlerts({&unnamed_});
    // With discovery, the sweep finds the eSIMs; esims entries then only add names and labels.
    if (!Monitors(unnamed_.config)) {
      Fail(unnamed_.esims_mark,
           "nothing to monitor: esims lists no eSIM; add at least one entry with an iccid or "
           "esim_id, or set inventory.enabled and inventory.discover to true to monitor every "
           "eSIM on the account");
    }
    MoveAccountBlocks(std::move(unnamed_.config), config_);
  }

  static bool Monitors(const Config& account) {
    return !account.esims.empty() || (account.inventory.enabled && account.inventory.discover);
  }

  // The per-account blocks of `from` into `to` (the shared ones stay).
  static void MoveAccountBlocks(Config&& from, Config& to) {
    to.api = std::move(from.api);
    to.esims = std::move(from.esims);
    to.inventory = std::move(from.inventory);
    to.balance = from.balance;
    to.webhook = std::move(from.webhook);
  }

  // --- accounts --------------------------------------------------------------------------------

  // "acme-eu" -> "ACME_EU": the account's part of its environment variables.
  static std::string EnvName(const std::string& name) {
    std::string text = AsciiUpper(name);
    std::replace(text.begin(), text.end(), '-', '_');
    return text;
  }

  static bool IsValidAccountName(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    if (name.front() < 'a' || name.front() > 'z') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
  }

  void ParseAccounts(const Node& key, const Node& value) {
    accounts_mark_ = key.Mark();
    const std::string example =
        "\"- name: acme\" entry per account, with its api, esims, inventory, balance and "
        "webhook under it";
    if (value.IsNull() || (value.IsSequence() && value.size() == 0)) {
      Fail(Where(key, value), "accounts is empty; write one " + example +
                                  ", or remove accounts: and use the top-level blocks for one "
                                  "account");
    }
    if (!value.IsSequence()) {
      Fail(value.Mark(),
           "accounts must be a list, got " + KindOf(value) + "; write one " + example);
    }
    size_t index = 0;
    for (const auto& item : value) {
      ParseAccount(item, "accounts[" + std::to_string(index++) + "]");
    }
    account_ = &unnamed_;
  }

  void ParseAccount(const Node& item, const std::string& path) {
    if (!item.IsMap()) {
      Fail(item.IsNull() ? accounts_mark_.value_or(root_mark_) : item.Mark(),
           path + " must be a map with a name, got " + KindOf(item) +
               "; write e.g. \"- name: acme\" with the account's api and esims under it");
    }
    accounts_.push_back(std::make_unique<AccountParse>());
    AccountParse& account = *accounts_.back();
    account_ = &account;
    account.index = path;
    account.at = item.Mark();
    account.api_mark = item.Mark();
    account.esims_mark = item.Mark();
    account.webhook_mark = item.Mark();
    bool named = false;
    ForEachField(item, path,
                 {
                     {"name",
                      [&](const Node& k, const Node& v) {
                        named = true;
                        ParseAccountName(k, v, Join(path, "name"), account);
                      }},
                     {"api", [this](const Node& k, const Node& v) { ParseApi(k, v); }},
                     {"esims", [this](const Node& k, const Node& v) { ParseEsims(k, v); }},
                     {"inventory", [this](const Node& k, const Node& v) { ParseInventory(k, v); }},
                     {"balance", [this](const Node& k, const Node& v) { ParseBalance(k, v); }},
                     {"webhook", [this](const Node& k, const Node& v) { ParseWebhook(k, v); }},
                 },
                 kSharedOnly);
    if (!named) {
      Fail(item.Mark(), path +
                            " has no name; add e.g. \"name: acme\" (1 to 63 lowercase letters, "
                            "digits, \"_\" and \"-\"; it becomes the account label)");
    }
  }

  void ParseAccountName(const Node& key, const Node& value, const std::string& path,
                        AccountParse& account) {
    const std::string& name = Text(key, value, path);
    const Mark at = Where(key, value);
    if (!IsValidAccountName(name)) {
      Fail(at, path + " " + Quoted(name) +
                   " is not a valid account name; use 1 to 63 lowercase letters, digits, \"_\" "
                   "and \"-\", starting with a letter, e.g. acme");
    }
    for (const auto& other : accounts_) {
      if (other.get() == &account) continue;
      const std::string& other_name = other->config.account;
      if (other_name == name) {
        Fail(at, path + " " + Quoted(name) + " is already the name of the account at line " +
                     std::to_string(other->name_mark.line + 1) +
                     "; give each account its own name");
      }
      if (EnvName(other_name) == EnvName(name)) {
        Fail(at, path + " " + Quoted(name) + " and the account " + Quoted(other_name) +
                     " at line " + std::to_string(other->name_mark.line + 1) +
                     " would read the same environment variables (ESIMFLY_" + EnvName(name) +
                     "_...); rename one of them");
      }
    }
    account.config.account = name;
    account.name_mark = at;
  }

  // Everything that needs every account: credentials, empty accounts, webhook paths, then one
  // Config per account with copies of the shared blocks.
  void LoadAccounts() {
    if (!top_level_blocks_.empty()) {
      const auto& [block, mark] = top_level_blocks_.front();
      Fail(mark, block +
                     " at the top level cannot be used together with accounts: (the "
                     "top-level blocks are the one unnamed account); move it into an "
                     "account, under accounts[].");
    }
    for (const auto& account : accounts_) {
      const AccountCredentialKeys keys(account->config.account);
      ResolveCredentials(*account, &keys);
    }
    CheckPollTimes();
    std::vector<AccountParse*> all;
    for (const auto& account : accounts_) {
      CheckDiscovery(*account);
      all.push_back(account.get());
    }
    ResolveAlerts(all);
    CheckWebhookPaths();
    const bool any = std::any_of(accounts_.begin(), accounts_.end(),
                                 [](const auto& account) { return Monitors(account->config); });
    if (!any) {
      Fail(*accounts_mark_,
           "nothing to monitor: no account lists an eSIM; add at least one entry with an iccid "
           "or esim_id to an account's esims, or set inventory.enabled and inventory.discover to "
           "true in an account to monitor every eSIM on it");
    }
    for (const auto& account : accounts_) {
      if (Monitors(account->config)) continue;
      Warn(account->esims_mark,
           "account " + Quoted(account->config.account) +
               " monitors nothing: its esims lists no eSIM and inventory.discover is off; add "
               "eSIMs to it, set its inventory.enabled and inventory.discover to true, or remove "
               "the account");
    }
    for (const auto& account : accounts_) {
      Config one;
      one.path = config_.path;
      one.account = account->config.account;
      MoveAccountBlocks(std::move(account->config), one);
      one.poll = config_.poll;
      one.metrics = config_.metrics;
      one.alerts = config_.alerts;
      for (EsimConfig& esim : one.esims) esim.account = one.account;
      config_.accounts.push_back(std::move(one));
    }
  }

  // A named account's receiver defaults to /webhook/<name>; the path tells the accounts apart,
  // so no two may share one.
  void CheckWebhookPaths() {
    std::map<std::string, const AccountParse*> by_path;
    for (const auto& account : accounts_) {
      WebhookConfig& webhook = account->config.webhook;
      if (!webhook.enabled) continue;
      const std::string& name = account->config.account;
      if (!account->webhook_path_mark) webhook.path = "/webhook/" + name;
      const auto [first, inserted] = by_path.emplace(webhook.path, account.get());
      if (inserted) continue;
      const AccountParse& other = *first->second;
      Fail(account->webhook_path_mark.value_or(account->webhook_mark),
           "webhook.path " + Quoted(webhook.path) + " of account " + Quoted(name) +
               " is already the receiver path of account " + Quoted(other.config.account) +
               " (line " +
               std::to_string(other.webhook_path_mark.value_or(other.webhook_mark).line + 1) +
               "); the path tells the accounts apart: give each its own, e.g. /webhook/" + name);
    }
  }

  // Blocks that all accounts share, refused inside an account.
  inline static const std::map<std::string, std::string> kSharedOnly = {
      {"poll", "is shared by all accounts; move it to the top level of the config"},
      {"metrics", "is shared by all accounts; move it to the top level of the config"},
      {"alerts",
       "is shared by all accounts (alerts.groups match eSIM labels in every account); move it "
       "to the top level of the config"},
      {"accounts", "cannot be nested; list every account directly under the top-level accounts:"},
  };

  // --- generic helpers -------------------------------------------------------------------------

  int64_t Integer(const Node& key, const Node& value, const std::string& path,
                  std::string_view example) {
    const std::string& text = Text(key, value, path);
    // Quoted numbers are text in YAML; accepting them would hide a type mistake.
    if (value.Tag() == "!") {
      Fail(value.Mark(),
           path + " must be a number, got the quoted text " + Quoted(text) + "; remove the quotes");
    }
    int64_t number = 0;
    switch (ParseInteger(text, number)) {
      case IntegerText::kValid:
        break;
      case IntegerText::kNotWhole:
        Fail(value.Mark(), path + " must be a whole number, got " + Quoted(text) +
                               "; write digits only, e.g. " + std::string(example));
      case IntegerText::kOutOfRange:
        Fail(value.Mark(), path + " " + text + " is out of range; write a smaller number, e.g. " +
                               std::string(example));
    }
    return number;
  }

  // A finite decimal number such as 0.8, 50 or 1e-3.
  double Number(const Node& key, const Node& value, const std::string& path,
                std::string_view example) {
    const std::string& text = Text(key, value, path);
    if (value.Tag() == "!") {
      Fail(value.Mark(),
           path + " must be a number, got the quoted text " + Quoted(text) + "; remove the quotes");
    }
    const std::optional<double> number = ParseDecimal(text);
    if (!number) {
      Fail(value.Mark(), path + " must be a number, got " + Quoted(text) + "; write e.g. " +
                             std::string(example));
    }
    return *number;
  }

  bool Bool(const Node& key, const Node& value, const std::string& path) {
    const std::string& text = Text(key, value, path);
    if (value.Tag() != "!") {
      if (const std::optional<bool> flag = ParseBool(text)) return *flag;
    }
    Fail(value.Mark(),
         path + " must be true or false, got " + Quoted(text) + "; write true or false unquoted");
  }

  milliseconds Duration(const Node& key, const Node& value, const std::string& path) {
    const std::string& text = Text(key, value, path);
    const std::optional<milliseconds> duration = ParseDuration(text);
    if (duration) return *duration;
    if (AllDigits(text)) {
      Fail(value.Mark(), path + " " + Quoted(text) + " has no unit; add one, e.g. " +
                             Quoted(text + "s") + " or " + Quoted(text + "m") + " " +
                             kDurationHint);
    }
    Fail(value.Mark(), path + " " + Quoted(text) +
                           " is not a valid duration; write whole numbers with units, largest "
                           "first, e.g. \"90s\", \"15m\" or \"1h30m\" " +
                           kDurationHint);
  }

  // --- api -------------------------------------------------------------------------------------

  void ParseApi(const Node& key, const Node& value) {
    account_->api_mark = key.Mark();
    if (!ExpectMap(key, value, "api")) return;
    ApiConfig& api = account_->config.api;
    ForEachField(
        value, "api",
        {
            {"url", [&](const Node& k, const Node& v) { api.url = ParseUrl(k, v); }},
            {"access_code",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "api.access_code", &account_->access_code, account_->access_code_file,
                        "api.access_code_file");
             }},
            {"access_code_file",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "api.access_code_file", &account_->access_code_file,
                        account_->access_code, "api.access_code");
             }},
            {"secret_key",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "api.secret_key", &account_->secret_key, account_->secret_key_file,
                        "api.secret_key_file");
             }},
            {"secret_key_file",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "api.secret_key_file", &account_->secret_key_file,
                        account_->secret_key, "api.secret_key");
             }},
            {"timeout",
             [&](const Node& k, const Node& v) {
               api.timeout = Duration(k, v, "api.timeout");
               if (api.timeout <= milliseconds(0)) {
                 Fail(v.Mark(), "api.timeout is " + FormatDuration(api.timeout) +
                                    "; give a positive duration up to " +
                                    FormatDuration(kMaxTimeout) + ", e.g. 30s");
               }
               if (api.timeout > kMaxTimeout) {
                 Fail(v.Mark(), "api.timeout is " + FormatDuration(api.timeout) +
                                    ", longer than the " + FormatDuration(kMaxTimeout) +
                                    " maximum; use at most " + FormatDuration(kMaxTimeout) +
                                    " (the vendor suggests 30s)");
               }
             }},
            {"max_concurrency",
             [&](const Node& k, const Node& v) {
               const int64_t n = Integer(k, v, "api.max_concurrency", "4");
               if (n < 1 || n > kMaxConcurrency) {
                 Fail(v.Mark(), "api.max_concurrency is " + std::to_string(n) +
                                    "; use a number from 1 to " + std::to_string(kMaxConcurrency));
               }
               api.max_concurrency = static_cast<int>(n);
             }},
            {"max_response_kib",
             [&](const Node& k, const Node& v) {
               const int64_t n = Integer(k, v, "api.max_response_kib", "1024");
               if (n < 64 || n > 65536) {
                 Fail(v.Mark(), "api.max_response_kib is " + std::to_string(n) +
                                    "; use a number from 64 to 65536 (KiB; the default 1024 "
                                    "holds a 100-eSIM list page many times over)");
               }
               api.max_response_bytes = static_cast<size_t>(n) * 1024;
             }},
            {"rate_limit", [&](const Node& k, const Node& v) { ParseRateLimit(k, v); }},
            {"ca_file", [&](const Node& k, const Node& v) { api.ca_file = ParseCaFile(k, v); }},
        });
  }

  // Records one of a value / value-file pair; giving both is ambiguous.
  void Remember(const Node& key, const Node& value, const std::string& path, GivenValue* given,
                const GivenValue& other, const std::string& other_path) {
    if (other.present) {
      Fail(key.Mark(), path + " and " + other_path + " are both set (the other at line " +
                           std::to_string(other.key.line + 1) + "); keep only one");
    }
    given->present = true;
    given->key = key.Mark();
    given->value = Where(key, value);
    given->text = Text(key, value, path);
  }

  std::string ParseUrl(const Node& key, const Node& value) {
    const UrlCheck check = NormalizeApiUrl(Text(key, value, "api.url"));
    if (!check.error.empty()) Fail(value.Mark(), check.error);
    if (check.plain_http) Warn(value.Mark(), kPlainHttpApiUrlWarning);
    return check.url;
  }

  void ParseRateLimit(const Node& key, const Node& value) {
    if (!ExpectMap(key, value, "api.rate_limit")) return;
    RateLimitConfig& limits = account_->config.api.rate_limit;
    const auto field = [&](std::string_view name, int* target) {
      return Field{name, [this, name, target](const Node& k, const Node& v) {
                     *target = RateLimitValue(k, v, Join("api.rate_limit", name), *target);
                   }};
    };
    ForEachField(value, "api.rate_limit",
                 {field("per_minute", &limits.per_minute), field("per_hour", &limits.per_hour),
                  field("per_day", &limits.per_day)});
  }

  int RateLimitValue(const Node& key, const Node& value, const std::string& path,
                     int default_value) {
    const std::string fallback = std::to_string(default_value);
    const int64_t n = Integer(key, value, path, fallback);
    if (n < 1) {
      Fail(value.Mark(), path + " is " + std::to_string(n) +
                             (n == 0 ? ", a rate limit that would never allow a request" : "") +
                             "; give a positive number, or remove the key to use the default (" +
                             fallback + ")");
    }
    if (n > INT_MAX) {
      Fail(value.Mark(), path + " is " + std::to_string(n) + ", more than the largest allowed (" +
                             std::to_string(INT_MAX) + "); use a smaller number");
    }
    return static_cast<int>(n);
  }

  std::string ParseCaFile(const Node& key, const Node& value) {
    std::string path = PathValue(key, value, "api.ca_file");
    std::string error;
    std::optional<LocalFile> file = ReadLocalFile(path, kMaxCaFileSize, error);
    if (!file) {
      Fail(value.Mark(), "api.ca_file " + Quoted(path) + ": cannot read: " + error +
                             "; check the path and that the exporter's user may read it");
    }
    if (file->content.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      Fail(value.Mark(), "api.ca_file " + Quoted(path) +
                             " holds no PEM certificate; give a file with one or more "
                             "\"-----BEGIN CERTIFICATE-----\" blocks");
    }
    account_->config.api.ca_pem = std::move(file->content);
    return path;
  }

  // Every credential an account needs, each from the first place that gives it. `keys`: a named
  // account's own variables and systemd credentials; null for the unnamed account's.
  void ResolveCredentials(AccountParse& account, const AccountCredentialKeys* keys) {
    ApiConfig& api = account.config.api;
    api.access_code = Resolve(keys ? keys->access : kAccessCodeKeys, account.access_code,
                              account.access_code_file, account.api_mark)
                          .value;
    ResolvedCredential secret_key =
        Resolve(keys ? keys->secret : kSecretKeyKeys, account.secret_key, account.secret_key_file,
                account.api_mark);
    api.secret_key = Secret(std::move(secret_key.value));
    api.secret_key_file = std::move(secret_key.file);
    WebhookConfig& webhook = account.config.webhook;
    if (!webhook.enabled) return;
    ResolvedCredential secret =
        Resolve(keys ? keys->webhook : kWebhookSecretKeys, account.webhook_secret,
                account.webhook_secret_file, account.webhook_mark);
    webhook.secret = Secret(std::move(secret.value));
    webhook.secret_file = std::move(secret.file);
  }

  // One credential, its problems failing and its warnings logged at their place in the file.
  ResolvedCredential Resolve(const CredentialKeys& keys, const GivenValue& inline_value,
                             const GivenValue& file, const Mark& section) {
    const CredentialContext context{env_, config_mode_, path(),
                                    [this](const std::string& p) { return ResolvePath(p); }};
    ResolvedCredential resolved;
    try {
      resolved = ResolveCredential(keys, {inline_value, file, section}, context);
    } catch (const CredentialError& error) {
      Fail(error.mark(), error.what());
    }
    for (const LocatedMessage& warning : resolved.warnings) Warn(warning.mark, warning.text);
    if (!resolved.file.empty()) {
      WarnIfReadableByOthers(resolved.file, resolved.file_what.text, resolved.file_what.mark);
    }
    return resolved;
  }

  // --- poll, metrics ---------------------------------------------------------------------------

  void ParsePoll(const Node& key, const Node& value) {
    if (!ExpectMap(key, value, "poll")) return;
    PollConfig& poll = config_.poll;
    ForEachField(value, "poll",
                 {
                     {"interval",
                      [&](const Node& k, const Node& v) {
                        poll.interval = Duration(k, v, "poll.interval");
                        interval_mark_ = v.Mark();
                        if (poll.interval < kMinPollInterval) {
                          Fail(v.Mark(),
                               "poll.interval is " + FormatDuration(poll.interval) +
                                   ", shorter than the 60s minimum; use at least 60s (live "
                                   "status is the API's most expensive read), e.g. 15m");
                        }
                      }},
                     {"stale_after",
                      [&](const Node& k, const Node& v) {
                        poll.stale_after = Duration(k, v, "poll.stale_after");
                        stale_after_mark_ = v.Mark();
                        if (poll.stale_after <= milliseconds(0)) {
                          Fail(v.Mark(), "poll.stale_after is " + FormatDuration(poll.stale_after) +
                                             "; give a positive duration at least as long as "
                                             "poll.interval, e.g. 6h");
                        }
                      }},
                 });
  }

  // Data would go stale between two successful polls otherwise.
  void CheckPollTimes() {
    const PollConfig& poll = config_.poll;
    if (poll.stale_after >= poll.interval) return;
    if (stale_after_mark_) {
      Fail(*stale_after_mark_, "poll.stale_after (" + FormatDuration(poll.stale_after) +
                                   ") is shorter than poll.interval (" +
                                   FormatDuration(poll.interval) + "); set it to at least " +
                                   FormatDuration(poll.interval));
    }
    Fail(interval_mark_.value_or(root_mark_),
         "poll.interval (" + FormatDuration(poll.interval) + ") is longer than poll.stale_after (" +
             FormatDuration(poll.stale_after) +
             ", the default); set poll.stale_after to at least " + FormatDuration(poll.interval));
  }

  void ParseMetrics(const Node& key, const Node& value) {
    if (!ExpectMap(key, value, "metrics")) return;
    ForEachField(value, "metrics",
                 {
                     {"export_imei",
                      [&](const Node& k, const Node& v) {
                        config_.metrics.export_imei = Bool(k, v, "metrics.export_imei");
                      }},
                     {"export_eid_imsi",
                      [&](const Node& k, const Node& v) {
                        config_.metrics.export_eid_imsi = Bool(k, v, "metrics.export_eid_imsi");
                      }},
                 });
  }

  // --- inventory, balance ---------------------------------------------------------------------

  void ParseInventory(const Node& key, const Node& value) {
    if (!ExpectMap(key, value, "inventory")) return;
    InventoryConfig& inventory = account_->config.inventory;
    ForEachField(
        value, "inventory",
        {
            {"enabled",
             [&](const Node& k, const Node& v) {
               inventory.enabled = Bool(k, v, "inventory.enabled");
             }},
            {"interval",
             [&](const Node& k, const Node& v) {
               inventory.interval = Duration(k, v, "inventory.interval");
               if (inventory.interval == milliseconds(0)) {
                 Fail(v.Mark(),
                      "inventory.interval is 0s; give at least 60s, e.g. 10m (to turn "
                      "the sweeps off, set inventory.enabled: false)");
               }
               if (inventory.interval < kMinInventoryInterval) {
                 Fail(v.Mark(), "inventory.interval is " + FormatDuration(inventory.interval) +
                                    ", shorter than the 60s minimum; use at least 60s "
                                    "(every sweep spends pages of the rate_limit "
                                    "budget), e.g. 10m");
               }
             }},
            {"statuses",
             [&](const Node& k, const Node& v) { inventory.statuses = ParseStatuses(k, v); }},
            {"discover",
             [&](const Node& k, const Node& v) {
               inventory.discover = Bool(k, v, "inventory.discover");
               account_->discover_mark = v.Mark();
             }},
            {"max_discovered",
             [&](const Node& k, const Node& v) {
               const int64_t n = Integer(k, v, "inventory.max_discovered", "50000");
               if (n < 1 || n > kMaxDiscovered) {
                 Fail(v.Mark(), "inventory.max_discovered is " + std::to_string(n) +
                                    "; use a number from 1 to " + std::to_string(kMaxDiscovered) +
                                    " (eSIMs discovery may add; the default is 50000)");
               }
               inventory.max_discovered = n;
             }},
        });
  }

  static std::string AllowedStatuses() {
    std::string text;
    for (const std::string_view status : kInventoryStatuses) {
      text += std::string(status) + ", ";
    }
    return text + "or [" + std::string(kAllStatuses) + "] alone";
  }

  std::vector<std::string> ParseStatuses(const Node& key, const Node& value) {
    constexpr char kPath[] = "inventory.statuses";
    const std::string example =
        "e.g. [NEW, ACTIVE, DEPLETED, EXPIRED], or [" + std::string(kAllStatuses) + "]";
    if (value.IsNull()) {
      Fail(key.Mark(), std::string(kPath) + " has no value; write a list after \"" + key.Scalar() +
                           ":\", " + example + ", or remove the line");
    }
    if (!value.IsSequence()) {
      Fail(value.Mark(),
           std::string(kPath) + " must be a list, got " + KindOf(value) + "; write " + example);
    }
    if (value.size() == 0) {
      Fail(value.Mark(), std::string(kPath) +
                             " is empty, which would list no eSIM; name at least one status, " +
                             example + ", or remove the key for the default");
    }
    std::vector<std::string> statuses;
    std::map<std::string, size_t> first_index;
    std::optional<Mark> all_mark;
    std::optional<Mark> other_mark;
    size_t index = 0;
    for (const auto& item : value) {
      const std::string path = std::string(kPath) + "[" + std::to_string(index) + "]";
      const Mark at = item.IsNull() ? value.Mark() : item.Mark();
      if (!item.IsScalar()) {
        Fail(at,
             path + " must be a status name, got " + KindOf(item) + "; use " + AllowedStatuses());
      }
      const std::string& status = item.Scalar();
      const bool is_all = status == kAllStatuses;
      const bool known = is_all || std::find(kInventoryStatuses.begin(), kInventoryStatuses.end(),
                                             status) != kInventoryStatuses.end();
      if (!known) {
        const std::string upper = AsciiUpper(status);
        if (std::find(kInventoryStatuses.begin(), kInventoryStatuses.end(), upper) !=
            kInventoryStatuses.end()) {
          Fail(at, path + " " + Quoted(status) + " is not a status; statuses are in capitals, " +
                       "write " + upper);
        }
        Fail(at, path + " " + Quoted(status) + " is not a status; use " + AllowedStatuses());
      }
      const auto [first, inserted] = first_index.emplace(status, index);
      if (!inserted) {
        Fail(at, path + " " + Quoted(status) + " is already listed as " + std::string(kPath) + "[" +
                     std::to_string(first->second) +
                     "]; remove one (each entry costs its own paged listing)");
      }
      (is_all ? all_mark : other_mark) = at;
      if (all_mark && other_mark) {
        Fail(*all_mark, std::string(kPath) + ": \"" + std::string(kAllStatuses) +
                            "\" already lists every status in one paged listing and cannot be "
                            "mixed with others; write [" +
                            std::string(kAllStatuses) + "] alone, or remove it and keep the list");
      }
      statuses.push_back(status);
      ++index;
    }
    return statuses;
  }

  // Discovery monitors what the sweep finds, so it needs the sweep.
  void CheckDiscovery(const AccountParse& account) {
    const InventoryConfig& inventory = account.config.inventory;
    if (!inventory.discover || inventory.enabled) return;
    Fail(*account.discover_mark,
         "inventory.discover is true but inventory.enabled is not; discovery monitors the eSIMs "
         "that the inventory sweep finds, so set inventory.enabled: true, or remove "
         "inventory.discover");
  }

  void ParseBalance(const Node& key, const Node& value) {
    if (!ExpectMap(key, value, "balance")) return;
    BalanceConfig& balance = account_->config.balance;
    ForEachField(
        value, "balance",
        {
            {"interval",
             [&](const Node& k, const Node& v) {
               balance.interval = Duration(k, v, "balance.interval");
               if (balance.interval > milliseconds(0) && balance.interval < kMinBalanceInterval) {
                 Fail(v.Mark(), "balance.interval is " + FormatDuration(balance.interval) +
                                    ", shorter than the 60s minimum; use at least 60s "
                                    "(every read spends a request of the rate_limit "
                                    "budget), e.g. 1h, or 0 to turn balance reads off");
               }
             }},
            // Per account because each account's balance is in its own currency.
            {"low",
             [&](const Node& k, const Node& v) {
               balance.low = Number(k, v, "balance.low", "50");
               if (*balance.low < 0) {
                 Fail(v.Mark(), "balance.low is " + FormatNumber(*balance.low) +
                                    "; give 0 or more, in this account's currency (0 turns "
                                    "its low-balance alert off; without it, alerts.balance_low "
                                    "applies)");
               }
             }},
        });
  }

  // --- webhook ---------------------------------------------------------------------------------

  void ParseWebhook(const Node& key, const Node& value) {
    account_->webhook_mark = key.Mark();
    if (!ExpectMap(key, value, "webhook")) return;
    WebhookConfig& webhook = account_->config.webhook;
    webhook.enabled = true;
    ForEachField(
        value, "webhook",
        {
            {"path",
             [&](const Node& k, const Node& v) {
               webhook.path = Text(k, v, "webhook.path");
               const Mark at = Where(k, v);
               account_->webhook_path_mark = at;
               if (webhook.path.empty() || webhook.path.front() != '/') {
                 Fail(at, "webhook.path " + Quoted(webhook.path) +
                              " must start with \"/\"; write e.g. /webhook");
               }
               if (webhook.path == "/" || webhook.path.starts_with("/-/")) {
                 Fail(at, "webhook.path " + Quoted(webhook.path) +
                              " is one of the exporter's own pages; choose another, e.g. "
                              "/webhook");
               }
               for (const char c : webhook.path) {
                 if (c <= ' ' || c == '?' || c == '#' || c == '%' || c == 0x7f) {
                   Fail(at, "webhook.path " + Quoted(webhook.path) +
                                " may not contain spaces, control characters, \"?\", \"#\" or "
                                "\"%\"; write a plain path, e.g. /webhook");
                 }
               }
             }},
            {"secret",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "webhook.secret", &account_->webhook_secret,
                        account_->webhook_secret_file, "webhook.secret_file");
             }},
            {"secret_file",
             [&](const Node& k, const Node& v) {
               Remember(k, v, "webhook.secret_file", &account_->webhook_secret_file,
                        account_->webhook_secret, "webhook.secret");
             }},
            {"max_age",
             [&](const Node& k, const Node& v) {
               webhook.max_age = Duration(k, v, "webhook.max_age");
               if (webhook.max_age < kMinWebhookAge || webhook.max_age > kMaxWebhookAge) {
                 Fail(v.Mark(), "webhook.max_age is " + FormatDuration(webhook.max_age) +
                                    "; use 60s to 1d (delivery ids are remembered for 1d, so "
                                    "an older delivery could be a replay), e.g. 1h");
               }
             }},
            {"public_url",
             [&](const Node& k, const Node& v) { webhook.public_url = ParsePublicUrl(k, v); }},
            {"check_interval",
             [&](const Node& k, const Node& v) {
               webhook.check_interval = Duration(k, v, "webhook.check_interval");
               if (webhook.check_interval > milliseconds(0) &&
                   webhook.check_interval < kMinBalanceInterval) {
                 Fail(v.Mark(), "webhook.check_interval is " +
                                    FormatDuration(webhook.check_interval) +
                                    ", shorter than the 60s minimum; use at least 60s (every "
                                    "read spends a request of the rate_limit budget), e.g. 1h, "
                                    "or 0 to turn subscription reads off");
               }
             }},
            {"listen_address",
             [&](const Node& k, const Node& v) {
               webhook.listen_address = Text(k, v, "webhook.listen_address");
               const std::string& address = webhook.listen_address;
               const size_t colon = address.rfind(':');
               const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
               int number = 0;
               const auto [end, error] =
                   std::from_chars(port.data(), port.data() + port.size(), number);
               if (!address.empty() &&
                   (port.empty() || error != std::errc() || end != port.data() + port.size() ||
                    number < 0 || number > 65535)) {
                 Fail(Where(k, v), "webhook.listen_address " + Quoted(address) +
                                       " is not [HOST]:PORT; write e.g. \":10418\" or "
                                       "\"127.0.0.1:10418\", or leave it out to serve the "
                                       "receiver on the main listener");
               }
             }},
        });
  }

  std::string ParsePublicUrl(const Node& key, const Node& value) {
    const UrlCheck check = CheckPublicUrl(Text(key, value, "webhook.public_url"));
    if (!check.error.empty()) Fail(Where(key, value), check.error);
    return check.url;
  }

  // --- esims -----------------------------------------------------------------------------------

  void ParseEsims(const Node& key, const Node& value) {
    account_->esims_mark = Where(key, value);
    if (value.IsNull()) return;
    if (!value.IsSequence()) {
      Fail(value.Mark(), "esims must be a list, got " + KindOf(value) +
                             "; write one \"- iccid: ...\" or \"- esim_id: ...\" entry per eSIM");
    }
    // The list's length is known: no copies of the entries while it grows (a list can be long).
    account_->config.esims.reserve(account_->config.esims.size() + value.size());
    account_->esim_alerts.reserve(account_->esim_alerts.size() + value.size());
    size_t index = 0;
    for (const auto& item : value) {
      ParseEsim(item, "esims[" + std::to_string(index++) + "]");
    }
  }

  void ParseEsim(const Node& item, const std::string& path) {
    if (!item.IsMap()) {
      Fail(item.Mark(), path + " must be a map with an iccid or esim_id, got " + KindOf(item) +
                            "; write e.g. - iccid: \"8948010010036785060\"");
    }
    EsimConfig esim;
    AlertLevel alerts{Join(path, "alerts")};
    std::optional<Mark> id_mark;
    Mark name_mark;
    const auto only_one_id = [&](const Node& k) {
      if (id_mark) {
        Fail(k.Mark(), path + " has both iccid and esim_id; keep only one of them");
      }
      id_mark = k.Mark();
    };
    ForEachField(item, path,
                 {
                     {"iccid",
                      [&](const Node& k, const Node& v) {
                        only_one_id(k);
                        esim.iccid = ParseIccid(k, v, Join(path, "iccid"));
                        id_mark = v.Mark();
                      }},
                     {"esim_id",
                      [&](const Node& k, const Node& v) {
                        only_one_id(k);
                        const std::string field = Join(path, "esim_id");
                        const int64_t id = Integer(k, v, field, "12345");
                        if (id < 1) {
                          Fail(v.Mark(),
                               field + " is " + std::to_string(id) +
                                   "; eSIM ids are positive whole numbers, copy it from the "
                                   "API's eSIM list");
                        }
                        esim.esim_id = id;
                        id_mark = v.Mark();
                      }},
                     {"name",
                      [&](const Node& k, const Node& v) {
                        const std::string field = Join(path, "name");
                        esim.name = Text(k, v, field);
                        name_mark = v.Mark();
                        const std::optional<size_t> length = Utf8Length(esim.name);
                        if (!length) {
                          Fail(v.Mark(), field + " is not valid UTF-8; save the file as UTF-8");
                        }
                        if (*length > kMaxNameLength) {
                          Fail(v.Mark(), field + " is " + std::to_string(*length) +
                                             " characters long; use at most " +
                                             std::to_string(kMaxNameLength));
                        }
                      }},
                     {"labels",
                      [&](const Node& k, const Node& v) {
                        esim.labels = label_sets_.Get(ParseLabels(k, v, Join(path, "labels")));
                      }},
                     {"alerts",
                      [&](const Node& k, const Node& v) {
                        ParseThresholdMap(k, v, Join(path, "alerts"), alerts);
                      }},
                 });
    if (!id_mark) {
      Fail(item.Mark(),
           path + " has neither iccid nor esim_id; add one of them to say which eSIM to monitor");
    }
    const auto [first_id, new_id] =
        account_->first_line_by_key.emplace(esim.Key(), id_mark->line + 1);
    if (!new_id) {
      const std::string id =
          esim.esim_id ? "esim_id " + std::to_string(*esim.esim_id) : "iccid " + esim.iccid;
      Fail(*id_mark, path + ": the eSIM with " + id + " is already listed at line " +
                         std::to_string(first_id->second) + "; remove one of the two entries");
    }
    if (!account_->index.empty()) {
      const std::string& account = account_->config.account;
      const auto [first, inserted] =
          account_by_key_.emplace(esim.Key(), std::make_pair(id_mark->line + 1, account));
      if (!inserted) {
        const std::string id =
            esim.esim_id ? "esim_id " + std::to_string(*esim.esim_id) : "iccid " + esim.iccid;
        Fail(*id_mark, path + " of account " + Quoted(account) + ": the eSIM with " + id +
                           " is already listed at line " + std::to_string(first->second.first) +
                           " under account " + Quoted(first->second.second) +
                           "; an eSIM belongs to the one account whose API key sees it: remove "
                           "one of the two entries");
      }
    }
    if (esim.esim_id && esim.name.empty()) {
      // Until its first answer the ICCID label of such an eSIM is empty: only the name tells
      // two of them apart (identical series would be dropped by Prometheus).
      Fail(*id_mark, path +
                         " is identified by esim_id and has no name; add a name: the ICCID "
                         "label stays empty until the API has answered for it");
    }
    if (!esim.name.empty()) {
      const auto [first_name, new_name] =
          account_->first_line_by_name.emplace(esim.name, name_mark.line + 1);
      if (!new_name) {
        Fail(name_mark, Join(path, "name") + " " + Quoted(esim.name) +
                            " is already used by the eSIM at line " +
                            std::to_string(first_name->second) + "; give each eSIM its own name");
      }
    }
    account_->config.esims.push_back(std::move(esim));
    account_->esim_alerts.push_back(std::move(alerts));  // resolved by ResolveAlerts
  }

  std::string ParseIccid(const Node& key, const Node& value, const std::string& path) {
    // A bare 19-digit number is fine: yaml-cpp keeps the scalar's text exactly as written.
    const std::string& iccid = Text(key, value, path);
    const Mark at = value.Mark();
    if (iccid.empty()) Fail(at, path + " is empty; give the eSIM's 19 or 20 digit ICCID");
    if (!AllDigits(iccid)) {
      Fail(at, path + " " + Quoted(iccid) +
                   " must contain digits only; remove spaces, dashes and letters");
    }
    if (iccid.size() != 19 && iccid.size() != 20) {
      Fail(at, path + " " + Quoted(iccid) + " has " + std::to_string(iccid.size()) +
                   " digits; an ICCID has 19 or 20, check for a missing or extra digit");
    }
    if (!IsValidIccid(iccid)) {
      const char expected = LuhnCheckDigit(std::string_view(iccid).substr(0, iccid.size() - 1));
      Fail(at, path + " " + Quoted(iccid) +
                   " fails the Luhn check: after the digits before it, the last digit should be " +
                   std::string(1, expected) + "; check the ICCID for a typo");
    }
    return iccid;
  }

  std::map<std::string, std::string> ParseLabels(const Node& key, const Node& value,
                                                 const std::string& path) {
    std::map<std::string, std::string> labels;
    if (!ExpectMap(key, value, path)) return labels;
    ForEachEntry(value, path, [&](const std::string& name, const Node& k, const Node& v) {
      CheckLabelName(k, path, name);
      if (IsReservedLabel(name)) {
        Fail(k.Mark(), path + ": " + Quoted(name) +
                           " is a label name the exporter or Prometheus sets itself, and config "
                           "labels go on every series of the eSIM; rename it");
      }
      const std::string field = Join(path, name);
      const std::string& label_value = Text(k, v, field);
      if (!Utf8Length(label_value)) {
        Fail(v.Mark(), field + " is not valid UTF-8; save the file as UTF-8");
      }
      labels.emplace(name, label_value);
    });
    return labels;
  }

  void CheckLabelName(const Node& key, const std::string& path, const std::string& name) {
    if (!IsValidLabelName(name)) {
      Fail(key.Mark(), path + ": " + Quoted(name) +
                           " is not a valid label name; use letters, digits and underscores, not "
                           "starting with a digit");
    }
    if (name.starts_with("__")) {
      Fail(key.Mark(), path + ": " + Quoted(name) +
                           " starts with \"__\", which Prometheus reserves for internal use; "
                           "rename it");
    }
  }

  // --- alerts ----------------------------------------------------------------------------------

  // The fields of kThresholdKeys, parsed into `level`.
  std::vector<Field> ThresholdFields(AlertLevel& level) {
    const auto ratio = [this, &level](std::string_view name, std::optional<double>* target) {
      return Field{name, [this, &level, name, target](const Node& k, const Node& v) {
                     const std::string path = Join(level.path, name);
                     const double share = Number(k, v, path, "0.8");
                     if (!(share > 0 && share <= 1)) {
                       Fail(v.Mark(), path + " is " + FormatNumber(share) +
                                          "; give a share of the plan's data above 0 and at most "
                                          "1, e.g. 0.8 for 80 %");
                     }
                     *target = share;
                     level.marks[std::string(name)] = v.Mark();
                   }};
    };
    const auto before_expiry = [this, &level](std::string_view name,
                                              std::optional<milliseconds>* target) {
      return Field{name, [this, &level, name, target](const Node& k, const Node& v) {
                     const std::string path = Join(level.path, name);
                     const milliseconds duration = Duration(k, v, path);
                     if (duration <= milliseconds(0)) {
                       Fail(v.Mark(), path + " is " + FormatDuration(duration) +
                                          "; give a positive time before expiry, e.g. 7d");
                     }
                     *target = duration;
                     level.marks[std::string(name)] = v.Mark();
                   }};
    };
    AlertOverrides& values = level.values;
    return {ratio(kThresholdKeys[0], &values.data_usage_warning_ratio),
            ratio(kThresholdKeys[1], &values.data_usage_critical_ratio),
            before_expiry(kThresholdKeys[2], &values.expiry_warning),
            before_expiry(kThresholdKeys[3], &values.expiry_critical)};
  }

  // An eSIM's `alerts:` (thresholds only: balance_low is one value for the account).
  void ParseThresholdMap(const Node& key, const Node& value, const std::string& path,
                         AlertLevel& level) {
    level.at = Where(key, value);
    if (!ExpectMap(key, value, path)) return;
    ForEachField(value, path, ThresholdFields(level), kAccountWideOnly);
  }

  void ParseAlerts(const Node& key, const Node& value) {
    default_alerts_.at = Where(key, value);
    if (!ExpectMap(key, value, "alerts")) return;
    std::vector<Field> fields = ThresholdFields(default_alerts_);
    fields.push_back({"balance_low", [this](const Node& k, const Node& v) {
                        const double low = Number(k, v, "alerts.balance_low", "50");
                        if (low < 0) {
                          Fail(v.Mark(), "alerts.balance_low is " + FormatNumber(low) +
                                             "; give 0 or more, in the account's currency (0 "
                                             "turns the low-balance alert off)");
                        }
                        config_.alerts.balance_low = low;
                      }});
    fields.push_back({"groups", [this](const Node& k, const Node& v) { ParseAlertGroups(k, v); }});
    ForEachField(value, "alerts", fields);
  }

  void ParseAlertGroups(const Node& /*key*/, const Node& value) {
    const std::string example = "\"- match: {fleet: trackers}\" with thresholds under it";
    if (value.IsNull()) return;
    if (!value.IsSequence()) {
      Fail(value.Mark(), "alerts.groups must be a list, got " + KindOf(value) + "; write one " +
                             example + " per group");
    }
    size_t index = 0;
    for (const auto& item : value) {
      const std::string path = "alerts.groups[" + std::to_string(index++) + "]";
      if (!item.IsMap()) {
        Fail(item.IsNull() ? value.Mark() : item.Mark(),
             path + " must be a map, got " + KindOf(item) + "; write " + example);
      }
      AlertLevel level{path};
      level.at = item.Mark();
      AlertGroup group;
      std::optional<Mark> match_mark;
      std::vector<Field> fields = {{"match", [&](const Node& k, const Node& v) {
                                      match_mark = Where(k, v);
                                      group.match = ParseMatch(k, v, Join(path, "match"));
                                    }}};
      for (Field& field : ThresholdFields(level)) fields.push_back(std::move(field));
      ForEachField(item, path, fields, kAccountWideOnly);
      if (!match_mark) {
        Fail(item.Mark(), path +
                              " has no match; add e.g. \"match: {fleet: trackers}\" to say which "
                              "eSIMs (by their labels:) it applies to");
      }
      group.thresholds = level.values;
      config_.alerts.groups.push_back(std::move(group));
      group_alerts_.push_back(std::move(level));
    }
  }

  std::map<std::string, std::string> ParseMatch(const Node& key, const Node& value,
                                                const std::string& path) {
    std::map<std::string, std::string> match;
    if (value.IsNull() || (value.IsMap() && value.size() == 0)) {
      Fail(Where(key, value), path +
                                  " is empty, which would match every eSIM; name labels, e.g. "
                                  "{fleet: trackers}, or set the thresholds for all eSIMs "
                                  "directly under alerts:");
    }
    ExpectMap(key, value, path);
    ForEachEntry(value, path, [&](const std::string& name, const Node& k, const Node& v) {
      CheckLabelName(k, path, name);
      if (IsReservedLabel(name)) {
        Fail(k.Mark(), path + ": " + Quoted(name) +
                           " is set by the exporter, not by esims[].labels, so it matches no "
                           "eSIM; match on the eSIMs' config labels");
      }
      const std::string field = Join(path, name);
      const std::string& label_value = Text(k, v, field);
      if (!Utf8Length(label_value)) {
        Fail(v.Mark(), field + " is not valid UTF-8; save the file as UTF-8");
      }
      match.emplace(name, label_value);
    });
    return match;
  }

  static ResolvedAlerts Resolve(const ResolvedAlerts& below, const AlertLevel& level) {
    ResolvedAlerts resolved = below;
    resolved.values = level.values.Over(below.values);
    for (const auto& [name, mark] : level.marks) resolved.origin[name] = Join(level.path, name);
    return resolved;
  }

  // A warning must come before the critical alert, for data and for expiry alike.
  void CheckAlertOrder(const ResolvedAlerts& resolved, const AlertLevel& level) {
    const AlertThresholds& t = resolved.values;
    if (t.data_usage_warning_ratio > t.data_usage_critical_ratio) {
      FailAlertOrder(resolved, level, {"data_usage_warning_ratio", "above"},
                     FormatNumber(t.data_usage_warning_ratio),
                     {"data_usage_critical_ratio", "below"},
                     FormatNumber(t.data_usage_critical_ratio),
                     "the warning must not come after the critical alert: lower "
                     "data_usage_warning_ratio or raise data_usage_critical_ratio");
    }
    if (t.expiry_critical > t.expiry_warning) {
      FailAlertOrder(resolved, level, {"expiry_critical", "longer than"},
                     FormatDuration(t.expiry_critical), {"expiry_warning", "shorter than"},
                     FormatDuration(t.expiry_warning),
                     "the critical alert must come closer to expiry than the warning: shorten "
                     "expiry_critical or lengthen expiry_warning");
    }
  }

  struct OrderedKey {
    std::string_view name;
    std::string_view relation;  // how its value relates to the other key's, when it is wrong
  };

  // Blames a key the level sets itself: the other one may come from a group or the defaults.
  [[noreturn]] void FailAlertOrder(const ResolvedAlerts& resolved, const AlertLevel& level,
                                   OrderedKey first, const std::string& first_value,
                                   OrderedKey second, const std::string& second_value,
                                   const std::string& fix) {
    const auto describe = [&](std::string_view name, const std::string& value) {
      const auto origin = resolved.origin.find(name);
      if (origin == resolved.origin.end()) {
        return "the default " + std::string(name) + " (" + value + ")";
      }
      return origin->second + " (" + value + ")";
    };
    const bool blame_first = level.marks.contains(first.name) || !level.marks.contains(second.name);
    const OrderedKey& blamed = blame_first ? first : second;
    const auto mark = level.marks.find(blamed.name);
    Fail(mark == level.marks.end() ? level.at : mark->second,
         describe(blamed.name, blame_first ? first_value : second_value) + " is " +
             std::string(blamed.relation) + " " +
             (blame_first ? describe(second.name, second_value)
                          : describe(first.name, first_value)) +
             "; " + fix);
  }

  // Each eSIM's thresholds: its own over the first group matching its labels over the defaults.
  void ResolveAlerts(const std::vector<AccountParse*>& accounts) {
    const ResolvedAlerts defaults = Resolve({}, default_alerts_);
    CheckAlertOrder(defaults, default_alerts_);
    config_.alerts.defaults = defaults.values;
    std::vector<ResolvedAlerts> groups;
    for (const AlertLevel& level : group_alerts_) {
      groups.push_back(Resolve(defaults, level));
      CheckAlertOrder(groups.back(), level);
    }
    std::vector<bool> group_used(groups.size(), false);
    for (AccountParse* account : accounts) {
      ResolveEsimAlerts(*account, defaults, groups, group_used);
    }
    for (size_t i = 0; i < group_used.size(); ++i) {
      if (group_used[i]) continue;
      Warn(group_alerts_[i].at,
           group_alerts_[i].path +
               " matches none of the eSIMs under esims: (groups match their labels:; eSIMs found "
               "by discovery have none); check the match labels");
    }
  }

  void ResolveEsimAlerts(AccountParse& account, const ResolvedAlerts& defaults,
                         const std::vector<ResolvedAlerts>& groups, std::vector<bool>& group_used) {
    for (size_t i = 0; i < account.config.esims.size(); ++i) {
      EsimConfig& esim = account.config.esims[i];
      const AlertLevel& own = account.esim_alerts[i];
      const std::vector<AlertGroup>& all = config_.alerts.groups;
      const auto group = std::find_if(all.begin(), all.end(),
                                      [&](const AlertGroup& g) { return g.Matches(esim.labels); });
      const size_t group_index = static_cast<size_t>(group - all.begin());
      if (group != all.end()) group_used[group_index] = true;
      if (!own.marks.empty()) {
        CheckAlertOrder(Resolve(group != all.end() ? groups[group_index] : defaults, own), own);
      }
      esim.alerts = own.values.Over(group != all.end() ? group->thresholds : AlertOverrides{});
    }
  }

  // balance_low is one figure for the whole account, so groups and eSIMs do not take it.
  inline static const std::map<std::string, std::string> kAccountWideOnly = {
      {"balance_low",
       "is for the whole account (the balance is one figure); set it once directly under "
       "alerts:"}};

  const EnvLookup& env_;
  Config config_;  // the shared blocks; the unnamed account's blocks are moved in at the end
  mode_t config_mode_ = 0;  // the config file's st_mode, for the inline secret warnings
  AlertLevel default_alerts_{"alerts"};
  std::vector<AlertLevel> group_alerts_;  // in alerts.groups order
  ConfigLabelsPool label_sets_;           // eSIMs with the same labels share one set

  Mark root_mark_;
  std::optional<Mark> interval_mark_;
  std::optional<Mark> stale_after_mark_;
  AccountParse unnamed_;               // the top-level api, esims, ... blocks
  AccountParse* account_ = &unnamed_;  // the account whose blocks are being parsed
  std::optional<Mark> accounts_mark_;  // the accounts key, when given
  std::vector<std::unique_ptr<AccountParse>> accounts_;  // accounts: in file order
  // Top-level account blocks (api, esims, ...) with their key's position, in file order.
  std::vector<std::pair<std::string, Mark>> top_level_blocks_;
  // Across accounts: EsimConfig::Key() -> line and account, for duplicates between accounts.
  std::map<std::string, std::pair<int, std::string>> account_by_key_;
};

}  // namespace

AlertOverrides AlertOverrides::Over(const AlertOverrides& below) const {
  AlertOverrides merged = below;
  if (data_usage_warning_ratio) merged.data_usage_warning_ratio = data_usage_warning_ratio;
  if (data_usage_critical_ratio) merged.data_usage_critical_ratio = data_usage_critical_ratio;
  if (expiry_warning) merged.expiry_warning = expiry_warning;
  if (expiry_critical) merged.expiry_critical = expiry_critical;
  return merged;
}

AlertThresholds AlertOverrides::Over(const AlertThresholds& defaults) const {
  AlertThresholds merged;
  merged.data_usage_warning_ratio =
      data_usage_warning_ratio.value_or(defaults.data_usage_warning_ratio);
  merged.data_usage_critical_ratio =
      data_usage_critical_ratio.value_or(defaults.data_usage_critical_ratio);
  merged.expiry_warning = expiry_warning.value_or(defaults.expiry_warning);
  merged.expiry_critical = expiry_critical.value_or(defaults.expiry_critical);
  return merged;
}

bool AlertGroup::Matches(const ConfigLabels& labels) const {
  if (match.empty()) return false;
  return std::all_of(match.begin(), match.end(), [&](const auto& pair) {
    const auto label = labels.find(pair.first);
    return label != labels.end() && label->second == pair.second;
  });
}

std::string EsimConfig::Key() const {
  if (esim_id) return "esim_id:" + std::to_string(*esim_id);
  return "iccid:" + iccid;
}

bool EsimConfig::HasKey(std::string_view key) const {
  constexpr std::string_view kIccid = "iccid:", kEsimId = "esim_id:";
  if (!esim_id) return key.substr(0, kIccid.size()) == kIccid && key.substr(kIccid.size()) == iccid;
  if (key.substr(0, kEsimId.size()) != kEsimId) return false;
  char digits[24];
  const auto [end, error] = std::to_chars(std::begin(digits), std::end(digits), *esim_id);
  return error == std::errc() &&
         key.substr(kEsimId.size()) == std::string_view(digits, static_cast<size_t>(end - digits));
}

EsimConfig EsimConfig::FromKey(std::string_view key) {
  EsimConfig esim;
  constexpr std::string_view kIccid = "iccid:", kEsimId = "esim_id:";
  if (key.substr(0, kIccid.size()) == kIccid) {
    esim.iccid = std::string(key.substr(kIccid.size()));
  } else if (key.substr(0, kEsimId.size()) == kEsimId) {
    int64_t id = 0;
    const std::string_view digits = key.substr(kEsimId.size());
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (error == std::errc() && end == digits.data() + digits.size()) esim.esim_id = id;
  }
  return esim;
}

std::vector<std::string> KeysOf(const std::vector<EsimConfig>& esims) {
  std::vector<std::string> keys;
  keys.reserve(esims.size());
  for (const EsimConfig& esim : esims) keys.push_back(esim.Key());
  return keys;
}

std::vector<const Config*> AccountsOf(const Config& config) {
  if (config.accounts.empty()) return {&config};
  std::vector<const Config*> accounts;
  for (const Config& account : config.accounts) accounts.push_back(&account);
  return accounts;
}

std::vector<Config*> AccountsOf(Config& config) {
  if (config.accounts.empty()) return {&config};
  std::vector<Config*> accounts;
  for (Config& account : config.accounts) accounts.push_back(&account);
  return accounts;
}

void DropEsimLists(Config& config) {
  // swap, not clear(): the lists' buffers are freed (a 100,000-eSIM list holds ~20 MB).
  for (Config& account : config.accounts) std::vector<EsimConfig>().swap(account.esims);
  std::vector<EsimConfig>().swap(config.esims);
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Config LoadConfig(const std::string& path, const EnvLookup& env) {
  return Loader(path, env).Load();
}

}  // namespace esim
