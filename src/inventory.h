// The cheap bulk reads: every inventory.interval a sweep of the eSIM list (one paged listing per
// configured status, 100 eSIMs a request) merged into the StateStore, with discovery of eSIMs
// the config does not name (this replica's only, at most inventory.max_discovered); and every
// balance.interval the account balance, and every webhook.check_interval the key's webhook
// subscription (both on the replica that reads the account). Every request
// takes from the same RateBudget as the live polls. List entries that are not complete eSIMs
// (pending orders, malformed entries) are skipped and counted, never failing a page. A sweep
// that fails midway keeps what it merged, keeps the previous values of the rest, and is retried
// on its next turn.
// Thread safe: Reconfigure and Stop may be called from any thread while the sweeper runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_client.h"
#include "api_metrics.h"
#include "config.h"
#include "rate_budget.h"
#include "shard.h"
#include "state_store.h"

namespace esim {

class Inventory {
 public:
  struct Settings {
    InventoryConfig inventory;
    BalanceConfig balance;
    // GET /webhooks every this often; 0: never (no receiver, or webhook.check_interval 0).
    std::chrono::milliseconds webhook_check_interval{0};
    std::string webhook_public_url;  // for the log: whether the key's URL is this exporter's
    std::chrono::milliseconds stale_after{std::chrono::hours(6)};
    // After a failed sweep the next comes this much later, doubling with each further failure
    // up to inventory.interval: a fleet found by discovery is unknown until one succeeds.
    std::chrono::milliseconds sweep_retry{std::chrono::minutes(1)};
    // This replica: discovery adds its eSIMs only, and only replica 0 reads account figures.
    Shard shard;
    std::vector<int64_t> other_shards_esim_ids;  // Config::other_shards_esim_ids
  };

  // What one page changed for the live poller: the monitored eSIMs it listed (what is known
  // about them changed: they are re-ranked), and those among them that discovery added.
  struct PageChange {
    std::vector<std::string> listed_keys;
    std::vector<std::string> added_keys;
    bool operator==(const PageChange&) const = default;
  };
  // `on_esims_changed` runs on the sweeper thread: after each page that listed monitored eSIMs,
  // with what it changed (work in the size of the page, not of the fleet); with nullopt after
  // each complete sweep (discovery may have dropped eSIMs, and the sweep's measured cost sets
  // the live polls' spacing).
  using EsimsChanged = std::function<void(const std::optional<PageChange>& page)>;
  Inventory(StateStore& store, RateBudget& budget, ApiMetrics& metrics,
            EsimsChanged on_esims_changed);
  ~Inventory();

  void Reconfigure(const Settings& settings, std::shared_ptr<const ApiClient> client);
  void Start();
  void Stop();

  // One sweep and one balance read now, on the calling thread (for --once).
  void RunOnce();

  // When the next sweep, balance read and subscription read are due, as Unix seconds (for the
  // durable state), and back after Reconfigure: a restart keeps their rhythm instead of
  // sweeping at once.
  struct NextDue {
    double sweep = 0, balance = 0, webhook = 0;  // 0: none planned
  };
  NextDue NextDueAt(double wall_now) const;
  void RestoreNextDue(const NextDue& due, double wall_now);

  // Requests the latest complete sweep took; nullopt before the first.
  std::optional<size_t> last_sweep_pages() const;

 private:
  using Clock = std::chrono::steady_clock;
  void Loop();
  bool Sweep(const Settings& settings, const ApiClient& client);  // true when complete
  // Publishes the sweep's count of eSIMs over discovery's limit, and logs each crossing once.
  void ReportOverLimit(const Settings& settings, int64_t over_limit, bool sweep_complete);
  void ReportSkipped(const SkippedEntries& skipped, bool sweep_complete);
  bool ReadBalance(const ApiClient& client);
  bool ReadWebhookSubscription(const Settings& settings, const ApiClient& client);
  // Waits for one request of the budget; false when stopping.
  bool AcquireBudget();

  StateStore& store_;
  RateBudget& budget_;
  ApiMetrics& metrics_;
  EsimsChanged on_esims_changed_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Settings settings_;                                                          // guarded by mutex_
  std::shared_ptr<const ApiClient> client_;                                    // guarded by mutex_
  std::optional<Clock::time_point> next_sweep_, next_balance_, next_webhook_;  // guarded by mutex_
  int failed_sweeps_ = 0;                   // in a row; guarded by mutex_
  std::optional<size_t> last_sweep_pages_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  // Discovery's limit: whether the crossing was logged, and the over-limit count published
  // during the running sweep. Guarded by mutex_.
  bool over_limit_logged_ = false;
  int64_t over_limit_published_ = 0;
  int64_t last_malformed_ = 0;  // malformed entries of the previous sweep; guarded by mutex_
  // The key's webhook URL last logged as not this exporter's: logged once per change.
  std::optional<std::string> logged_elsewhere_url_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace esim
