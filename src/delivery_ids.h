// Webhook delivery ids seen in the last 24 hours, for the webhook receiver to refuse replays
// (a delivery is processed once even when the vendor retries it, or an attacker replays it).
// Kept in the durable state (--storage.path), so a restart does not forget them.
// Thread safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace esim {

class DeliveryIdSet {
 public:
  static constexpr double kRetention = 24 * 3600.0;  // seconds an id is remembered
  // Ids remembered at most: the oldest are forgotten first beyond it (a flood of made-up ids
  // must not exhaust memory).
  static constexpr size_t kMaxIds = 200000;

  // Remembers `id` seen at `now` (Unix seconds); false when it was already there (a replay).
  bool Insert(const std::string& id, double now);
  bool Contains(const std::string& id) const;
  size_t size() const;

  // Forgets ids older than kRetention before `now`.
  void Expire(double now);

  // For the durable state: every id with when it was seen, oldest first; and back.
  std::vector<std::pair<std::string, double>> Entries() const;
  void Restore(const std::vector<std::pair<std::string, double>>& entries, double now);

 private:
  void ExpireLocked(double now);
  mutable std::mutex mutex_;
  std::map<std::string, double> seen_;              // id -> time
  std::set<std::pair<double, std::string>> order_;  // (time, id), oldest first
};

}  // namespace esim
