// One account (API key) of the running exporter: its request budget, API client, poller,
// inventory sweeps, state, webhook receiver and durable state files. Accounts share nothing, so
// one account's failure, pause or exhausted budget never slows another (docs/contract.md,
// "Several accounts"). Thread safe: every public member may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api_metrics.h"
#include "collector.h"
#include "config.h"
#include "delivery_ids.h"
#include "inventory.h"
#include "poller.h"
#include "rate_budget.h"
#include "shard.h"
#include "state_persister.h"
#include "state_store.h"
#include "storage_dir.h"
#include "webhook_receiver.h"

namespace esim {

// Durable state (--storage.path): the locked directory, and how often the state is written.
struct StorageOptions {
  const StorageDir* dir = nullptr;  // nullptr: state in memory only
  std::chrono::milliseconds write_interval{std::chrono::minutes(1)};
};

class AccountRuntime {
 public:
  // `config`: this account's (one of AccountsOf), already cut to the replica's shard; `shard`:
  // the replica's, as it applies to this account (Shard::ForAccount). `webhook_route`: the
  // receiver served for this account since startup (disabled: none); reloads cannot move it.
  AccountRuntime(const Config& config, bool once, Shard shard, StorageOptions storage,
                 WebhookConfig webhook_route);
  ~AccountRuntime();
  AccountRuntime(const AccountRuntime&) = delete;
  AccountRuntime& operator=(const AccountRuntime&) = delete;

  const std::string& name() const { return name_; }
  // Whether the configured eSIMs in force are exactly `esims` (in order): a reload that
  // changes nothing else applies nothing.
  bool ConfiguresExactly(const std::vector<EsimConfig>& esims) const {
    return store_.ConfiguredEsimsAre(esims);
  }
  const WebhookConfig& webhook_route() const { return webhook_route_; }

  // With --storage.path: restores the account's saved state and starts keeping it (without this
  // call nothing is written). Once, before Start; best after the caller dropped its own copy of
  // the eSIM lists, as a restart's memory peak is here.
  void RestoreState();
  void Start();  // starts polling and the inventory sweeps in the background
  // One inventory sweep and balance read on the calling thread (for --once; before Start).
  void RunInventoryOnce() { inventory_.RunOnce(); }
  void Stop();  // waits for requests in flight, then writes the durable state once more

  // Writes the durable state now (no-op without --storage.path); false when it failed.
  bool SaveState();

  // Takes this account's part of a reloaded config. Throws std::exception when the API client
  // cannot be built; nothing is changed then.
  void Apply(const Config& config);

  // False when `timeout` passed first.
  bool WaitUntilAllPolledOnce(std::chrono::seconds timeout) {
    return poller_.WaitUntilDone(timeout);
  }

  // Every monitored eSIM observed once; with discovery, also the first complete sweep.
  bool Ready() const;
  // One webhook delivery for this account: in memory only, never an API call.
  WebhookAnswer HandleWebhook(const WebhookRequest& request);
  // True when the state and the poller answer (their locks are not stuck): for the watchdog.
  bool Alive() const;

  // What the page shows of this account.
  std::shared_ptr<const StateSnapshot> Snapshot() const { return store_.Snapshot(); }
  ExporterStatus Status() const;  // the per-account fields; reload fields are the caller's
  const ApiMetrics& api_metrics() const { return api_metrics_; }
  RateBudget::Usage BudgetUsage() const { return budget_.UsageAt(RateBudget::Clock::now()); }

 private:
  // The monitored eSIMs may have changed (a sweep completed): hand them all to the poller.
  void OnEsimsChanged();
  // The same with apply_mutex_ held.
  void UpdatePollerLocked(const Config& config);
  Config ConfigInForce() const;
  // A sweep's page told something new about these monitored eSIMs, and discovery may have
  // added some: the poller takes on the added ones and re-ranks the listed ones alone (the
  // whole fleet per page of 100 made a sweep quadratic in the fleet).
  void OnEsimsListed(const Inventory::PageChange& page);
  // Discovery (a sweep's page or a webhook event) added these eSIMs: the poller takes them on.
  void AddToPoller(const std::vector<std::string>& added_keys);
  PollSchedule::Priority LivePriority(const Config& config, size_t esim_count) const;
  // Streams the state file's content (StatePersister's writer).
  void WriteStateFile(ByteSink& out) const;
  double WallOf(std::chrono::steady_clock::time_point time) const;
  std::chrono::steady_clock::time_point SteadyOf(double wall) const;
  std::string Fingerprint() const;

  const std::string name_;
  const std::string state_file_;   // StateFileName(name_)
  const std::string ledger_file_;  // LedgerFileName(name_)
  const WebhookConfig webhook_route_;
  const Shard shard_;
  const bool once_;
  std::mutex apply_mutex_;  // one Apply (reload, discovery) at a time
  StateStore store_;
  RateBudget budget_;
  ApiMetrics api_metrics_;
  Poller poller_;
  Inventory inventory_;  // after poller_: its callback uses the poller
  // Webhook delivery ids of the last 24 h: the receiver's, kept in the durable state.
  DeliveryIdSet delivery_ids_;
  WebhookReceiver webhooks_;  // after poller_ and delivery_ids_: uses both

  mutable std::mutex mutex_;
  ExporterStatus status_;  // guarded by mutex_
  Config config_;          // guarded by mutex_; the account's config in force, without esims

  const StorageOptions storage_;
  mutable std::mutex fingerprint_mutex_;
  std::string fingerprint_;       // guarded by fingerprint_mutex_; the account the state belongs to
  double wall_minus_steady_ = 0;  // Unix seconds minus steady-clock seconds, at startup
  size_t restored_esims_ = 0;
  std::atomic<bool> ledger_failing_{false};  // log a failing ledger write once per change
  bool stopped_ = false;                     // guarded by apply_mutex_
  // Last: stopped and destroyed first, while everything it reads still exists.
  std::unique_ptr<StatePersister> persister_;
};

}  // namespace esim
