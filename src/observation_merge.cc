#include "observation_merge.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

namespace esim {
namespace {

// The record's ICCID as an answer or event gives it: kept only when the config does not name
// the eSIM by it already (a second copy of every ICCID cost ~5 MB per 100,000 eSIMs).
void LearnIccid(EsimRecord& record, const std::string& iccid) {
  if (iccid.empty()) return;
  if (iccid == record.config.iccid) {
    record.learned_iccid.clear();
  } else {
    record.learned_iccid = iccid;
  }
}

bool WithinListRounding(double live, double listed) {
  return std::fabs(listed - live) < kListRoundingBytes;
}

// Lifecycle status and validity: both sources report them alike; the newest observation wins.
template <typename Observation>
void MergeStatusAndValidity(EsimRecord& record, const Observation& seen, double observed) {
  EsimStatus& merged = *record.status;
  if (observed >= record.lifecycle_time) {
    merged.status = seen.status;
    record.lifecycle_time = observed;
  }
  if (observed >= record.validity_time) {
    merged.activation_time = seen.activation_time;
    merged.expiry_time = seen.expiry_time;
    record.validity_time = observed;
  }
}

// The record's installation facts with what `event` says of them; `installed`: also its
// installed_at and observation time (esim.installed). New facts, never a change to the shared
// ones: a snapshot taken before keeps what it saw.
void MergeInstallation(EsimRecord& record, const WebhookEvent& event, double observed,
                       bool installed) {
  InstallationFacts facts = record.Installation();
  if (installed) {
    if (event.installed_at) facts.installed_time = event.installed_at;
    facts.installed_observed_time = observed;
  }
  if (event.eid) facts.eid = event.eid;
  if (event.imsi) facts.imsi = event.imsi;
  record.installation = std::make_shared<const InstallationFacts>(std::move(facts));
}

}  // namespace

double AnswerObservedAt(double requested) {
  return std::floor(requested * 1000.0) / 1000.0 - 0.0005;
}

void MergeLive(EsimRecord& record, const EsimStatus& live, double observed) {
  if (!record.status) record.status = EsimStatus{};
  EsimStatus& merged = *record.status;
  merged.esim_status = live.esim_status;
  merged.smdp_status = live.smdp_status;
  if (observed >= record.profile_time) {
    merged.profile = live.profile;
    record.profile_time = observed;
  }
  merged.last_network = live.last_network;
  merged.device = live.device;
  merged.last_usage_time = live.last_usage_time;
  if (observed >= record.usage_time) {
    merged.used_bytes = live.used_bytes;
    merged.total_bytes = live.total_bytes;
    merged.unlimited = live.unlimited;
    record.used_from_live = record.total_from_live = true;
    record.usage_time = observed;
  }
  MergeStatusAndValidity(record, live, observed);
  LearnIccid(record, live.iccid);
}

void MergeListed(EsimRecord& record, const ListedEsim& listed, double observed, double now) {
  if (!record.status) record.status = EsimStatus{};
  EsimStatus& merged = *record.status;
  if (observed >= record.usage_time) {
    // A live value the listing only rounds stays: otherwise the exported value would flip
    // between the two roundings with every sweep and live poll. A real change (1 MiB or more),
    // or a value the list itself set, is taken.
    const bool same_used =
        record.used_from_live && WithinListRounding(merged.used_bytes, listed.used_bytes);
    if (!same_used) {
      merged.used_bytes = listed.used_bytes;
      record.used_from_live = false;
    }
    const bool same_total =
        record.total_from_live &&
        merged.total_bytes.has_value() == listed.total_bytes.has_value() &&
        (!listed.total_bytes || WithinListRounding(*merged.total_bytes, *listed.total_bytes));
    if (!same_total) {
      merged.total_bytes = listed.total_bytes;
      record.total_from_live = false;
    }
    merged.unlimited = listed.unlimited;
    record.usage_time = observed;
  }
  MergeStatusAndValidity(record, listed, observed);
  LearnIccid(record, listed.iccid);
  record.listed_id = listed.id;
  std::string countries;
  for (const std::string& country : listed.countries) {
    if (!countries.empty()) countries += ',';
    countries += country;
  }
  PackageInfo package{listed.package_code, listed.package_name, std::move(countries)};
  if (!record.package || !(*record.package == package)) {
    record.package = std::make_shared<const PackageInfo>(std::move(package));
  }
  record.last_listed_time = now;
}

void MergeEvent(EsimRecord& record, const WebhookEvent& event, double observed) {
  if (!record.status) record.status = EsimStatus{};
  EsimStatus& merged = *record.status;
  if (record.Iccid().empty()) LearnIccid(record, event.iccid);
  if (!record.listed_id && event.esim_id) record.listed_id = event.esim_id;
  switch (event.type) {
    case WebhookEventType::kUsageThreshold:
      if (event.used_bytes && observed >= record.usage_time) {
        // GB with decimals, as precise as a live answer: a listing's rounding does not replace it.
        merged.used_bytes = *event.used_bytes;
        record.used_from_live = true;
        if (event.total_bytes) {
          merged.total_bytes = event.total_bytes;
          merged.unlimited = false;  // thresholds are never sent for unlimited plans
          record.total_from_live = true;
        }
        record.usage_time = observed;
      }
      break;
    case WebhookEventType::kStatusChanged:
      if (!event.new_status.empty() && observed >= record.lifecycle_time) {
        merged.status = event.new_status;
        record.lifecycle_time = observed;
      }
      if (event.expiry_time && observed >= record.validity_time) {
        merged.expiry_time = event.expiry_time;
        record.validity_time = observed;
      }
      break;
    case WebhookEventType::kInstalled:
      if (observed >= record.Installation().installed_observed_time) {
        MergeInstallation(record, event, observed, /*installed=*/true);
      }
      break;
    case WebhookEventType::kProfileUpdated:
      if (event.profile && observed >= record.profile_time) {
        merged.profile = event.profile;
        record.profile_time = observed;
      }
      if (event.eid || event.imsi) MergeInstallation(record, event, observed, /*installed=*/false);
      break;
    default:
      return;
  }
  record.last_event_time = std::max(record.last_event_time, observed);
}

}  // namespace esim
