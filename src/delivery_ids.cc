#include "delivery_ids.h"

namespace esim {

void DeliveryIdSet::ExpireLocked(double now) {
  while (!order_.empty() &&
         (order_.begin()->first <= now - kRetention || order_.size() > kMaxIds)) {
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
  ExpireLocked(now);
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

void DeliveryIdSet::Expire(double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ExpireLocked(now);
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
  for (const auto& [id, time] : entries) {
    if (time <= now - kRetention) continue;
    if (const auto [it, inserted] = seen_.emplace(id, time); inserted) order_.emplace(time, id);
  }
  ExpireLocked(now);
}

}  // namespace esim
