// One eSIM's live status as the API reported it (esimfly-status-api.md, "Success: 200").
// Plain value type; optionals where the API sends null or may omit a field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace esim {

struct NetworkInfo {
  std::optional<std::string> operator_name, mcc, mnc, country, country_iso2, connection_type;
  // The API sends an object of nulls until the eSIM has connected.
  bool HasAny() const {
    return operator_name || mcc || mnc || country || country_iso2 || connection_type;
  }
  bool operator==(const NetworkInfo&) const = default;
};

struct DeviceInfo {
  std::optional<std::string> model, imei;  // IMEI is personal data
  bool HasAny() const { return model || imei; }
  bool operator==(const DeviceInfo&) const = default;
};

struct EsimStatus {
  std::string iccid;
  std::string status;  // lifecycle: NEW, ACTIVE, EXPIRED, DEPLETED, or undocumented ones
  std::optional<std::string> esim_status, smdp_status, profile;
  bool unlimited = false;
  NetworkInfo last_network;
  DeviceInfo device;
  // Unix seconds (with milliseconds as the fraction); absent while the API sends null.
  std::optional<double> activation_time, last_usage_time, expiry_time;
  double used_bytes = 0;              // used_gb * 1024^3
  std::optional<double> total_bytes;  // total_gb * 1024^3; absent for unlimited plans
  bool operator==(const EsimStatus&) const = default;
};

// One eSIM of the bulk list (esimfly-inventory-api.md): stored data, fresh as of the vendor's last
// sync. The installation secrets of the listing (QR code, activation code, install URLs) are
// never read into it.
struct ListedEsim {
  int64_t id = 0;
  std::string iccid;
  std::string package_name, package_code;
  std::vector<std::string> countries;
  std::string status;
  bool unlimited = false;
  double used_bytes = 0;              // used_mb * 1024^2
  std::optional<double> total_bytes;  // total_mb * 1024^2; absent for unlimited plans
  std::optional<double> activation_time, expiry_time;
  bool operator==(const ListedEsim&) const = default;
};

struct EsimListPage {
  std::vector<ListedEsim> esims;
  int64_t page = 1, total_pages = 1, total = 0;
};

struct AccountBalance {
  double amount = 0;
  std::string currency;
};

}  // namespace esim
