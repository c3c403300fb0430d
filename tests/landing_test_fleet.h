// A deterministic fleet of hand-built records for the landing page tests: every lifecycle status,
// limited and unlimited plans, known and unknown expiry, live polls that succeed, fail or have
// not run, config labels. Header only; used by landing_rows_test.cc and landing_page_test.cc.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "state_store.h"

namespace esim::testing {

inline constexpr double kFleetNow = 1'780'000'000;  // 2026-05-28
inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
inline constexpr const char* kFleetStatuses[] = {"ACTIVE",   "ACTIVE",    "ACTIVE", "NEW",
                                                 "DEPLETED", "EXPIRED",   "ACTIVE", "CANCELLED",
                                                 "DELETED",  "SUSPENDED", "ACTIVE", "ACTIVE"};
inline constexpr const char* kFleetSites[] = {"syd", "par", "sto", "sel"};

// Record i of the fleet:
//   name "esim-<i, 4 digits>", ICCID "89883030000000<i, 5 digits>", eSIM id 100000 + i,
//   status kFleetStatuses[i % 12]; no status at all when i % 50 == 49 (never observed);
//   total 5 GiB, unlimited when i % 10 == 7; used (i % 101) / 100 of 5 GiB;
//   expiry now + ((i * 7919) % 4001 - 1000) hours, none when i % 13 == 0;
//   live poll: not yet when i % 17 == 0, failing (PROVIDER_ERROR) when i % 9 == 0, else OK;
//   labels site=kFleetSites[i % 4], fleet=f<i % 3>.
inline std::shared_ptr<EsimRecord> FleetRecord(int i) {
  auto record = std::make_shared<EsimRecord>();
  char text[32];
  std::snprintf(text, sizeof text, "esim-%04d", i);
  record->config.name = text;
  std::snprintf(text, sizeof text, "89883030000000%05d", i);
  record->config.iccid = text;
  record->listed_id = 100000 + i;
  record->config.labels = {{"site", kFleetSites[i % 4]}, {"fleet", "f" + std::to_string(i % 3)}};
  if (i % 50 != 49) {
    EsimStatus status;
    status.iccid = record->config.iccid;
    status.status = kFleetStatuses[i % 12];
    if (i % 10 != 7) status.total_bytes = 5 * kGiB;
    status.unlimited = !status.total_bytes;
    status.used_bytes = 5 * kGiB * (i % 101) / 100.0;
    if (i % 13 != 0) status.expiry_time = kFleetNow + ((i * 7919) % 4001 - 1000) * 3600.0;
    status.last_usage_time = kFleetNow - 3600;
    record->status = status;
    record->last_listed_time = kFleetNow - 600;
    record->last_list_ok = true;
    record->last_success_time = kFleetNow - 600;
  }
  record->polled = true;
  record->last_poll_time = kFleetNow - 60;
  if (i % 17 == 0) {
    record->last_poll_ok = true;  // the listing's outcome until a live poll finishes
    record->last_code = "OK";
  } else {
    record->live_polled = true;
    record->last_live_ok = i % 9 != 0;
    record->last_poll_ok = record->last_live_ok;
    record->last_code = record->last_live_ok ? "OK" : "PROVIDER_ERROR";
    if (!record->last_live_ok) record->last_message = "carrier unreachable";
    if (record->last_live_ok || i % 2 == 0) {
      record->last_live_success_time = kFleetNow - 60 - (i % 1000);
    }
  }
  return record;
}

inline StateSnapshot Fleet(int size) {
  StateSnapshot snapshot;
  snapshot.esims.reserve(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) snapshot.esims.push_back(FleetRecord(i));
  return snapshot;
}

}  // namespace esim::testing
