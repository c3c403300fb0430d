#include "delivery_ids.h"

namespace esim {

DeliveryIdSet::DeliveryIdSet(double retention_seconds, size_t max_ids)
    : retention_(retention_seconds), max_ids_(max_ids == 0 ? 1 : max_ids) {}

size_t DeliveryIdSet::ExpireLocked(double now) {
  const double cutoff = now - retention_;
  size_t removed = 0;
  while (!order_.empty() && order_.begin()->first < cutoff) {
    seen_.erase(order_.begin()->second);
    order_.erase(order_.begin());
    ++removed;
  }
  return removed;
}

void DeliveryIdSet::TrimLocked() {
  while (seen_.size() > max_ids_) {
    seen_.erase(order_.begin()->second);
    order_.erase(order_.begin());
  }
}

bool DeliveryIdSet::Insert(const std::string& id, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ExpireLocked(now);
  const auto [it, inserted] = seen_.emplace(id, now);
  if (!inserted) return false;
  order_.emplace(now, id);
  TrimLocked();
  return true;
}

bool DeliveryIdSet::Contains(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_.contains(id);
}

size_t DeliveryIdSet::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_.size();
}

size_t DeliveryIdSet::Expire(double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ExpireLocked(now);
}

std::vector<std::pair<std::string, double>> DeliveryIdSet::Entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, double>> entries;
  entries.reserve(order_.size());
  for (const auto& [time, id] : order_) entries.emplace_back(id, time);
  return entries;
}

void DeliveryIdSet::Restore(const std::vector<std::pair<std::string, double>>& entries,
                            double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double cutoff = now - retention_;
  for (const auto& [id, time] : entries) {
    if (time < cutoff) continue;
    if (seen_.emplace(id, time).second) order_.emplace(time, id);
  }
  ExpireLocked(now);
  TrimLocked();
}

}  // namespace esim
