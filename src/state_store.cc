#include "state_store.h"

#include <algorithm>

namespace esim {
namespace {

// The field groups both sources report (usage, lifecycle status, validity), each replaced only
// by an observation at least as new as the one behind it. `Observation` is EsimStatus (live) or
// ListedEsim (listed): both name these fields alike.
template <typename Observation>
void MergeSharedGroups(EsimRecord& record, const Observation& seen, double now) {
  EsimStatus& merged = *record.status;
  if (now >= record.usage_time) {
    merged.used_bytes = seen.used_bytes;
    merged.total_bytes = seen.total_bytes;
    merged.unlimited = seen.unlimited;
    record.usage_time = now;
  }
  if (now >= record.lifecycle_time) {
    merged.status = seen.status;
    record.lifecycle_time = now;
  }
  if (now >= record.validity_time) {
    merged.activation_time = seen.activation_time;
    merged.expiry_time = seen.expiry_time;
    record.validity_time = now;
  }
}

// Live answers also carry what only they know (network, device, installation state).
void MergeLive(EsimRecord& record, const EsimStatus& live, double now) {
  if (!record.status) record.status = EsimStatus{};
  EsimStatus& merged = *record.status;
  merged.iccid = live.iccid;
  merged.esim_status = live.esim_status;
  merged.smdp_status = live.smdp_status;
  merged.profile = live.profile;
  merged.last_network = live.last_network;
  merged.device = live.device;
  merged.last_usage_time = live.last_usage_time;
  MergeSharedGroups(record, live, now);
  if (!live.iccid.empty()) record.learned_iccid = live.iccid;
}

// Listed values replace only what no newer observation set; live-only fields stay.
void MergeListed(EsimRecord& record, const ListedEsim& listed, double now) {
  if (!record.status) record.status = EsimStatus{};
  if (record.status->iccid.empty()) record.status->iccid = listed.iccid;
  MergeSharedGroups(record, listed, now);
  record.learned_iccid = listed.iccid;
  record.listed_id = listed.id;
  std::string countries;
  for (const std::string& country : listed.countries) {
    if (!countries.empty()) countries += ',';
    countries += country;
  }
  record.package = PackageInfo{listed.package_code, listed.package_name, countries};
  record.last_listed_time = now;
}

}  // namespace

void StateStore::RebuildIndexLocked() {
  by_key_.clear();
  by_iccid_.clear();
  by_id_.clear();
  for (size_t i = 0; i < esims_.size(); ++i) {
    const EsimRecord& record = *esims_[i];
    by_key_.emplace(record.config.Key(), i);
    if (!record.Iccid().empty()) by_iccid_.emplace(record.Iccid(), i);
    if (const auto id = record.EsimId()) by_id_.emplace(*id, i);
  }
}

void StateStore::SetEsims(const std::vector<EsimConfig>& esims, bool keep_discovered) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const EsimRecord>> updated;
  std::vector<bool> taken(esims_.size(), false);
  for (const EsimConfig& esim : esims) {
    auto record = std::make_shared<EsimRecord>();
    std::optional<size_t> old;
    if (const auto it = by_key_.find(esim.Key()); it != by_key_.end()) old = it->second;
    // A discovered eSIM that the config now names keeps what was learned about it.
    if (!old && !esim.iccid.empty()) {
      if (const auto it = by_iccid_.find(esim.iccid); it != by_iccid_.end()) old = it->second;
    }
    if (!old && esim.esim_id) {
      if (const auto it = by_id_.find(*esim.esim_id); it != by_id_.end()) old = it->second;
    }
    if (old && !taken[*old]) {
      *record = *esims_[*old];
      taken[*old] = true;
    }
    record->config = esim;
    record->discovered = false;
    record->labels = RenderLabels(*record);
    updated.push_back(std::move(record));
  }
  if (keep_discovered) {
    for (size_t i = 0; i < esims_.size(); ++i) {
      if (!taken[i] && esims_[i]->discovered) updated.push_back(esims_[i]);
    }
  }
  esims_ = std::move(updated);
  RebuildIndexLocked();
}

void StateStore::RecordPoll(const std::string& key, const ApiResult& result, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  auto record = std::make_shared<EsimRecord>(*esims_[it->second]);
  const std::string old_iccid = record->Iccid();
  record->polled = true;
  record->last_poll_time = now;
  record->last_code = result.code;
  record->last_poll_ok = result.ok();
  if (result.ok() && result.status) {
    MergeLive(*record, *result.status, now);
    record->last_success_time = now;
    record->last_message.clear();
  } else {
    record->last_message = result.message;
  }
  const bool learned = record->Iccid() != old_iccid;
  record->labels = RenderLabels(*record);
  esims_[it->second] = std::move(record);
  if (learned) RebuildIndexLocked();
}

std::shared_ptr<EsimRecord> StateStore::FindListedLocked(const ListedEsim& listed) {
  std::optional<size_t> index;
  if (const auto it = by_iccid_.find(listed.iccid); it != by_iccid_.end()) index = it->second;
  if (!index) {
    if (const auto it = by_id_.find(listed.id); it != by_id_.end()) index = it->second;
  }
  if (!index) return nullptr;
  return std::make_shared<EsimRecord>(*esims_[*index]);
}

size_t StateStore::RecordListed(const std::vector<ListedEsim>& listed, double now, bool discover) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t added = 0;
  bool index_changed = false;
  for (const ListedEsim& item : listed) {
    std::shared_ptr<EsimRecord> record = FindListedLocked(item);
    std::optional<size_t> position;
    if (record) {
      position = by_key_.at(record->config.Key());
    } else if (discover && !item.iccid.empty()) {
      record = std::make_shared<EsimRecord>();
      record->config.iccid = item.iccid;
      record->discovered = true;
      ++added;
    } else {
      continue;  // listed, but not monitored
    }
    const bool knew_ids = record->listed_id.has_value() && !record->Iccid().empty();
    MergeListed(*record, item, now);
    record->polled = true;
    record->last_poll_ok = true;
    record->last_code = "OK";
    record->last_message.clear();
    record->last_poll_time = std::max(record->last_poll_time, now);
    record->last_success_time = std::max(record->last_success_time, now);
    record->labels = RenderLabels(*record);
    if (position) {
      esims_[*position] = std::move(record);
      index_changed = index_changed || !knew_ids;
    } else {
      esims_.push_back(std::move(record));
      index_changed = true;
    }
  }
  if (index_changed) RebuildIndexLocked();
  return added;
}

size_t StateStore::DropVanished(double now, double stale_after) {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t before = esims_.size();
  std::erase_if(esims_, [&](const std::shared_ptr<const EsimRecord>& record) {
    return record->discovered && now - record->last_listed_time > stale_after;
  });
  const size_t removed = before - esims_.size();
  if (removed > 0) RebuildIndexLocked();
  return removed;
}

void StateStore::RecordApiAnswer(const ApiResult& result, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  api_.up = result.api_up;
  if (result.rate_limit.limit || result.rate_limit.remaining || result.rate_limit.reset_time) {
    api_.rate_limit = result.rate_limit;
  }
  if (result.server_time) api_.server_time_offset = *result.server_time - now;
}

void StateStore::RecordSweep(const std::map<std::string, int64_t>& esims_by_status, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  account_.esims_by_status = esims_by_status;
  account_.inventory_last_success_time = now;
}

void StateStore::RecordBalance(const AccountBalance& balance) {
  std::lock_guard<std::mutex> lock(mutex_);
  account_.balance = balance;
}

std::shared_ptr<const StateSnapshot> StateStore::Snapshot() const {
  auto snapshot = std::make_shared<StateSnapshot>();
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot->esims = esims_;
  snapshot->api = api_;
  snapshot->account = account_;
  return snapshot;
}

std::vector<EsimConfig> StateStore::MonitoredEsims() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EsimConfig> esims;
  esims.reserve(esims_.size());
  for (const auto& record : esims_) esims.push_back(record->config);
  return esims;
}

int StateStore::LiveRank(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return 0;
  const auto& status = esims_[it->second]->status;
  if (!status) return 2;
  return status->status == "ACTIVE" ? 1 : 0;
}

bool StateStore::AllPolled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::all_of(esims_.begin(), esims_.end(),
                     [](const auto& record) { return record->polled; });
}

}  // namespace esim
