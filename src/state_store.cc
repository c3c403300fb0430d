#include "state_store.h"

namespace esim {

void StateStore::SetEsims(const std::vector<EsimConfig>& esims) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const EsimRecord>> updated;
  std::map<std::string, size_t> index;
  size_t unpolled = 0;
  for (const EsimConfig& esim : esims) {
    auto record = std::make_shared<EsimRecord>();
    const auto old = index_.find(esim.Key());
    if (old != index_.end()) *record = *esims_[old->second];
    record->config = esim;
    if (!record->polled) ++unpolled;
    index.emplace(esim.Key(), updated.size());
    updated.push_back(std::move(record));
  }
  esims_ = std::move(updated);
  index_ = std::move(index);
  unpolled_ = unpolled;
}

void StateStore::RecordPoll(const std::string& key, const ApiResult& result, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end()) return;
  auto record = std::make_shared<EsimRecord>(*esims_[it->second]);
  if (!record->polled) --unpolled_;
  record->polled = true;
  record->last_poll_time = now;
  record->last_code = result.code;
  record->last_poll_ok = result.ok();
  if (result.ok() && result.status) {
    record->status = result.status;
    record->last_success_time = now;
    record->last_message.clear();
  } else {
    record->last_message = result.message;
  }
  esims_[it->second] = std::move(record);
}

void StateStore::RecordApiAnswer(const ApiResult& result, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  api_.up = result.api_up;
  if (result.rate_limit.limit || result.rate_limit.remaining || result.rate_limit.reset_time) {
    api_.rate_limit = result.rate_limit;
  }
  if (result.server_time) api_.server_time_offset = *result.server_time - now;
}

std::shared_ptr<const StateSnapshot> StateStore::Snapshot() const {
  auto snapshot = std::make_shared<StateSnapshot>();
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot->esims = esims_;
  snapshot->api = api_;
  return snapshot;
}

bool StateStore::AllPolled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return unpolled_ == 0;
}

}  // namespace esim
