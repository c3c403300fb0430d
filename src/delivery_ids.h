// The webhook delivery ids seen recently (X-Webhook-Id), so that a retried or replayed delivery
// is answered but not applied twice. Bounded in time (ids older than the retention window are
// forgotten) and in count (past `max_ids`, the oldest go first: a flood of validly signed
// deliveries must not exhaust memory). Entries can be listed and restored: the ExporterApp keeps
// its set in the durable state (--storage.path), so a restart does not forget them.
// Thread safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace esim {

class DeliveryIdSet {
 public:
  static constexpr double kRetention = 24 * 3600.0;  // seconds an id is remembered
  // About 260 bytes an id (measured, docs/benchmarks.md): at most ~26 MB.
  static constexpr size_t kMaxIds = 100000;

  explicit DeliveryIdSet(double retention_seconds = kRetention, size_t max_ids = kMaxIds);

  // Remembers `id` as seen at `now` (Unix seconds), forgetting the expired ones first. Returns
  // false when it was already known (a replay; its time is then left as it was).
  bool Insert(const std::string& id, double now);
  bool Contains(const std::string& id) const;
  size_t size() const;
  double retention_seconds() const { return retention_; }

  // Forgets the ids seen before `now` - retention (an id exactly that old is still kept);
  // returns how many.
  size_t Expire(double now);

  // For the durable state: every id with when it was seen, oldest first; and back (ids already
  // known keep their time; ids expired at `now` are skipped; the count bound applies).
  std::vector<std::pair<std::string, double>> Entries() const;
  void Restore(const std::vector<std::pair<std::string, double>>& entries, double now);

 private:
  size_t ExpireLocked(double now);
  void TrimLocked();

  const double retention_;
  const size_t max_ids_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, double> seen_;    // id -> time; guarded by mutex_
  std::set<std::pair<double, std::string>> order_;  // (time, id), oldest first; guarded by mutex_
};

}  // namespace esim
