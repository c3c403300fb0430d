// One eSIM's live status as the API reported it (esimfly-status-api.md, "Success: 200").
// Plain value type; optionals where the API sends null or may omit a field.
#pragma once

#include <optional>
#include <string>

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

}  // namespace esim
