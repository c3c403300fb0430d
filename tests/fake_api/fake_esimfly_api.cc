#include "fake_esimfly_api.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <tuple>
#include <utility>

namespace fake_esimfly {
namespace {

using Json = nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

// httplib runs every accepted connection as one task of its task queue: counting the tasks
// counts the TCP connections (TLS ones included), which is what proves keep-alive.
// (httplib::ThreadPool is final since 0.2x: this wraps one.)
class CountingThreadPool : public httplib::TaskQueue {
 public:
  CountingThreadPool(size_t threads, std::shared_ptr<std::atomic<size_t>> counter)
      : pool_(threads), counter_(std::move(counter)) {}
  bool enqueue(std::function<void()> fn) override {
    counter_->fetch_add(1);
    return pool_.enqueue(std::move(fn));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::shared_ptr<std::atomic<size_t>> counter_;
};

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The media type of a Content-Type value, lowercased, without parameters or spaces.
std::string MediaType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(),
                            [](unsigned char c) { return std::isspace(c) != 0; }),
             type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

// Decimal Unix milliseconds: digits only, no sign, no spaces, at most 15 digits.
std::optional<int64_t> ParseMillis(const std::string& s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

int64_t NowMillis() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int HttpStatusForEsimError(const std::string& code) {
  if (code == "PROVIDER_ERROR") return 502;
  if (code == "ESIM_NOT_FOUND") return 404;
  if (code == "RATE_LIMIT_EXCEEDED") return 429;
  return 403;
}

std::string MessageForEsimError(const std::string& code) {
  if (code == "FORBIDDEN") return "You do not have permission to access this eSIM";
  if (code == "PROVIDER_ERROR") return "Failed to retrieve live eSIM status from provider";
  if (code == "ESIM_ACCESS_DENIED") return "Access to this eSIM is denied";
  if (code == "UNSUPPORTED_PROVIDER") return "Live status is not supported for this provider";
  if (code == "NOT_SUPPORTED") return "Operation not supported for this eSIM";
  if (code == "INVALID_USER") return "Invalid user account";
  return "eSIM status unavailable";
}

// The raw query string of a request (after '?'), as received.
std::string QueryOf(const httplib::Request& req) {
  const size_t q = req.target.find('?');
  return q == std::string::npos ? std::string() : req.target.substr(q + 1);
}

RequestRecord NewRecord(const httplib::Request& req) {
  RequestRecord record;
  record.method = req.method;
  record.path = req.path;
  record.query = QueryOf(req);
  record.at = steady_clock::now();
  record.access_code = req.get_header_value("RT-AccessCode");
  return record;
}

// --- The list item ------------------------------------------------------------------------------

// obj[key] when obj is an object holding key, else nullptr.
const Json* Member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string StringMember(const Json& obj, const char* key, const std::string& fallback) {
  const Json* v = Member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

double NumberMember(const Json& obj, const char* key) {
  const Json* v = Member(obj, key);
  return v != nullptr && v->is_number() ? v->get<double>() : 0.0;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "YYYY-MM-DDTHH:MM:SS[.fff]Z" (fraction ignored); nullopt for anything else.
std::optional<system_clock::time_point> ParseIso8601(const Json* v) {
  if (v == nullptr || !v->is_string()) return std::nullopt;
  const std::string s = v->get<std::string>();
  std::tm tm{};
  char t = 0;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &t,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 7 ||
      (t != 'T' && t != 't') || consumed != 19) {
    return std::nullopt;
  }
  size_t rest = 19;
  if (rest < s.size() && s[rest] == '.') {
    ++rest;
    while (rest < s.size() && std::isdigit(static_cast<unsigned char>(s[rest]))) ++rest;
  }
  if (rest + 1 != s.size() || (s[rest] != 'Z' && s[rest] != 'z')) return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return system_clock::from_time_t(timegm(&tm));
}

// data_usage.<key> when it is a number, else 0.
double UsageGb(const Json& status_data, const char* key) {
  const Json* usage = Member(status_data, "data_usage");
  return usage == nullptr ? 0.0 : NumberMember(*usage, key);
}

// unlimited true, data_usage.unlimited true, or no numeric data_usage.total_gb.
bool IsUnlimitedPlan(const Json& status_data) {
  const Json* usage = Member(status_data, "data_usage");
  const Json* flag = Member(status_data, "unlimited");
  const Json* usage_flag = usage == nullptr ? nullptr : Member(*usage, "unlimited");
  const Json* total = usage == nullptr ? nullptr : Member(*usage, "total_gb");
  return (flag != nullptr && *flag == true) || (usage_flag != nullptr && *usage_flag == true) ||
         total == nullptr || !total->is_number();
}

// "5", "0.5": a GB allowance as a package name writes it.
std::string GbText(double gb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", gb);
  return buf;
}

// A listed_overrides member that is a string, else `derived`.
std::string OverriddenString(const FakeEsim& esim, const char* key, const std::string& derived) {
  return StringMember(esim.listed_overrides, key, derived);
}

std::string ListedStatus(const FakeEsim& esim) {
  return OverriddenString(esim, "status", StringMember(esim.status_data, "status", "NEW"));
}

int DaysFromDates(const Json& status_data) {
  const auto activated = ParseIso8601(Member(status_data, "activation_date"));
  const auto expires = ParseIso8601(Member(status_data, "expiry_date"));
  if (!activated || !expires) return -1;
  const double days = std::chrono::duration<double>(*expires - *activated).count() / 86400.0;
  return static_cast<int>(std::max<long long>(0, std::llround(days)));
}

std::string PackageName(const FakeEsim& esim) {
  std::string derived = esim.package_name;
  if (derived.empty()) {
    const int days = std::max(DaysFromDates(esim.status_data), 0);
    const std::string plan = IsUnlimitedPlan(esim.status_data)
                                 ? "Unlimited"
                                 : GbText(UsageGb(esim.status_data, "total_gb")) + "GB";
    derived = "Data " + plan + " - " + std::to_string(days == 0 ? 30 : days) + " Days";
  }
  return OverriddenString(esim, "package_name", derived);
}

std::string PackageCode(const FakeEsim& esim) {
  std::string derived = esim.package_code;
  if (derived.empty()) {
    const int days = std::max(DaysFromDates(esim.status_data), 0);
    const std::string plan = IsUnlimitedPlan(esim.status_data)
                                 ? "unlimited"
                                 : GbText(UsageGb(esim.status_data, "total_gb")) + "gb";
    derived = "data-" + std::to_string(days == 0 ? 30 : days) + "days-" + plan;
  }
  return OverriddenString(esim, "package_code", derived);
}

bool ContainsIgnoringCase(const std::string& haystack, const std::string& lower_needle) {
  return Lower(haystack).find(lower_needle) != std::string::npos;
}

// Objects merge key by key, recursively; any other value replaces.
void DeepMerge(Json& target, const Json& patch) {
  if (!patch.is_object() || !target.is_object()) {
    target = patch;
    return;
  }
  for (const auto& [key, value] : patch.items()) {
    auto it = target.find(key);
    if (it != target.end() && it->is_object() && value.is_object()) {
      DeepMerge(*it, value);
    } else {
      target[key] = value;
    }
  }
}

std::string FlagUrl(const std::vector<std::string>& countries, const Json& status_data) {
  static const std::map<std::string, std::string> kIso2 = {
      {"Australia", "au"},      {"France", "fr"},        {"Germany", "de"},  {"Italy", "it"},
      {"Japan", "jp"},          {"Malaysia", "my"},      {"Portugal", "pt"}, {"Singapore", "sg"},
      {"South Korea", "kr"},    {"Spain", "es"},         {"Sweden", "se"},   {"Thailand", "th"},
      {"United Kingdom", "gb"}, {"United States", "us"}, {"Vietnam", "vn"}};
  std::string iso2;
  if (!countries.empty()) {
    if (auto it = kIso2.find(countries.front()); it != kIso2.end()) iso2 = it->second;
  }
  if (iso2.empty()) {
    const Json* network = Member(status_data, "last_network");
    iso2 = Lower(network == nullptr ? "" : StringMember(*network, "country_iso2", ""));
  }
  return "/images/flags/" + (iso2.empty() ? std::string("global") : iso2) + ".png";
}

constexpr const char* kListStatuses[] = {"all",       "NEW",      "ACTIVE", "EXPIRED",
                                         "CANCELLED", "DEPLETED", "DELETED"};

// A decimal integer in [min, max], nothing else.
std::optional<int> ParseIntParam(const std::string& s, int min, int max) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

// Resets the TCP connection a request came on, without closing its descriptor (httplib owns it
// and closes it after the handler): the descriptor is found by its addresses, and connect() with
// AF_UNSPEC disconnects it, which on Linux sends an RST. Falls back to SO_LINGER 0 plus shutdown.
// Returns false when the connection was not found.
bool ResetConnection(const httplib::Request& req) {
  auto numeric = [](const sockaddr_storage& addr, socklen_t len, std::string& host, int& port) {
    char buf[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, buf, sizeof buf, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      return false;
    }
    host = buf;
    port = std::atoi(serv);
    return true;
  };
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    const int fd = std::atoi(entry->d_name);
    if (fd == dirfd(dir)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    std::string local_host, peer_host;
    int local_port = 0, peer_port = 0;
    if (!numeric(local, local_len, local_host, local_port) ||
        !numeric(peer, peer_len, peer_host, peer_port)) {
      continue;
    }
    if (local_port == req.local_port && peer_port == req.remote_port &&
        peer_host == req.remote_addr) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  if (found < 0) return false;
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  if (connect(found, &unspec, sizeof unspec) != 0) {
    linger abort{1, 0};
    setsockopt(found, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    shutdown(found, SHUT_RDWR);
  }
  return true;
}

// An HTTPS server's write to a reset connection goes through write(2), not send(MSG_NOSIGNAL).
void IgnoreSigpipeIfDefault() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

// used_gb (and total_gb when a number) as strings, e.g. "0.5".
Json WithWrongTypes(Json data) {
  if (!data.is_object()) data = Json::object();
  Json& usage = data["data_usage"];
  if (!usage.is_object()) usage = Json::object();
  for (const char* key : {"used_gb", "total_gb"}) {
    if (usage.contains(key) && usage[key].is_number()) {
      std::string text = usage[key].dump();
      usage[key] = text;
    }
  }
  if (!usage.contains("used_gb") || !usage["used_gb"].is_string()) usage["used_gb"] = "0.5";
  return data;
}

// A list item for the n-th eSIM a hostile list endpoint made up: ICCID 8999<15 digits><check>,
// id 10,000,000 + n, an active 5 GB plan.
Json InventedListItem(size_t n, system_clock::time_point now) {
  static const FakeEsim kTemplate = GenerateFleet(4)[3];
  char digits[32];
  std::snprintf(digits, sizeof digits, "8999%014llu", static_cast<unsigned long long>(n));
  FakeEsim esim = kTemplate;
  esim.iccid = AppendLuhnCheckDigit(digits);
  esim.id = 10000000 + static_cast<int64_t>(n);
  esim.status_data["iccid"] = esim.iccid;
  return ListItemJson(esim, now);
}

}  // namespace

bool IsListed(const FakeEsim& esim) {
  return esim.error_code != "FORBIDDEN" && esim.error_code != "ESIM_NOT_FOUND";
}

Json ListItemJson(const FakeEsim& esim, system_clock::time_point now) {
  const Json& sd = esim.status_data;
  const bool unlimited = IsUnlimitedPlan(sd);
  const int64_t used_mb = std::max<int64_t>(0, std::llround(UsageGb(sd, "used_gb") * 1024));
  const int64_t total_mb =
      unlimited ? 0 : std::max<int64_t>(0, std::llround(UsageGb(sd, "total_gb") * 1024));
  const int64_t remaining_mb = unlimited ? 0 : std::max<int64_t>(0, total_mb - used_mb);
  const int64_t usage_percentage =
      unlimited || total_mb == 0
          ? 0
          : std::min<int64_t>(100, std::llround(100.0 * static_cast<double>(used_mb) /
                                                static_cast<double>(total_mb)));

  const std::string package_name = PackageName(esim);
  const std::string package_code = PackageCode(esim);
  int days = DaysFromDates(sd);
  if (days < 0) {
    static const std::regex kDays(R"((\d+)\s*days)", std::regex::icase);
    std::smatch m;
    if (std::regex_search(package_code, m, kDays) || std::regex_search(package_name, m, kDays)) {
      days = std::stoi(m[1].str());
    } else {
      days = 30;
    }
  }
  const Json* activation = Member(sd, "activation_date");
  const Json* expiry = Member(sd, "expiry_date");
  const auto expires = ParseIso8601(expiry);
  const bool is_expired = expires ? *expires < now : StringMember(sd, "status", "") == "EXPIRED";

  std::vector<std::string> countries = esim.countries;
  if (countries.empty()) {
    const Json* network = Member(sd, "last_network");
    const std::string country = network ? StringMember(*network, "country", "") : "";
    if (!country.empty()) countries.push_back(country);
  }
  std::string created_at = esim.created_at;
  if (created_at.empty()) created_at = StringMember(sd, "activation_date", "");
  if (created_at.empty()) created_at = "2026-01-01T00:00:00.000Z";

  const std::string activation_code = "SECRET-ACT-" + esim.iccid;
  Json item = {
      {"id", esim.id},
      {"iccid", esim.iccid},
      {"package_name", package_name},
      {"package_code", package_code},
      {"countries", countries},
      {"status", StringMember(sd, "status", "NEW")},
      {"data",
       {{"total_mb", total_mb},
        {"used_mb", used_mb},
        {"remaining_mb", remaining_mb},
        {"usage_percentage", usage_percentage},
        {"is_unlimited", unlimited}}},
      {"validity",
       {{"days", days},
        {"activated_at", activation != nullptr && activation->is_string() ? *activation : Json()},
        {"expires_at", expiry != nullptr && expiry->is_string() ? *expiry : Json()},
        {"is_expired", is_expired}}},
      {"created_at", created_at},
      {"is_pending", false},
      {"phone_number", nullptr},
      {"qr_code", "LPA:1$smdp.example$" + activation_code},
      {"manual_installation",
       {{"smdp_address", "smdp.example"},
        {"activation_code", activation_code},
        {"install_url", "https://example.invalid/install/SECRET-" + esim.iccid}}},
      {"flag_url", FlagUrl(countries, sd)},
  };
  if (const Json* esim_status = Member(sd, "esim_status");
      esim_status && esim_status->is_string()) {
    item["esim_status"] = *esim_status;
  }
  if (esim.pending) {
    // Still being provisioned: nothing to install or use yet.
    item["iccid"] = nullptr;
    item["data"] = nullptr;
    item["validity"] = nullptr;
    item["is_pending"] = true;
    item["qr_code"] = nullptr;
    item["manual_installation"] = nullptr;
    item.erase("esim_status");
  }
  if (esim.listed_overrides.is_object()) DeepMerge(item, esim.listed_overrides);
  return item;
}

std::string ComputeSignature(const std::string& secret_key, const std::string& timestamp,
                             const std::string& request_id, const std::string& access_code,
                             const std::string& body) {
  const std::string message = timestamp + request_id + access_code + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret_key.data(), secret_key.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
                sizeof mac, &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string hex;
  hex.reserve(mac_len * 2);
  for (size_t i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xF]);
  }
  return hex;
}

bool IsUuidV4(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  const char variant = static_cast<char>(std::tolower(static_cast<unsigned char>(s[19])));
  return s[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

const char* AccountFaultName(AccountFault fault) {
  switch (fault) {
    case AccountFault::kNone:
      return "none";
    case AccountFault::kRevoked:
      return "revoked";
    case AccountFault::kDown:
      return "down";
    case AccountFault::kInvalidSignature:
      return "invalid_signature";
    case AccountFault::kRateLimited:
      return "rate_limited";
    case AccountFault::kProviderError:
      return "provider_error";
  }
  return "none";
}

AccountFault ParseAccountFault(const std::string& name) {
  for (AccountFault fault : {AccountFault::kNone, AccountFault::kRevoked, AccountFault::kDown,
                             AccountFault::kInvalidSignature, AccountFault::kRateLimited,
                             AccountFault::kProviderError}) {
    if (name == AccountFaultName(fault)) return fault;
  }
  throw std::invalid_argument("unknown account fault \"" + name +
                              "\" (expected none, revoked, down, invalid_signature, "
                              "rate_limited or provider_error)");
}

FakeEsimflyApi::FakeEsimflyApi(Options options, std::vector<FakeEsim> fleet)
    : options_(std::move(options)), latency_(options_.latency) {
  auto account = std::make_unique<Account>();
  account->name = options_.account_name;
  account->access_code = options_.access_code;
  account->secret_key = options_.secret_key;
  account->rate.limit = options_.rate_limit_per_minute;
  account->balance = options_.balance;
  account->currency = options_.currency;
  account->list_fail_page = options_.list_fail_page;
  accounts_.push_back(std::move(account));
  for (FakeEsim& esim : fleet) UpsertEsim(std::move(esim));
}

void FakeEsimflyApi::AddAccount(AccountOptions options, std::vector<FakeEsim> fleet) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  if (server_) throw std::logic_error("AddAccount after Start");
  if (options.name.empty() || options.access_code.empty()) {
    throw std::invalid_argument("an account needs a name and an access code");
  }
  for (const auto& existing : accounts_) {
    if (existing->name == options.name) {
      throw std::invalid_argument("account \"" + options.name + "\" already exists");
    }
    if (existing->access_code == options.access_code) {
      throw std::invalid_argument("accounts \"" + existing->name + "\" and \"" + options.name +
                                  "\" have the same access code");
    }
  }
  auto account = std::make_unique<Account>();
  account->name = options.name;
  account->access_code = options.access_code;
  account->secret_key = options.secret_key;
  account->rate.limit = options.rate_limit_per_minute;
  account->balance = options.balance;
  account->currency = options.currency;
  {
    // All or nothing: a refused eSIM leaves the server as it was.
    std::lock_guard<std::mutex> lock(fleet_mu_);
    for (FakeEsim& esim : fleet) UpsertLocked(std::move(esim), *account);
    accounts_.push_back(std::move(account));
  }
}

std::vector<std::string> FakeEsimflyApi::AccountNames() const {
  std::vector<std::string> names;
  for (const auto& account : accounts_) names.push_back(account->name);
  return names;
}

void FakeEsimflyApi::SetAccountFault(const std::string& account, AccountFault fault) {
  AccountNamed(account).fault = fault;
}

AccountFault FakeEsimflyApi::GetAccountFault(const std::string& account) const {
  return AccountNamed(account).fault.load();
}

FakeEsimflyApi::Account& FakeEsimflyApi::AccountNamed(const std::string& name) const {
  if (name.empty()) return *accounts_.front();
  for (const auto& account : accounts_) {
    if (account->name == name) return *account;
  }
  throw std::invalid_argument("no account named \"" + name + "\"");
}

FakeEsimflyApi::Account* FakeEsimflyApi::AccountByCode(const std::string& access_code) const {
  for (const auto& account : accounts_) {
    if (account->access_code == access_code) return account.get();
  }
  return nullptr;
}

FakeEsimflyApi::~FakeEsimflyApi() { Stop(); }

bool FakeEsimflyApi::tls() const {
  return !options_.tls_cert_file.empty() && !options_.tls_key_file.empty();
}

std::string FakeEsimflyApi::BaseUrl() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return std::string(tls() ? "https://" : "http://") + (v6 ? "[" + host_ + "]" : host_) + ":" +
         std::to_string(port_.load());
}

int FakeEsimflyApi::Start(const std::string& host, int port) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  if (server_) throw std::runtime_error("fake eSIMfly API already started");
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    throw std::runtime_error("TLS needs both a certificate and a key file");
  }
  std::unique_ptr<httplib::Server> server;
  if (tls()) {
    auto ssl = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                    options_.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      throw std::runtime_error("cannot load the TLS certificate " + options_.tls_cert_file +
                               " and key " + options_.tls_key_file);
    }
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  const size_t threads = std::max<size_t>(options_.worker_threads, 2);
  auto counter = connections_;
  server->new_task_queue = [threads, counter] { return new CountingThreadPool(threads, counter); };
  server->set_keep_alive_max_count(std::max<size_t>(options_.keep_alive_max_count, 1));
  server->set_tcp_nodelay(true);  // like a real API: no Nagle delay on small answers
  server->set_keep_alive_timeout(options_.keep_alive_timeout.count());
  server->set_payload_max_length(1 << 20);
  // httplib's default also sets SO_REUSEPORT, which would let a second server bind a port that is
  // in use; the binary must fail (exit 2) instead.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  server->Post(kStatusPath, [this](const httplib::Request& req, httplib::Response& res) {
    HandleStatus(req, res);
  });
  server->Get(kListPath, [this](const httplib::Request& req, httplib::Response& res) {
    HandleList(req, res);
  });
  server->Get(kBalancePath, [this](const httplib::Request& req, httplib::Response& res) {
    HandleBalance(req, res);
  });
  server->Get(kWebhooksPath, [this](const httplib::Request& req, httplib::Response& res) {
    HandleWebhooks(req, res);
  });
  server->Put(kWebhooksPath, [this](const httplib::Request& req, httplib::Response& res) {
    HandleWebhooks(req, res);
  });
  auto unknown = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == kStatusPath || req.path == kListPath || req.path == kBalancePath ||
        req.path == kWebhooksPath) {
      HandleUnknown(req, res, 405, "METHOD_NOT_ALLOWED", "Method not allowed");
    } else {
      HandleUnknown(req, res, 404, "NOT_FOUND", "Endpoint not found");
    }
  };
  server->Get(".*", unknown);
  server->Post(".*", unknown);
  server->Put(".*", unknown);
  server->Patch(".*", unknown);
  server->Delete(".*", unknown);
  server->Options(".*", unknown);
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(
            R"({"success":false,"message":"Internal server error","code":"INTERNAL_ERROR"})",
            "application/json");
      });

  int bound = -1;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
  } else if (server->bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    throw BindError("cannot bind " + host + ":" + std::to_string(port));
  }
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = false;
  }
  host_ = host;
  port_ = bound;
  httplib::Server* raw = server.get();
  server_ = std::move(server);
  thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so that Stop() right
  // after Start() cannot hang. The socket already listens, so early clients just queue.
  const auto deadline = steady_clock::now() + seconds(10);
  while (!raw->is_running()) {
    if (steady_clock::now() > deadline) {
      throw std::runtime_error("the fake eSIMfly API did not start serving");
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  return bound;
}

void FakeEsimflyApi::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeEsimflyApi::UpsertEsim(FakeEsim esim, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(fleet_mu_);
  UpsertLocked(std::move(esim), target);
}

void FakeEsimflyApi::UpsertLocked(FakeEsim esim, Account& account) {
  if (esim.iccid.empty()) throw std::invalid_argument("a fake eSIM needs an iccid");
  // Two accounts never share an eSIM (the account being added is not in accounts_ yet).
  for (const auto& other : accounts_) {
    if (other.get() == &account) continue;
    if (other->esims_by_iccid.count(esim.iccid) != 0 || other->iccid_by_id.count(esim.id) != 0) {
      throw std::invalid_argument("eSIM " + esim.iccid + " (id " + std::to_string(esim.id) +
                                  ") belongs to account \"" + other->name + "\", not \"" +
                                  account.name + "\"");
    }
  }
  auto existing = account.esims_by_iccid.find(esim.iccid);
  if (existing != account.esims_by_iccid.end()) {
    auto by_id = account.iccid_by_id.find(existing->second.id);
    if (by_id != account.iccid_by_id.end() && by_id->second == esim.iccid) {
      account.iccid_by_id.erase(by_id);
    }
  }
  account.iccid_by_id[esim.id] = esim.iccid;
  std::string key = esim.iccid;
  account.esims_by_iccid[key] = std::move(esim);
  account.list_order_stale = true;
}

void FakeEsimflyApi::RemoveEsim(const std::string& iccid, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(fleet_mu_);
  auto it = target.esims_by_iccid.find(iccid);
  if (it == target.esims_by_iccid.end()) return;
  auto by_id = target.iccid_by_id.find(it->second.id);
  if (by_id != target.iccid_by_id.end() && by_id->second == iccid) target.iccid_by_id.erase(by_id);
  target.esims_by_iccid.erase(it);
  target.list_order_stale = true;
}

std::vector<FakeEsim> FakeEsimflyApi::Fleet(const std::string& account) const {
  const Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(fleet_mu_);
  std::vector<FakeEsim> out;
  out.reserve(target.esims_by_iccid.size());
  for (const auto& [iccid, esim] : target.esims_by_iccid) out.push_back(esim);
  return out;
}

size_t FakeEsimflyApi::FleetSize(const std::string& account) const {
  const Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(fleet_mu_);
  return target.esims_by_iccid.size();
}

void FakeEsimflyApi::SetRateLimitPerMinute(int limit, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(auth_mu_);
  target.rate = RateLimitState{};
  target.rate.limit = limit;
}

void FakeEsimflyApi::SetLatency(milliseconds latency) {
  std::lock_guard<std::mutex> lock(auth_mu_);
  latency_ = latency;
}

void FakeEsimflyApi::SetBalance(double balance, std::string currency, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  target.balance = balance;
  target.currency = std::move(currency);
}

void FakeEsimflyApi::SetListFailPage(int page, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  target.list_fail_page = page;
}

std::vector<RequestRecord> FakeEsimflyApi::Requests() const {
  std::lock_guard<std::mutex> lock(records_mu_);
  return {records_.begin(), records_.end()};
}

size_t FakeEsimflyApi::RequestCount() const {
  std::lock_guard<std::mutex> lock(records_mu_);
  return request_count_;
}

void FakeEsimflyApi::ClearRequests() {
  std::lock_guard<std::mutex> lock(records_mu_);
  records_.clear();
  request_count_ = 0;
}

size_t FakeEsimflyApi::ConnectionCount() const { return connections_->load(); }

size_t FakeEsimflyApi::SeenRequestIdCount() const {
  std::lock_guard<std::mutex> lock(auth_mu_);
  return seen_ids_.size();
}

void FakeEsimflyApi::HandleStatus(const httplib::Request& req, httplib::Response& res) {
  RequestRecord record = NewRecord(req);
  // The identifier as sent, for the record, whatever the outcome.
  const Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    if (auto it = body.find("iccid"); it != body.end() && it->is_string()) {
      record.iccid = it->get<std::string>();
    }
    if (auto it = body.find("esimId"); it != body.end() && it->is_number_integer()) {
      record.esim_id = it->get<int64_t>();
    }
  }

  Answer answer;
  Account* account = nullptr;
  try {
    if (auto rejection = Authenticate(req, req.body, /*require_json_content_type=*/true, account)) {
      answer = std::move(*rejection);
    } else if (!body.is_object()) {
      answer = {400,
                "INVALID_REQUEST",
                {{"success", false},
                 {"message", "Request body must be a JSON object"},
                 {"code", "INVALID_REQUEST"}},
                {}};
    } else {
      answer = LookUp(body, *account);
    }
  } catch (const std::exception& e) {
    answer = {500,
              "INTERNAL_ERROR",
              {{"success", false}, {"message", e.what()}, {"code", "INTERNAL_ERROR"}},
              {}};
  }
  answer.account = account;
  if (account != nullptr) record.account = account->name;
  WaitLatency();
  if (answer.fault != Fault::kNone) {
    InjectFault(req, res, body, answer, std::move(record));
    return;
  }
  Finish(res, answer, std::move(record));
}

void FakeEsimflyApi::HandleList(const httplib::Request& req, httplib::Response& res) {
  RequestRecord record = NewRecord(req);
  Answer answer;
  Account* account = nullptr;
  try {
    if (auto rejection = Authenticate(req, "", /*require_json_content_type=*/false, account)) {
      answer = std::move(*rejection);
    } else {
      answer = List(req, *account);
    }
  } catch (const std::exception& e) {
    answer = {500,
              "INTERNAL_ERROR",
              {{"success", false}, {"message", e.what()}, {"code", "INTERNAL_ERROR"}},
              {}};
  }
  answer.account = account;
  if (account != nullptr) record.account = account->name;
  WaitLatency();
  Finish(res, answer, std::move(record));
}

void FakeEsimflyApi::HandleBalance(const httplib::Request& req, httplib::Response& res) {
  RequestRecord record = NewRecord(req);
  Answer answer;
  Account* account = nullptr;
  if (auto rejection = Authenticate(req, "", /*require_json_content_type=*/false, account)) {
    answer = std::move(*rejection);
  } else {
    std::lock_guard<std::mutex> lock(knobs_mu_);
    answer = {200,
              "",
              {{"success", true},
               {"data", {{"balance", account->balance}, {"currency", account->currency}}}},
              {}};
  }
  answer.account = account;
  if (account != nullptr) record.account = account->name;
  WaitLatency();
  Finish(res, answer, std::move(record));
}

void FakeEsimflyApi::HandleWebhooks(const httplib::Request& req, httplib::Response& res) {
  static const nlohmann::json kAvailable = {"esim.installed", "esim.profile.updated",
                                            "esim.usage.threshold", "esim.status.changed",
                                            "esim.provisioned"};
  RequestRecord record = NewRecord(req);
  Answer answer;
  Account* account = nullptr;
  const bool put = req.method == "PUT";
  if (auto rejection =
          Authenticate(req, put ? req.body : "", /*require_json_content_type=*/put, account)) {
    answer = std::move(*rejection);
  } else if (!put) {
    std::lock_guard<std::mutex> lock(knobs_mu_);
    answer = {
        200,
        "",
        {{"success", true},
         {"data",
          {{"webhook_url",
            account->webhook_url.empty() ? nlohmann::json() : nlohmann::json(account->webhook_url)},
           {"events", account->webhook_events},
           {"available_events", kAvailable},
           {"recent_deliveries", account->recent_deliveries}}}},
        {}};
  } else {
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    const bool url_ok = body.is_object() && body.contains("webhook_url") &&
                        body["webhook_url"].is_string() &&
                        (body["webhook_url"].get<std::string>().starts_with("https://") ||
                         body["webhook_url"].get<std::string>().starts_with("http://127.0.0.1"));
    bool events_ok = body.is_object() && body.contains("events") && body["events"].is_array();
    if (events_ok) {
      for (const auto& event : body["events"]) {
        events_ok =
            events_ok && std::find(kAvailable.begin(), kAvailable.end(), event) != kAvailable.end();
      }
    }
    if (!url_ok || !events_ok) {
      answer = {400,
                "INVALID_REQUEST",
                {{"success", false},
                 {"message", "webhook_url must be an HTTPS URL and events known event names"},
                 {"code", "INVALID_REQUEST"}},
                {}};
    } else {
      unsigned char bytes[24];
      RAND_bytes(bytes, sizeof bytes);
      std::string secret = "whsec_";
      for (unsigned char byte : bytes) {
        static constexpr char kDigits[] = "0123456789abcdef";
        secret += kDigits[byte >> 4];
        secret += kDigits[byte & 0x0f];
      }
      std::lock_guard<std::mutex> lock(knobs_mu_);
      account->webhook_url = body["webhook_url"].get<std::string>();
      account->webhook_events = body["events"];
      account->webhook_secret = secret;
      answer = {200,
                "",
                {{"success", true},
                 {"message", "Webhook configured. Store the secret now: it is not shown again."},
                 {"data",
                  {{"webhook_url", account->webhook_url},
                   {"events", account->webhook_events},
                   {"secret", secret}}}},
                {}};
    }
  }
  answer.account = account;
  if (account != nullptr) record.account = account->name;
  WaitLatency();
  Finish(res, answer, std::move(record));
}

std::string FakeEsimflyApi::WebhookUrl(const std::string& account) const {
  const Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  return target.webhook_url;
}

std::string FakeEsimflyApi::WebhookSecret(const std::string& account) const {
  const Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  return target.webhook_secret;
}

void FakeEsimflyApi::SetRecentDeliveries(nlohmann::json deliveries, const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  target.recent_deliveries = std::move(deliveries);
}

void FakeEsimflyApi::SetWebhookSubscription(std::string url, nlohmann::json events,
                                            const std::string& account) {
  Account& target = AccountNamed(account);
  std::lock_guard<std::mutex> lock(knobs_mu_);
  target.webhook_url = std::move(url);
  target.webhook_events = std::move(events);
}

void FakeEsimflyApi::HandleUnknown(const httplib::Request& req, httplib::Response& res,
                                   int http_status, const std::string& code,
                                   const std::string& message) {
  RequestRecord record = NewRecord(req);
  WaitLatency();
  Finish(res, {http_status, code, {{"success", false}, {"message", message}, {"code", code}}, {}},
         std::move(record));
}

std::optional<FakeEsimflyApi::Answer> FakeEsimflyApi::Authenticate(const httplib::Request& req,
                                                                   const std::string& signed_body,
                                                                   bool require_json_content_type,
                                                                   Account*& account) {
  account = nullptr;
  // The vendor's authentication middleware answers with "error", not "message".
  auto auth_error = [](int http_status, const char* code, const char* text) {
    return Answer{http_status, code, {{"success", false}, {"error", text}, {"code", code}}, {}};
  };
  const std::string access_code = req.get_header_value("RT-AccessCode");
  const std::string request_id = req.get_header_value("RT-RequestID");
  const std::string timestamp = req.get_header_value("RT-Timestamp");
  const std::string signature = req.get_header_value("RT-Signature");

  // 1. All four headers.
  if (access_code.empty() || request_id.empty() || timestamp.empty() || signature.empty()) {
    return auth_error(401, "HMAC_REQUIRED",
                      "HMAC authentication required: send RT-AccessCode, RT-RequestID, "
                      "RT-Timestamp and RT-Signature");
  }
  // 2. A known access code: it names the account.
  account = AccountByCode(access_code);
  if (account == nullptr) return auth_error(401, "INVALID_API_KEY", "Invalid API key");
  const AccountFault account_fault = account->fault.load();
  if (account_fault == AccountFault::kRevoked) {
    return auth_error(401, "INVALID_API_KEY", "Invalid API key");
  }
  if (account_fault == AccountFault::kDown) {
    Answer down{503, "", Json(), {}};
    down.html =
        "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
        "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx"
        "</center>\r\n</body>\r\n</html>\r\n";
    return down;
  }
  // 3. A fresh timestamp in milliseconds.
  const std::optional<int64_t> ts = ParseMillis(timestamp);
  const int64_t max_age = options_.max_timestamp_age.count();
  if (!ts || *ts > NowMillis() + max_age || *ts < NowMillis() - max_age) {
    return auth_error(401, "INVALID_TIMESTAMP", "Invalid or expired timestamp");
  }
  // 4. A UUID v4 request id.
  if (!IsUuidV4(request_id)) {
    return auth_error(401, "INVALID_REQUEST_ID", "Invalid request ID: must be a UUID v4");
  }
  // 5. The signature over the exact bytes received, uppercase hex, compared in constant time.
  const std::string expected =
      ComputeSignature(account->secret_key, timestamp, request_id, access_code, signed_body);
  if (account_fault == AccountFault::kInvalidSignature || signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return auth_error(401, "INVALID_SIGNATURE", "Invalid signature");
  }

  std::lock_guard<std::mutex> lock(auth_mu_);
  // 6. No replay. An id is remembered until its timestamp leaves the acceptance window, after
  // which check 3 rejects a replay anyway; that bounds the memory.
  const auto now_wall = system_clock::now();
  while (!seen_ids_by_expiry_.empty() && seen_ids_by_expiry_.begin()->first < now_wall) {
    seen_ids_.erase(seen_ids_by_expiry_.begin()->second);
    seen_ids_by_expiry_.erase(seen_ids_by_expiry_.begin());
  }
  if (seen_ids_.count(request_id) != 0) {
    return auth_error(409, "DUPLICATE_REQUEST", "Duplicate request ID");
  }
  const auto expiry = system_clock::time_point(milliseconds(*ts)) + options_.max_timestamp_age;
  seen_ids_.emplace(request_id, expiry);
  seen_ids_by_expiry_.emplace(expiry, request_id);

  // 7. A JSON body.
  if (require_json_content_type &&
      MediaType(req.get_header_value("Content-Type")) != "application/json") {
    return Answer{415,
                  "UNSUPPORTED_MEDIA_TYPE",
                  {{"success", false},
                   {"message", "Content-Type must be application/json"},
                   {"code", "UNSUPPORTED_MEDIA_TYPE"}},
                  {}};
  }
  // 8. The rate limit: the account's own window, or its fault's exhausted budget.
  auto api_error = [](int http_status, const std::string& code, const std::string& message) {
    return Answer{
        http_status, code, {{"success", false}, {"message", message}, {"code", code}}, {}};
  };
  if (account_fault == AccountFault::kRateLimited) {
    const std::string retry_after = std::to_string(options_.fault_retry_after.count());
    Answer limited = api_error(429, "RATE_LIMIT_EXCEEDED",
                               "Rate limit exceeded. Try again in " + retry_after + " seconds.");
    limited.headers["Retry-After"] = retry_after;
    return limited;
  }
  if (auto limited = CheckRateLimit(*account)) return limited;
  if (account_fault == AccountFault::kProviderError) {
    return api_error(502, "PROVIDER_ERROR", "Failed to reach the eSIM provider");
  }
  return std::nullopt;
}

std::optional<FakeEsimflyApi::Answer> FakeEsimflyApi::CheckRateLimit(Account& account) {
  RateLimitState& rate = account.rate;
  if (rate.limit <= 0) return std::nullopt;
  const auto now = steady_clock::now();
  if (!rate.window_open || now >= rate.window_start + options_.rate_limit_window) {
    rate.window_open = true;
    rate.window_start = now;
    rate.window_end_wall = system_clock::now() + options_.rate_limit_window;
    rate.used = 0;
  }
  if (rate.used >= rate.limit) {
    const auto left = rate.window_start + options_.rate_limit_window - now;
    const int64_t retry_after =
        std::max<int64_t>(1, (duration_cast<milliseconds>(left).count() + 999) / 1000);
    return Answer{429,
                  "RATE_LIMIT_EXCEEDED",
                  {{"success", false},
                   {"message", "Rate limit exceeded. Try again in " + std::to_string(retry_after) +
                                   " seconds."},
                   {"code", "RATE_LIMIT_EXCEEDED"}},
                  {{"Retry-After", std::to_string(retry_after)}}};
  }
  ++rate.used;
  return std::nullopt;
}

FakeEsimflyApi::Answer FakeEsimflyApi::LookUp(const Json& body, const Account& account) const {
  auto error = [](int http_status, const std::string& code, const std::string& message) {
    return Answer{
        http_status, code, {{"success", false}, {"message", message}, {"code", code}}, {}};
  };
  // `iccid` when present (a non-empty string); `esimId` (an integer) only when iccid is absent.
  const auto iccid = body.find("iccid");
  const auto esim_id = body.find("esimId");
  const bool iccid_absent = iccid == body.end() || iccid->is_null() ||
                            (iccid->is_string() && iccid->get<std::string>().empty());
  std::optional<FakeEsim> found;
  {
    std::lock_guard<std::mutex> lock(fleet_mu_);
    if (!iccid_absent) {
      if (!iccid->is_string()) {
        return error(400, "MISSING_IDENTIFIER", "iccid must be a string");
      }
      auto it = account.esims_by_iccid.find(iccid->get<std::string>());
      if (it != account.esims_by_iccid.end()) found = it->second;
    } else if (esim_id != body.end() && esim_id->is_number_integer() &&
               esim_id->get<int64_t>() != 0) {
      auto by_id = account.iccid_by_id.find(esim_id->get<int64_t>());
      if (by_id != account.iccid_by_id.end()) {
        auto it = account.esims_by_iccid.find(by_id->second);
        if (it != account.esims_by_iccid.end()) found = it->second;
      }
    } else {
      return error(400, "MISSING_IDENTIFIER", "Either iccid or esimId is required");
    }
  }
  // A pending order has no eSIM yet.
  if (!found || found->pending) return error(404, "ESIM_NOT_FOUND", "eSIM not found");
  Answer answer = found->error_code.empty()
                      ? Answer{200,
                               "",
                               {{"success", true},
                                {"message", "Live eSIM status retrieved"},
                                {"data", std::move(found->status_data)}},
                               {}}
                      : error(HttpStatusForEsimError(found->error_code), found->error_code,
                              MessageForEsimError(found->error_code));
  answer.fault = found->fault;
  return answer;
}

const std::vector<const FakeEsim*>& FakeEsimflyApi::ListOrder(const Account& account) {
  if (account.list_order_stale) {
    account.list_order.clear();
    account.list_order.reserve(account.esims_by_iccid.size());
    for (const auto& entry : account.esims_by_iccid) account.list_order.push_back(&entry.second);
    std::sort(account.list_order.begin(), account.list_order.end(),
              [](const FakeEsim* a, const FakeEsim* b) {
                return std::tie(a->id, a->iccid) < std::tie(b->id, b->iccid);
              });
    account.list_order_stale = false;
  }
  return account.list_order;
}

FakeEsimflyApi::Answer FakeEsimflyApi::List(const httplib::Request& req,
                                            const Account& account) const {
  auto error = [](int http_status, const std::string& code, const std::string& message) {
    return Answer{
        http_status, code, {{"success", false}, {"message", message}, {"code", code}}, {}};
  };
  auto invalid = [&](const std::string& message) {
    return error(400, "INVALID_PARAMETER", message);
  };
  int page = 1;
  if (req.has_param("page")) {
    const auto value = ParseIntParam(req.get_param_value("page"), 1, 1000000000);
    if (!value) return invalid("page must be an integer of at least 1");
    page = *value;
  }
  int limit = 20;
  if (req.has_param("limit")) {
    const auto value = ParseIntParam(req.get_param_value("limit"), 1, 100);
    if (!value) return invalid("limit must be an integer from 1 to 100");
    limit = *value;
  }
  std::string status = "all";
  if (req.has_param("status")) {
    status = req.get_param_value("status");
    if (std::find(std::begin(kListStatuses), std::end(kListStatuses), status) ==
        std::end(kListStatuses)) {
      return invalid(
          "status must be one of all, NEW, ACTIVE, EXPIRED, CANCELLED, DEPLETED, DELETED");
    }
  }
  const std::string search = Lower(req.has_param("search") ? req.get_param_value("search") : "");
  {
    std::lock_guard<std::mutex> lock(knobs_mu_);
    if (account.list_fail_page > 0 && page == account.list_fail_page) {
      return error(502, "PROVIDER_ERROR", "Failed to retrieve eSIMs from provider");
    }
  }

  const auto now = system_clock::now();
  Json esims = Json::array();
  size_t total = 0;
  if (options_.list_invents_esims) {
    for (int i = 0; i < limit; ++i) esims.push_back(InventedListItem(invented_esims_++, now));
    total = static_cast<size_t>(page + 1) * static_cast<size_t>(limit);
  } else {
    std::lock_guard<std::mutex> lock(fleet_mu_);
    const size_t first = static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
    for (const FakeEsim* esim : ListOrder(account)) {
      if (!IsListed(*esim)) continue;
      if (status != "all" && ListedStatus(*esim) != status) continue;
      if (!search.empty() && (esim->pending || !ContainsIgnoringCase(esim->iccid, search)) &&
          !ContainsIgnoringCase(PackageName(*esim), search) &&
          !ContainsIgnoringCase(PackageCode(*esim), search)) {
        continue;
      }
      if (total >= first && total < first + static_cast<size_t>(limit)) {
        esims.push_back(ListItemJson(*esim, now));
        if (esim->iccid == options_.list_malformed_iccid) {
          esims.back()["data"]["used_mb"] = "512 MB";
        }
      }
      ++total;
    }
  }
  const size_t total_pages = (total + static_cast<size_t>(limit) - 1) / static_cast<size_t>(limit);
  Json pagination = {{"page", page}, {"limit", limit}, {"total", total}};
  if (!options_.list_total_pages_key.empty()) {
    pagination[options_.list_total_pages_key] = total_pages;
  }
  return Answer{200,
                "",
                {{"success", true},
                 {"data", {{"esims", std::move(esims)}, {"pagination", std::move(pagination)}}}},
                {}};
}

void FakeEsimflyApi::Finish(httplib::Response& res, const Answer& answer, RequestRecord record) {
  Compose(res, answer);
  record.http_status = answer.http_status;
  record.code = answer.code;
  Record(std::move(record));
}

void FakeEsimflyApi::Compose(httplib::Response& res, const Answer& answer) {
  res.status = answer.http_status;
  for (const auto& [name, value] : answer.headers) res.set_header(name, value);
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    const RateLimitState& rate =
        answer.account != nullptr ? answer.account->rate : accounts_.front()->rate;
    if (rate.limit > 0) {
      const auto now = steady_clock::now();
      const bool open = rate.window_open && now < rate.window_start + options_.rate_limit_window;
      const int remaining = open ? std::max(0, rate.limit - rate.used) : rate.limit;
      const auto end_wall =
          open ? rate.window_end_wall : system_clock::now() + options_.rate_limit_window;
      res.set_header("X-RateLimit-Limit", std::to_string(rate.limit));
      res.set_header("X-RateLimit-Remaining", std::to_string(remaining));
      if (options_.reset_header_iso8601) {
        res.set_header("X-RateLimit-Reset", FormatIso8601Millis(end_wall));
      } else {
        const int64_t end_ms = duration_cast<milliseconds>(end_wall.time_since_epoch()).count();
        res.set_header("X-RateLimit-Reset", std::to_string((end_ms + 999) / 1000));
      }
    }
  }
  if (!answer.html.empty()) {
    res.set_content(answer.html, "text/html");
  } else {
    res.set_content(answer.body.dump(), "application/json");
  }
}

void FakeEsimflyApi::Record(RequestRecord record) {
  record.answered_at = steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(records_mu_);
    ++request_count_;
    records_.push_back(record);
    if (options_.max_recorded_requests > 0 && records_.size() > options_.max_recorded_requests) {
      records_.pop_front();
    }
  }
  if (options_.on_request) options_.on_request(record);
}

void FakeEsimflyApi::WaitLatency() {
  milliseconds latency;
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    latency = latency_;
  }
  if (latency <= milliseconds(0)) return;
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait_for(lock, latency, [this] { return stopping_; });
}

bool FakeEsimflyApi::SetFault(const std::string& iccid, Fault fault) {
  {
    std::lock_guard<std::mutex> lock(fleet_mu_);
    FakeEsim* esim = nullptr;
    for (const auto& account : accounts_) {
      auto it = account->esims_by_iccid.find(iccid);
      if (it != account->esims_by_iccid.end()) esim = &it->second;
    }
    if (esim == nullptr) return false;
    esim->fault = fault;
  }
  // Under stop_mu_, so that a hanging handler cannot miss the change between its check and its
  // wait.
  { std::lock_guard<std::mutex> lock(stop_mu_); }
  stop_cv_.notify_all();
  return true;
}

size_t FakeEsimflyApi::HangingCount() const {
  std::lock_guard<std::mutex> lock(stop_mu_);
  return hanging_;
}

Fault FakeEsimflyApi::CurrentFault(const std::string& iccid) const {
  std::lock_guard<std::mutex> lock(fleet_mu_);
  for (const auto& account : accounts_) {
    auto it = account->esims_by_iccid.find(iccid);
    if (it != account->esims_by_iccid.end()) return it->second.fault;
  }
  return Fault::kNone;
}

void FakeEsimflyApi::InjectFault(const httplib::Request& req, httplib::Response& res,
                                 const Json& body, const Answer& looked_up, RequestRecord record) {
  record.fault = looked_up.fault;
  switch (looked_up.fault) {
    case Fault::kNone:
      Finish(res, looked_up, std::move(record));
      return;

    case Fault::kHang: {
      // The eSIM is known, so the identifier is in the record (esimId lookups: by id only).
      const std::string iccid = record.iccid;
      const int64_t esim_id = record.esim_id;
      Record(record);
      bool released = false;
      {
        std::unique_lock<std::mutex> lock(stop_mu_);
        ++hanging_;
        // Lock order: stop_mu_, then fleet_mu_ (CurrentFault); nothing takes them the other way.
        auto still_hanging = [&] {
          if (!iccid.empty()) return CurrentFault(iccid) == Fault::kHang;
          std::lock_guard<std::mutex> fleet_lock(fleet_mu_);
          const Account& account =
              looked_up.account != nullptr ? *looked_up.account : *accounts_.front();
          auto by_id = account.iccid_by_id.find(esim_id);
          if (by_id == account.iccid_by_id.end()) return false;
          auto it = account.esims_by_iccid.find(by_id->second);
          return it != account.esims_by_iccid.end() && it->second.fault == Fault::kHang;
        };
        stop_cv_.wait(lock, [&] { return stopping_ || !still_hanging(); });
        released = !stopping_;
        --hanging_;
      }
      if (released) {
        Answer answer =
            LookUp(body, looked_up.account != nullptr ? *looked_up.account : *accounts_.front());
        answer.account = looked_up.account;
        answer.fault = Fault::kNone;
        Compose(res, answer);
      } else {
        // Stopping: drop the connection rather than answer late.
        ResetConnection(req);
        res.status = 503;
      }
      return;
    }

    case Fault::kHugeBody: {
      Json tail = {{"success", true}, {"message", "Live eSIM status retrieved"}};
      if (looked_up.body.contains("data")) tail["data"] = looked_up.body["data"];
      const std::string prefix = "{\"padding\":\"";
      std::string suffix = tail.dump();
      suffix[0] = ',';  // "{..." -> ",...": the rest of the object after the padding
      suffix.insert(0, "\"");
      const size_t total = std::max(options_.huge_body_bytes, prefix.size() + suffix.size());
      res.status = 200;
      res.set_content_provider(
          total, "application/json",
          [prefix, suffix, total](size_t offset, size_t length, httplib::DataSink& sink) {
            constexpr size_t kPiece = 64 * 1024;
            std::string piece;
            piece.reserve(std::min(length, kPiece));
            for (size_t at = offset; at < offset + length && piece.size() < kPiece; ++at) {
              if (at < prefix.size()) {
                piece.push_back(prefix[at]);
              } else if (at >= total - suffix.size()) {
                piece.push_back(suffix[at - (total - suffix.size())]);
              } else {
                piece.push_back('x');
              }
            }
            return sink.write(piece.data(), piece.size());
          });
      record.http_status = 200;
      Record(std::move(record));
      return;
    }

    case Fault::kRateLimitedRetryAfter: {
      const std::string retry_after = std::to_string(options_.fault_retry_after.count());
      Answer limited{429,
                     "RATE_LIMIT_EXCEEDED",
                     {{"success", false},
                      {"message", "Rate limit exceeded. Try again in " + retry_after + " seconds."},
                      {"code", "RATE_LIMIT_EXCEEDED"}},
                     {{"Retry-After", retry_after}}};
      limited.account = looked_up.account;
      Finish(res, limited, std::move(record));
      return;
    }

    case Fault::kRateLimitedBare:
      res.status = 429;
      res.set_content("Too Many Requests", "text/plain");
      record.http_status = 429;
      Record(std::move(record));
      return;

    case Fault::kServerError:
      res.status = 500;
      res.set_content(
          "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
          "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
          "</body>\r\n</html>\r\n",
          "text/html");
      record.http_status = 500;
      Record(std::move(record));
      return;

    case Fault::kConnectionReset:
      if (tls()) IgnoreSigpipeIfDefault();
      Record(record);
      ResetConnection(req);
      // httplib's answer goes to a dead socket and fails; the connection is then closed.
      res.status = 500;
      return;

    case Fault::kGarbage:
      res.status = 200;
      res.set_content(
          "<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>"
          "{\"success\":tru\x01\xff",
          "application/json");
      record.http_status = 200;
      Record(std::move(record));
      return;

    case Fault::kWrongTypes: {
      Answer answer = looked_up;
      if (answer.http_status == 200) answer.body["data"] = WithWrongTypes(answer.body["data"]);
      Finish(res, answer, std::move(record));
      return;
    }
  }
}

}  // namespace fake_esimfly
