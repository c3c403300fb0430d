#include "fleet.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace fake_esimfly {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Json = nlohmann::json;
using TimePoint = std::chrono::system_clock::time_point;

Json Date(TimePoint t) { return FormatIso8601Millis(t); }

// The network the eSIM last connected to; all fields null before it ever connected.
struct Network {
  const char* op;
  const char* mcc;
  const char* mnc;
  const char* country;
  const char* iso2;
  const char* connection_type;
};

Json NetworkJson(const Network* n) {
  if (n == nullptr) {
    return {{"operator", nullptr}, {"mcc", nullptr},          {"mnc", nullptr},
            {"country", nullptr},  {"country_iso2", nullptr}, {"connection_type", nullptr}};
  }
  return {{"operator", n->op},       {"mcc", n->mcc},
          {"mnc", n->mnc},           {"country", n->country},
          {"country_iso2", n->iso2}, {"connection_type", n->connection_type}};
}

Json DeviceJson(const char* model, const char* imei) {
  Json model_json = model == nullptr ? Json(nullptr) : Json(model);
  Json imei_json = imei == nullptr ? Json(nullptr) : Json(imei);
  return {{"model", model_json}, {"imei", imei_json}};
}

// One `data` object with the spec's field order and types. `total_gb` null for unlimited plans.
Json Status(const std::string& iccid, const char* status, const char* esim_status,
            const char* smdp_status, Json profile, bool unlimited, Json last_network, Json device,
            Json activation, Json last_usage, Json expiry, Json used_gb, Json total_gb) {
  return {{"iccid", iccid},
          {"status", status},
          {"esim_status", esim_status},
          {"smdp_status", smdp_status},
          {"profile", std::move(profile)},
          {"unlimited", unlimited},
          {"last_network", std::move(last_network)},
          {"device", std::move(device)},
          {"activation_date", std::move(activation)},
          {"last_usage_date", std::move(last_usage)},
          {"expiry_date", std::move(expiry)},
          {"data_usage",
           {{"used_gb", std::move(used_gb)},
            {"total_gb", std::move(total_gb)},
            {"unlimited", unlimited}}}};
}

constexpr Network kOptusAu{"Optus", "505", "2", "Australia", "AU", "4G - LTE"};
constexpr Network kVodafoneUk{"Vodafone UK", "234", "15", "United Kingdom", "GB", "4G - LTE"};
constexpr Network kMovistarEs{"Movistar", "214", "07", "Spain", "ES", "4G - LTE"};
constexpr Network kVerizonUs{"Verizon", "311", "480", "United States", "US", "4G - LTE"};
constexpr Network kTeliaSe{"Telia", "240", "01", "Sweden", "SE", "4G - LTE"};
constexpr Network kTelekomDe{"Telekom.de", "262", "01", "Germany", "DE", "4G - LTE"};
constexpr Network kOrangeFr{"Orange F", "208", "01", "France", "FR", "3G"};
constexpr Network kAisTh{"AIS", "520", "03", "Thailand", "TH", "4G - LTE"};
constexpr Network kSktKr{"SK Telecom", "450", "05", "South Korea", "KR", "5G"};
constexpr Network kDocomoJp{"NTT DOCOMO", "440", "10", "Japan", "JP", "5G"};

}  // namespace

std::string FormatIso8601Millis(TimePoint t) {
  const auto since_epoch = t.time_since_epoch();
  auto secs = std::chrono::floor<seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return buf;
}

bool IsLuhnValid(const std::string& digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

std::string AppendLuhnCheckDigit(const std::string& digits) {
  for (char c = '0'; c <= '9'; ++c) {
    std::string candidate = digits + c;
    if (IsLuhnValid(candidate)) return candidate;
  }
  throw std::invalid_argument("not a digit string: " + digits);
}

std::vector<FakeEsim> DefaultFleet(TimePoint now) {
  // Whole milliseconds, as the vendor's dates have.
  now = std::chrono::floor<std::chrono::milliseconds>(now);
  std::vector<FakeEsim> fleet;

  // Shape 1: the spec's example record (ACTIVE, 4G - LTE Optus AU, device GTF7P, used 0 of 1 GB,
  // integer JSON numbers), dates moved so that it was activated 10 days ago and expires in 20.
  {
    const TimePoint activated = now - days(10);
    fleet.push_back(
        {kSpecExampleIccid, 1001,
         Status(kSpecExampleIccid, "ACTIVE", "Active", "AFFECTED", "Enabled", false,
                NetworkJson(&kOptusAu), DeviceJson("GTF7P", "350000000000000"), Date(activated),
                Date(activated + seconds(41)), Date(activated + days(30)), 0, 1),
         ""});
  }

  // Shape 2: an unlimited plan (unlimited true, total_gb null, data_usage.unlimited true),
  // ACTIVE, 12.37 GB used, expires in 15 days.
  fleet.push_back(
      {kUnlimitedIccid, 1002,
       Status(kUnlimitedIccid, "ACTIVE", "Active", "ENABLED", "Enabled", true,
              NetworkJson(&kVodafoneUk), DeviceJson("iPhone15,2", "356938035643809"),
              Date(now - days(15)), Date(now - minutes(7)), Date(now + days(15)), 12.37, nullptr),
       ""});

  // Shape 3: DEPLETED: used_gb == total_gb == 3, still within validity.
  fleet.push_back({kDepletedIccid, 1003,
                   Status(kDepletedIccid, "DEPLETED", "Active", "ENABLED", "Enabled", false,
                          NetworkJson(&kMovistarEs), DeviceJson("SM-S911B", "352099001761481"),
                          Date(now - days(6)), Date(now - hours(5)), Date(now + days(24)), 3, 3),
                   ""});

  // Shape 4: EXPIRED: expiry_date 5 days in the past, 1.2 of 5 GB used.
  fleet.push_back({kExpiredIccid, 1004,
                   Status(kExpiredIccid, "EXPIRED", "Not Active", "DISABLED", "Disabled", false,
                          NetworkJson(&kVerizonUs), DeviceJson("Pixel 8", "357541000123459"),
                          Date(now - days(35)), Date(now - days(6)), Date(now - days(5)), 1.2, 5),
                   ""});

  // Shape 5: NEW, never connected: last_network and device fields all null, no activation, last
  // usage or expiry, profile null, used 0 of 5 GB.
  fleet.push_back({kNewIccid, 1005,
                   Status(kNewIccid, "NEW", "New", "RELEASED", nullptr, false, NetworkJson(nullptr),
                          DeviceJson(nullptr, nullptr), nullptr, nullptr, nullptr, 0, 5),
                   ""});

  // Shape 6: the one the tests look up by esimId 12345: ACTIVE, fractional values (0.5 of 2 GB).
  fleet.push_back({kByIdIccid, kByIdEsimId,
                   Status(kByIdIccid, "ACTIVE", "Installed", "ENABLED", "Enabled", false,
                          NetworkJson(&kTeliaSe), DeviceJson("iPad13,1", "353328111234563"),
                          Date(now - days(2)), Date(now - hours(1)), Date(now + days(5)), 0.5, 2.0),
                   ""});

  // Shape 7: error_code FORBIDDEN (the eSIM belongs to another account): answers 403.
  fleet.push_back(
      {kForbiddenIccid, 1007,
       Status(kForbiddenIccid, "ACTIVE", "Active", "ENABLED", "Enabled", false,
              NetworkJson(&kTelekomDe), DeviceJson("SM-A546B", "351234560000017"),
              Date(now - days(3)), Date(now - hours(2)), Date(now + days(27)), 0.25, 10),
       "FORBIDDEN"});

  // Shape 8: error_code PROVIDER_ERROR (the carrier cannot be reached): answers 502.
  fleet.push_back({kProviderErrorIccid, 1008,
                   Status(kProviderErrorIccid, "ACTIVE", "Active", "ENABLED", "Enabled", false,
                          NetworkJson(&kOrangeFr), DeviceJson("moto g54", "359876540000026"),
                          Date(now - days(4)), Date(now - hours(3)), Date(now + days(10)), 0.75, 3),
                   "PROVIDER_ERROR"});

  // Shape 9: for alert tests: ACTIVE at 85 % usage (8.5 of 10 GB), expiring in 3 days.
  fleet.push_back(
      {kAlertingIccid, 1009,
       Status(kAlertingIccid, "ACTIVE", "Active", "ENABLED", "Enabled", false, NetworkJson(&kAisTh),
              DeviceJson("iPhone14,5", "354445123456780"), Date(now - days(27)),
              Date(now - minutes(30)), Date(now + days(3)), 8.5, 10),
       ""});

  // Shape 10: ACTIVE and healthy: 10 % usage (2 of 20 GB), expiring in 60 days, 5G, used 2 minutes
  // ago.
  fleet.push_back(
      {kHealthy5gIccid, 1010,
       Status(kHealthy5gIccid, "ACTIVE", "Active", "ENABLED", "Enabled", false,
              NetworkJson(&kSktKr), DeviceJson("SM-S928N", "350123451234567"), Date(now - days(30)),
              Date(now - minutes(2)), Date(now + days(60)), 2, 20),
       ""});

  // Shape 11: CANCELLED before it was ever installed: no network, device or dates, 0 of 3 GB.
  fleet.push_back(
      {kCancelledIccid, 1011,
       Status(kCancelledIccid, "CANCELLED", "Cancelled", "RELEASED", nullptr, false,
              NetworkJson(nullptr), DeviceJson(nullptr, nullptr), nullptr, nullptr, nullptr, 0, 3),
       ""});

  // Shape 12: DELETED after its plan ran out: activated 100 days ago, expired 70 days ago.
  fleet.push_back(
      {kDeletedIccid, 1012,
       Status(kDeletedIccid, "DELETED", "Deleted", "DELETED", "Deleted", false,
              NetworkJson(&kTeliaSe), DeviceJson("Pixel 7", "358240051111110"),
              Date(now - days(100)), Date(now - days(71)), Date(now - days(70)), 0.8, 1),
       ""});

  // Shape 13: retired long ago: EXPIRED 60 days ago (2 of 5 GB used), never used since.
  fleet.push_back({kRetiredIccid, 1013,
                   Status(kRetiredIccid, "EXPIRED", "Not Active", "DISABLED", "Disabled", false,
                          NetworkJson(&kAisTh), DeviceJson("iPhone13,2", "353000000000017"),
                          Date(now - days(90)), Date(now - days(61)), Date(now - days(60)), 2, 5),
                   ""});

  // Shapes 14 and 15: orders still being provisioned (pending): listed with is_pending true and
  // no ICCID, data or validity; unknown to the status endpoint.
  for (int i = 0; i < 2; ++i) {
    FakeEsim order{
        kPendingIccids[i], kPendingIds[i],
        Status(kPendingIccids[i], "NEW", "New", "RELEASED", nullptr, false, NetworkJson(nullptr),
               DeviceJson(nullptr, nullptr), nullptr, nullptr, nullptr, 0, i == 0 ? 3 : 1),
        ""};
    order.pending = true;
    order.created_at = FormatIso8601Millis(now - minutes(5 + 10 * i));
    fleet.push_back(std::move(order));
  }

  // Packages for the list endpoint: realistic names and codes (two regional plans, Europe and
  // Asia), validity days as the dates above give them.
  struct Package {
    const char* iccid;
    const char* name;
    const char* code;
    std::vector<std::string> countries;
  };
  const std::vector<Package> packages = {
      {kSpecExampleIccid, "Australia 1GB - 30 Days", "australia-30days-1gb", {"Australia"}},
      {kUnlimitedIccid,
       "United Kingdom Unlimited - 30 Days",
       "united-kingdom-30days-unlimited",
       {"United Kingdom"}},
      {kDepletedIccid,
       "Europe 3GB - 30 Days",
       "europe-30days-3gb",
       {"Spain", "France", "Germany", "Italy", "Portugal"}},
      {kExpiredIccid, "United States 5GB - 30 Days", "united-states-30days-5gb", {"United States"}},
      {kNewIccid, "Japan 5GB - 30 Days", "japan-30days-5gb", {"Japan"}},
      {kByIdIccid, "Sweden 2GB - 7 Days", "sweden-7days-2gb", {"Sweden"}},
      {kForbiddenIccid, "Germany 10GB - 30 Days", "germany-30days-10gb", {"Germany"}},
      {kProviderErrorIccid, "France 3GB - 14 Days", "france-14days-3gb", {"France"}},
      {kAlertingIccid,
       "Asia 10GB - 30 Days",
       "asia-30days-10gb",
       {"Thailand", "Malaysia", "Singapore", "Vietnam"}},
      {kHealthy5gIccid, "South Korea 20GB - 90 Days", "south-korea-90days-20gb", {"South Korea"}},
      {kCancelledIccid, "Italy 3GB - 15 Days", "italy-15days-3gb", {"Italy"}},
      {kDeletedIccid, "Portugal 1GB - 30 Days", "portugal-30days-1gb", {"Portugal"}},
      {kRetiredIccid, "Thailand 5GB - 30 Days", "thailand-30days-5gb", {"Thailand"}},
      {kPendingIccids[0], "Vietnam 3GB - 7 Days", "vietnam-7days-3gb", {"Vietnam"}},
      {kPendingIccids[1], "Singapore 1GB - 7 Days", "singapore-7days-1gb", {"Singapore"}},
  };
  for (FakeEsim& esim : fleet) {
    for (const Package& p : packages) {
      if (esim.iccid != p.iccid) continue;
      esim.package_name = p.name;
      esim.package_code = p.code;
      esim.countries = p.countries;
    }
    // The NEW eSIM was ordered two days ago (the others' created_at is their activation date).
    if (esim.iccid == kNewIccid) esim.created_at = FormatIso8601Millis(now - days(2));
  }

  return fleet;
}

std::vector<FakeEsim> GenerateFleet(size_t count, TimePoint now, size_t first_index) {
  now = std::chrono::floor<std::chrono::milliseconds>(now);
  static constexpr std::array<const Network*, 10> kNetworks = {
      &kOptusAu,   &kVodafoneUk, &kMovistarEs, &kVerizonUs, &kTeliaSe,
      &kTelekomDe, &kOrangeFr,   &kAisTh,      &kSktKr,     &kDocomoJp};
  static constexpr std::array<int, 6> kPlansGb = {1, 3, 5, 10, 20, 50};
  if (count > 100000000000ULL || first_index > 100000000000ULL - count) {
    throw std::invalid_argument("fleet too large");
  }
  std::vector<FakeEsim> fleet;
  fleet.reserve(count);
  for (size_t i = first_index; i < first_index + count; ++i) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "8988303%011llu",
                  static_cast<unsigned long long>(i % 100000000000ULL));
    const std::string iccid = AppendLuhnCheckDigit(digits);
    const int64_t id = 100000 + static_cast<int64_t>(i);
    // A cheap deterministic scramble so neighbours differ.
    const uint64_t h = (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ULL;
    const Network* network = kNetworks[(h >> 7) % kNetworks.size()];
    const int total = kPlansGb[(h >> 17) % kPlansGb.size()];
    const int bucket = static_cast<int>(i % 20);  // 0: NEW, 1: DEPLETED, 2: EXPIRED, else ACTIVE
    const double fraction = static_cast<double>((h >> 29) % 1000) / 1000.0;  // 0 .. 0.999
    const std::string imei = AppendLuhnCheckDigit("35" + iccid.substr(6, 12));
    const TimePoint activated = now - days(1 + static_cast<int>((h >> 37) % 25));
    const TimePoint last_used = now - seconds(30 + static_cast<int>((h >> 41) % 7200));
    const double used = static_cast<int>(fraction * 0.95 * total * 100) / 100.0;
    Json data;
    if (bucket == 0) {
      data = Status(iccid, "NEW", "New", "RELEASED", nullptr, false, NetworkJson(nullptr),
                    DeviceJson(nullptr, nullptr), nullptr, nullptr, nullptr, 0, total);
    } else if (bucket == 1) {
      data = Status(iccid, "DEPLETED", "Active", "ENABLED", "Enabled", false, NetworkJson(network),
                    DeviceJson("SM-S911B", imei.c_str()), Date(activated), Date(last_used),
                    Date(activated + days(30)), total, total);
    } else if (bucket == 2) {
      data = Status(iccid, "EXPIRED", "Not Active", "DISABLED", "Disabled", false,
                    NetworkJson(network), DeviceJson("Pixel 8", imei.c_str()), Date(now - days(40)),
                    Date(now - days(12)), Date(now - days(10)), used, total);
    } else if (bucket % 10 == 3) {
      data = Status(iccid, "ACTIVE", "Active", "ENABLED", "Enabled", true, NetworkJson(network),
                    DeviceJson("iPhone15,2", imei.c_str()), Date(activated), Date(last_used),
                    Date(activated + days(30)), static_cast<int>(fraction * 4000) / 100.0, nullptr);
    } else {
      data = Status(iccid, "ACTIVE", "Active", "ENABLED", "Enabled", false, NetworkJson(network),
                    DeviceJson("iPhone14,5", imei.c_str()), Date(activated), Date(last_used),
                    Date(activated + days(30)), used, total);
    }
    FakeEsim esim{iccid, id, std::move(data), ""};
    std::string slug;
    for (const char* c = network->country; *c != '\0'; ++c) {
      slug += *c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
    }
    const bool unlimited = esim.status_data["unlimited"] == true;
    const std::string plan = unlimited ? "Unlimited" : std::to_string(total) + "GB";
    esim.package_name = std::string(network->country) + " " + plan + " - 30 Days";
    esim.package_code =
        slug + "-30days-" + (unlimited ? "unlimited" : std::to_string(total) + "gb");
    esim.countries = {network->country};
    if (bucket == 0) esim.created_at = FormatIso8601Millis(activated);  // ordered, not activated
    fleet.push_back(std::move(esim));
  }
  return fleet;
}

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kHang:
      return "hang";
    case Fault::kHugeBody:
      return "huge_body";
    case Fault::kRateLimitedRetryAfter:
      return "429_retry_after";
    case Fault::kRateLimitedBare:
      return "429_bare";
    case Fault::kServerError:
      return "500";
    case Fault::kConnectionReset:
      return "connection_reset";
    case Fault::kGarbage:
      return "garbage";
    case Fault::kWrongTypes:
      return "wrong_types";
  }
  return "none";
}

Fault ParseFault(const std::string& name) {
  for (Fault fault : {Fault::kNone, Fault::kHang, Fault::kHugeBody, Fault::kRateLimitedRetryAfter,
                      Fault::kRateLimitedBare, Fault::kServerError, Fault::kConnectionReset,
                      Fault::kGarbage, Fault::kWrongTypes}) {
    if (name == FaultName(fault)) return fault;
  }
  throw std::invalid_argument("unknown fault: " + name);
}

std::vector<FakeEsim> FleetFromJson(const Json& json) {
  if (!json.is_array()) throw std::runtime_error("a fleet must be a JSON array of eSIMs");
  std::vector<FakeEsim> fleet;
  std::set<std::string> iccids;
  std::set<int64_t> ids;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& e = json[i];
    const std::string where = "fleet entry " + std::to_string(i);
    if (!e.is_object()) throw std::runtime_error(where + ": not an object");
    for (const auto& [key, value] : e.items()) {
      if (key != "iccid" && key != "id" && key != "status_data" && key != "error_code" &&
          key != "package_name" && key != "package_code" && key != "countries" &&
          key != "created_at" && key != "listed_overrides" && key != "fault" && key != "pending") {
        throw std::runtime_error(where + ": unknown key \"" + key + "\"");
      }
    }
    FakeEsim esim;
    if (!e.contains("iccid") || !e["iccid"].is_string() || e["iccid"].get<std::string>().empty()) {
      throw std::runtime_error(where + ": \"iccid\" must be a non-empty string");
    }
    esim.iccid = e["iccid"].get<std::string>();
    if (!e.contains("id") || !e["id"].is_number_integer()) {
      throw std::runtime_error(where + " (" + esim.iccid + "): \"id\" must be an integer");
    }
    esim.id = e["id"].get<int64_t>();
    if (!e.contains("status_data") || !e["status_data"].is_object()) {
      throw std::runtime_error(where + " (" + esim.iccid + "): \"status_data\" must be an object");
    }
    esim.status_data = e["status_data"];
    if (e.contains("error_code") && !e["error_code"].is_null()) {
      if (!e["error_code"].is_string()) {
        throw std::runtime_error(where + " (" + esim.iccid + "): \"error_code\" must be a string");
      }
      esim.error_code = e["error_code"].get<std::string>();
    }
    for (const char* key : {"package_name", "package_code", "created_at"}) {
      if (!e.contains(key) || e[key].is_null()) continue;
      if (!e[key].is_string()) {
        throw std::runtime_error(where + " (" + esim.iccid + "): \"" + key + "\" must be a string");
      }
      const std::string value = e[key].get<std::string>();
      if (std::string(key) == "package_name") esim.package_name = value;
      if (std::string(key) == "package_code") esim.package_code = value;
      if (std::string(key) == "created_at") esim.created_at = value;
    }
    if (e.contains("countries") && !e["countries"].is_null()) {
      const Json& countries = e["countries"];
      bool ok = countries.is_array();
      for (size_t c = 0; ok && c < countries.size(); ++c) ok = countries[c].is_string();
      if (!ok) {
        throw std::runtime_error(where + " (" + esim.iccid +
                                 "): \"countries\" must be an array of strings");
      }
      esim.countries = countries.get<std::vector<std::string>>();
    }
    if (e.contains("listed_overrides") && !e["listed_overrides"].is_null()) {
      if (!e["listed_overrides"].is_object()) {
        throw std::runtime_error(where + " (" + esim.iccid +
                                 "): \"listed_overrides\" must be an object");
      }
      esim.listed_overrides = e["listed_overrides"];
    }
    if (e.contains("fault") && !e["fault"].is_null()) {
      try {
        if (!e["fault"].is_string()) throw std::invalid_argument("not a string");
        esim.fault = ParseFault(e["fault"].get<std::string>());
      } catch (const std::invalid_argument&) {
        throw std::runtime_error(where + " (" + esim.iccid +
                                 "): \"fault\" must be one of none, hang, huge_body, "
                                 "429_retry_after, 429_bare, 500, connection_reset, garbage, "
                                 "wrong_types");
      }
    }
    if (e.contains("pending") && !e["pending"].is_null()) {
      if (!e["pending"].is_boolean()) {
        throw std::runtime_error(where + " (" + esim.iccid + "): \"pending\" must be a boolean");
      }
      esim.pending = e["pending"].get<bool>();
    }
    if (!iccids.insert(esim.iccid).second) {
      throw std::runtime_error(where + ": duplicate iccid " + esim.iccid);
    }
    if (!ids.insert(esim.id).second) {
      throw std::runtime_error(where + ": duplicate id " + std::to_string(esim.id));
    }
    fleet.push_back(std::move(esim));
  }
  return fleet;
}

std::vector<FakeEsim> LoadFleetFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  Json json;
  try {
    json = Json::parse(buffer.str());
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(path + ": invalid JSON: " + e.what());
  }
  try {
    return FleetFromJson(json);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

Json FleetToJson(const std::vector<FakeEsim>& fleet) {
  Json out = Json::array();
  for (const FakeEsim& e : fleet) {
    Json entry = {{"iccid", e.iccid},
                  {"id", e.id},
                  {"status_data", e.status_data},
                  {"error_code", e.error_code}};
    if (!e.package_name.empty()) entry["package_name"] = e.package_name;
    if (!e.package_code.empty()) entry["package_code"] = e.package_code;
    if (!e.countries.empty()) entry["countries"] = e.countries;
    if (!e.created_at.empty()) entry["created_at"] = e.created_at;
    if (!e.listed_overrides.is_null()) entry["listed_overrides"] = e.listed_overrides;
    if (e.fault != Fault::kNone) entry["fault"] = FaultName(e.fault);
    if (e.pending) entry["pending"] = true;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace fake_esimfly
