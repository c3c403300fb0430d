// One eSIM's live status as the API reported it (docs/esimfly-api.md, "Live status").
// Plain value type; optionals where the API sends null or may omit a field.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pooled_text.h"

namespace esim {

// The documented lifecycle statuses (docs/esimfly-api.md, "Statuses"), in the order
// esim_status{status} lists them.
inline constexpr std::array<std::string_view, 6> kLifecycleStatuses = {
    "NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"};

// The texts of a status are pooled (PooledText): a fleet repeats the same few operators,
// countries, models and states, and a record is copied on every poll.
struct NetworkInfo {
  PooledText operator_name, mcc, mnc, country, country_iso2, connection_type;
  // The API sends an object of nulls until the eSIM has connected.
  bool HasAny() const {
    return operator_name || mcc || mnc || country || country_iso2 || connection_type;
  }
  bool operator==(const NetworkInfo&) const = default;
};

struct DeviceInfo {
  PooledText model, imei;  // IMEI is personal data
  bool HasAny() const { return model || imei; }
  bool operator==(const DeviceInfo&) const = default;
};

struct EsimStatus {
  std::string iccid;
  std::string status;  // lifecycle: one of kLifecycleStatuses, or an undocumented one
  PooledText esim_status, smdp_status, profile;
  bool unlimited = false;
  NetworkInfo last_network;
  DeviceInfo device;
  // Unix seconds (with milliseconds as the fraction); absent while the API sends null.
  std::optional<double> activation_time, last_usage_time, expiry_time;
  double used_bytes = 0;              // used_gb * 1024^3
  std::optional<double> total_bytes;  // total_gb * 1024^3; absent for unlimited plans
  bool operator==(const EsimStatus&) const = default;
};

// One eSIM of the bulk list (docs/esimfly-api.md, "eSIM list"): stored data, fresh as of the
// vendor's last sync. The installation secrets of the listing (QR code, activation code,
// install URLs) are never read into it.
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

// Why a list entry was left out of a page (esim_inventory_skipped_entries_total{reason}).
struct SkippedEntries {
  int64_t pending = 0;    // orders still being provisioned: is_pending, or no ICCID or data yet
  int64_t malformed = 0;  // entries that do not parse
  std::string first_malformed;  // what was wrong with the first malformed one (a field, no value)
};

struct EsimListPage {
  std::vector<ListedEsim> esims;  // the complete entries; the others are counted in `skipped`
  SkippedEntries skipped;
  int64_t page = 1, total = 0;
  // pagination.total_pages (or totalPages), else derived from total and pagination.limit;
  // nullopt when the page says neither (the caller derives it from the limit it asked for).
  std::optional<int64_t> total_pages;
};

struct AccountBalance {
  double amount = 0;
  std::string currency;
};

}  // namespace esim
