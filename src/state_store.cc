#include "state_store.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "observation_merge.h"

namespace esim {
namespace {

bool IdsChanged(const std::string& old_iccid, const std::optional<int64_t>& old_id,
                const EsimRecord& record) {
  return record.Iccid() != old_iccid || record.EsimId() != old_id;
}

}  // namespace

void StateStore::RebuildIndexLocked() {
  // Each index sized for what it will hold: a fleet configured by ICCID has no eSIM ids yet.
  size_t iccids = 0, ids = 0;
  for (const auto& record : esims_) {
    iccids += record->Iccid().empty() ? 0 : 1;
    ids += record->EsimId() ? 1 : 0;
  }
  by_key_.Reset(esims_.size());
  by_iccid_.Reset(iccids);
  by_id_.Reset(ids);
  discovered_count_ = 0;
  for (size_t i = 0; i < esims_.size(); ++i) {
    if (esims_[i]->discovered) ++discovered_count_;
    by_key_.Insert(PositionIndex::HashOf(esims_[i]->config.Key()), i);
    IndexIdsLocked(i);
  }
}

void StateStore::AppendDiscoveredLocked(std::shared_ptr<EsimRecord> record) {
  // Neither its ICCID nor its id is indexed yet (else it was found), so inserting them leaves
  // the indices as a rebuild would make them: a rebuild per discovered eSIM made discovering
  // a large account quadratic in its size.
  esims_.push_back(std::move(record));
  const size_t position = esims_.size() - 1;
  by_key_.Insert(PositionIndex::HashOf(esims_[position]->config.Key()), position);
  IndexIdsLocked(position);
  ++discovered_count_;
}

void StateStore::IndexIdsLocked(size_t position) {
  const EsimRecord& record = *esims_[position];
  if (!record.Iccid().empty()) by_iccid_.Insert(PositionIndex::HashOf(record.Iccid()), position);
  if (const auto id = record.EsimId()) by_id_.Insert(std::hash<int64_t>{}(*id), position);
}

bool StateStore::IndexLearnedIdsLocked(size_t position, const std::string& old_iccid,
                                       const std::optional<int64_t>& old_id) {
  const EsimRecord& record = *esims_[position];
  const bool iccid_learned = record.Iccid() != old_iccid;
  const bool id_learned = record.EsimId() != old_id;
  // A changed key leaves its old entry behind, and a key another record has too must find the
  // lower position first: only a rebuild gets those right.
  if (iccid_learned && (!old_iccid.empty() || FindIccidLocked(record.Iccid()))) return false;
  if (id_learned && (old_id || FindIdLocked(*record.EsimId()))) return false;
  if (iccid_learned) by_iccid_.Insert(PositionIndex::HashOf(record.Iccid()), position);
  if (id_learned) by_id_.Insert(std::hash<int64_t>{}(*record.EsimId()), position);
  return true;
}

std::optional<size_t> StateStore::FindKeyLocked(const std::string& key) const {
  return by_key_.Find(PositionIndex::HashOf(key),
                      [&](size_t at) { return esims_[at]->config.HasKey(key); });
}

std::optional<size_t> StateStore::FindIccidLocked(const std::string& iccid) const {
  return by_iccid_.Find(PositionIndex::HashOf(iccid),
                        [&](size_t at) { return esims_[at]->Iccid() == iccid; });
}

std::optional<size_t> StateStore::FindIdLocked(int64_t id) const {
  return by_id_.Find(std::hash<int64_t>{}(id),
                     [&](size_t at) { return esims_[at]->EsimId() == id; });
}

void StateStore::SetEsims(const std::vector<EsimConfig>& esims, bool keep_discovered) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const EsimRecord>> updated;
  std::vector<bool> taken(esims_.size(), false);
  for (const EsimConfig& esim : esims) {
    auto record = std::make_shared<EsimRecord>();
    std::optional<size_t> old = FindKeyLocked(esim.Key());
    // A discovered eSIM that the config now names keeps what was learned about it.
    if (!old && !esim.iccid.empty()) old = FindIccidLocked(esim.iccid);
    if (!old && esim.esim_id) old = FindIdLocked(*esim.esim_id);
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

void StateStore::RecordPoll(const std::string& key, const ApiResult& result, double now,
                            std::optional<double> requested) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::optional<size_t> position = FindKeyLocked(key);
  if (!position) return;
  auto record = std::make_shared<EsimRecord>(*esims_[*position]);
  const std::string old_iccid = record->Iccid();
  record->polled = record->live_polled = true;
  record->last_live_time = now;
  record->last_poll_time = std::max(record->last_poll_time, now);
  record->last_code = result.code;
  record->last_poll_ok = record->last_live_ok = result.ok();
  if (result.ok() && result.status) {
    MergeLive(*record, *result.status, AnswerObservedAt(requested.value_or(now)));
    record->last_success_time = std::max(record->last_success_time, now);
    record->last_live_success_time = now;
    record->last_message.clear();
  } else {
    record->last_message = result.message;
  }
  const bool learned = record->Iccid() != old_iccid;
  record->labels = RenderLabels(*record);
  esims_[*position] = std::move(record);
  if (learned) RebuildIndexLocked();
}

std::optional<size_t> StateStore::FindListedLocked(const ListedEsim& listed) const {
  if (const auto at = FindIccidLocked(listed.iccid)) return at;
  return FindIdLocked(listed.id);
}

StateStore::ListedOutcome StateStore::RecordListed(const std::vector<ListedEsim>& listed,
                                                   double now, const DiscoveryRules& discovery,
                                                   std::optional<double> requested) {
  const double observed = AnswerObservedAt(requested.value_or(now));
  std::lock_guard<std::mutex> lock(mutex_);
  ListedOutcome outcome;
  bool index_changed = false;
  for (const ListedEsim& item : listed) {
    std::shared_ptr<EsimRecord> record;
    std::optional<size_t> position;
    if (const auto known = FindListedLocked(item)) {
      record = std::make_shared<EsimRecord>(*esims_[*known]);
      position = known;
    } else {
      EsimConfig found;
      found.account = account_name_;
      found.iccid = item.iccid;
      // Another replica's (same hash as configured eSIMs), or not to be monitored at all.
      if (!discovery.enabled || item.iccid.empty() || !discovery.shard.Owns(found.Key()) ||
          discovery.other_shards_esim_ids.contains(item.id)) {
        continue;
      }
      if (discovered_count_ >=
          static_cast<size_t>(std::max<int64_t>(discovery.max_discovered, 0))) {
        ++outcome.over_limit;
        continue;
      }
      record = std::make_shared<EsimRecord>();
      record->config = std::move(found);
      record->discovered = true;
    }
    const std::string old_iccid = record->Iccid();
    const std::optional<int64_t> old_id = record->EsimId();
    MergeListed(*record, item, observed, now);
    record->last_list_ok = true;
    record->polled = true;
    record->last_poll_time = std::max(record->last_poll_time, now);
    record->last_success_time = std::max(record->last_success_time, now);
    if (!record->live_polled) {
      record->last_poll_ok = true;
      record->last_code = "OK";
      record->last_message.clear();
    }
    record->labels = RenderLabels(*record);
    outcome.listed_keys.push_back(record->config.Key());
    if (position) {
      // The first sweep teaches every eSIM configured by ICCID its id: indexed one by one, as
      // a rebuild of every index per page made that sweep quadratic in the fleet.
      esims_[*position] = std::move(record);
      if (!IndexLearnedIdsLocked(*position, old_iccid, old_id)) index_changed = true;
    } else {
      // Indexed at once: the same eSIM listed twice on one page is added once.
      AppendDiscoveredLocked(std::move(record));
      outcome.added_keys.push_back(outcome.listed_keys.back());
    }
  }
  if (index_changed) RebuildIndexLocked();
  return outcome;
}

StateStore::EventOutcome StateStore::RecordEvent(const WebhookEvent& event, double observed,
                                                 double now, const DiscoveryRules& discovery) {
  std::lock_guard<std::mutex> lock(mutex_);
  EventOutcome outcome;
  std::optional<size_t> index;
  if (!event.iccid.empty()) index = FindIccidLocked(event.iccid);
  if (!index && event.esim_id) index = FindIdLocked(*event.esim_id);
  std::shared_ptr<EsimRecord> record;
  if (index) {
    record = std::make_shared<EsimRecord>(*esims_[*index]);
  } else {
    // Discovery adds it as a sweep would: only with an ICCID (the key), only this replica's.
    EsimConfig found;
    found.account = account_name_;
    found.iccid = event.iccid;
    if (!discovery.enabled || event.iccid.empty() || !discovery.shard.Owns(found.Key()) ||
        (event.esim_id && discovery.other_shards_esim_ids.contains(*event.esim_id)) ||
        discovered_count_ >= static_cast<size_t>(std::max<int64_t>(discovery.max_discovered, 0))) {
      return outcome;
    }
    record = std::make_shared<EsimRecord>();
    record->config = std::move(found);
    record->discovered = true;
    record->polled = true;  // observed: /-/ready does not wait for its first live poll
  }
  const std::string old_iccid = record->Iccid();
  const std::optional<int64_t> old_id = record->EsimId();
  MergeEvent(*record, event, observed);
  record->last_success_time = std::max(record->last_success_time, now);
  record->labels = RenderLabels(*record);
  outcome.applied = true;
  outcome.key = record->config.Key();
  if (index) {
    esims_[*index] = std::move(record);
    if (IdsChanged(old_iccid, old_id, *esims_[*index])) RebuildIndexLocked();
  } else {
    AppendDiscoveredLocked(std::move(record));
    outcome.added = true;
  }
  return outcome;
}

void StateStore::RecordDelivery(std::string_view event_label, std::string_view outcome,
                                double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++webhooks_.deliveries[{std::string(event_label), std::string(outcome)}];
  if (outcome == "applied") webhooks_.last_applied_time = now;
}

void StateStore::SetWebhookEnabled(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  webhooks_.enabled = enabled;
}

void StateStore::RecordSubscriptionRead(std::optional<WebhookSubscriptionHealth> health,
                                        double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  SubscriptionReads& reads = webhooks_.subscription;
  reads.last_ok = health.has_value();
  if (!health) return;
  reads.last_success_time = now;
  reads.health = std::move(health);
}

void StateStore::RestoreSubscription(const SubscriptionReads& reads) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (webhooks_.subscription.last_ok) return;
  webhooks_.subscription = reads;
}

void StateStore::ClearSubscription() {
  std::lock_guard<std::mutex> lock(mutex_);
  webhooks_.subscription = {};
}

size_t StateStore::DropVanished(double now, double stale_after) {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t before = esims_.size();
  std::erase_if(esims_, [&](const std::shared_ptr<const EsimRecord>& record) {
    // An eSIM announced by events stays while events keep coming.
    return record->discovered &&
           now - std::max(record->last_listed_time, record->last_event_time) > stale_after;
  });
  const size_t removed = before - esims_.size();
  if (removed > 0) RebuildIndexLocked();
  return removed;
}

void StateStore::RecordApiAnswer(const ApiResult& result, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  api_.up = result.api_up;
  if (result.rate_limit.limit || result.rate_limit.remaining || result.rate_limit.reset_time) {
    RateLimitHeaders next = result.rate_limit;
    const RateLimitHeaders& held = api_.rate_limit;
    // Concurrent answers are recorded in any order, but within one window (the same reset time)
    // the count left only goes down: an answer sent earlier must not raise it again.
    if (next.remaining && held.remaining && next.reset_time && held.reset_time &&
        *next.reset_time == *held.reset_time && *next.remaining > *held.remaining) {
      next.remaining = held.remaining;
    }
    api_.rate_limit = next;
  }
  if (result.server_time) api_.server_time_offset = *result.server_time - now;
}

void StateStore::SetApiPause(std::optional<double> until, std::string reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  api_.paused_until = until;
  api_.pause_reason = until ? std::move(reason) : std::string();
}

void StateStore::SetCredentialsRefused(bool refused) {
  std::lock_guard<std::mutex> lock(mutex_);
  api_.credentials_refused = refused;
}

void StateStore::RecordSweep(const std::optional<std::map<std::string, int64_t>>& esims_by_status,
                             double started, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (esims_by_status) account_.esims_by_status = *esims_by_status;
  account_.inventory_last_success_time = now;
  for (auto& record : esims_) {
    if (!record->last_list_ok || record->last_listed_time >= started) continue;
    auto unlisted = std::make_shared<EsimRecord>(*record);
    unlisted->last_list_ok = false;
    record = std::move(unlisted);
  }
}

void StateStore::RecordSkipped(const SkippedEntries& skipped) {
  std::lock_guard<std::mutex> lock(mutex_);
  sweeps_.skipped_pending += skipped.pending;
  sweeps_.skipped_malformed += skipped.malformed;
}

void StateStore::SetDiscoveryLimit(std::optional<int64_t> limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  sweeps_.discovery_limit = limit;
  if (!limit) sweeps_.discovery_over_limit = 0;
}

void StateStore::RecordDiscoveryOverLimit(int64_t over_limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  sweeps_.discovery_over_limit = over_limit;
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
  snapshot->inventory = sweeps_;
  snapshot->webhooks = webhooks_;
  return snapshot;
}

size_t StateStore::Restore(std::vector<std::shared_ptr<EsimRecord>> records,
                           const AccountState& account, bool keep_discovered) {
  BeginRestore(keep_discovered);
  for (std::shared_ptr<EsimRecord>& record : records) RestoreRecord(std::move(record));
  return FinishRestore(account);
}

void StateStore::BeginRestore(bool keep_discovered) {
  std::lock_guard<std::mutex> lock(mutex_);
  restoring_.emplace();
  restoring_->keep_discovered = keep_discovered;
  restoring_->configured = esims_.size();
  restoring_->seen.reserve(esims_.size());
}

void StateStore::RestoreRecord(std::shared_ptr<EsimRecord> record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!restoring_) return;
  std::string key = record->config.Key();
  const std::optional<size_t> position = FindKeyLocked(key);
  if (!restoring_->seen.insert(std::move(key)).second) return;
  if (position) {
    const EsimRecord& current = *esims_[*position];
    if (current.polled) return;  // observed already by this run: newer
    record->config = current.config;
    record->discovered = current.discovered;
    record->labels = RenderLabels(*record);
    esims_[*position] = std::move(record);
    if (*position < restoring_->configured) restoring_->replaced.push_back(*position);
  } else if (record->discovered && restoring_->keep_discovered) {
    // Not if the config names it by its other identifier (SetEsims matched it there).
    if ((!record->Iccid().empty() && FindIccidLocked(record->Iccid())) ||
        (record->EsimId() && FindIdLocked(*record->EsimId()))) {
      return;
    }
    record->config.account = account_name_;
    record->labels = RenderLabels(*record);
    esims_.push_back(std::move(record));
    by_key_.Insert(PositionIndex::HashOf(esims_.back()->config.Key()), esims_.size() - 1);
  }
}

size_t StateStore::FinishRestore(const AccountState& account) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!restoring_) return 0;
  const size_t restored = restoring_->replaced.size() + (esims_.size() - restoring_->configured);
  restoring_.reset();
  if (account_.inventory_last_success_time <= 0) account_ = account;
  RebuildIndexLocked();
  return restored;
}

void StateStore::AbandonRestore() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!restoring_) return;
  for (const size_t at : restoring_->replaced) {
    auto fresh = std::make_shared<EsimRecord>();
    fresh->config = esims_[at]->config;
    fresh->discovered = esims_[at]->discovered;
    fresh->labels = RenderLabels(*fresh);
    esims_[at] = std::move(fresh);
  }
  esims_.resize(restoring_->configured);
  restoring_.reset();
  RebuildIndexLocked();
}

size_t StateStore::Restore(std::vector<EsimRecord> records, const AccountState& account,
                           bool keep_discovered) {
  std::vector<std::shared_ptr<EsimRecord>> shared;
  shared.reserve(records.size());
  for (EsimRecord& record : records)
    shared.push_back(std::make_shared<EsimRecord>(std::move(record)));
  std::vector<EsimRecord>().swap(records);  // its moved-from slots: free them, not clear them
  return Restore(std::move(shared), account, keep_discovered);
}

std::vector<std::string> StateStore::MonitoredKeys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> keys;
  keys.reserve(esims_.size());
  for (const auto& record : esims_) keys.push_back(record->config.Key());
  return keys;
}

bool StateStore::ConfiguredEsimsAre(const std::vector<EsimConfig>& esims) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t configured = 0;
  for (const auto& record : esims_) {
    if (record->discovered) continue;
    if (configured >= esims.size() || !(record->config == esims[configured])) return false;
    ++configured;
  }
  return configured == esims.size();
}

int StateStore::LiveRank(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::optional<size_t> position = FindKeyLocked(key);
  return position ? LiveRankLocked(*position) : 0;
}

std::vector<std::pair<std::string, int>> StateStore::LiveRanks(
    const std::vector<std::string>& keys) const {
  std::vector<std::pair<std::string, int>> ranks;
  ranks.reserve(keys.size());
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& key : keys) {
    if (const std::optional<size_t> position = FindKeyLocked(key)) {
      ranks.emplace_back(key, LiveRankLocked(*position));
    }
  }
  return ranks;
}

int StateStore::LiveRankLocked(size_t position) const {
  const auto& status = esims_[position]->status;
  if (!status) return 2;
  return status->status == "ACTIVE" ? 1 : 0;
}

size_t StateStore::EsimCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return esims_.size();
}

bool StateStore::AllPolled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::all_of(esims_.begin(), esims_.end(),
                     [](const auto& record) { return record->polled; });
}

}  // namespace esim
