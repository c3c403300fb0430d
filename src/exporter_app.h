// The running exporter: the config in force and the parts built from it (API client, request
// budget, poller, state), config reloads, and the pages the web server serves.
// Thread safe: Reload, MetricsText, LandingPage and Ready may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "api_metrics.h"
#include "collector.h"
#include "config.h"
#include "delivery_ids.h"
#include "inventory.h"
#include "landing_query.h"
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

class ExporterApp {
 public:
  // `once`: poll every eSIM once (for --once), instead of forever. `config` comes from
  // LoadShardedConfig(path, shard); reloads cut the new config to the same `shard`.
  // With `storage.dir`, the state saved there is restored before the constructor returns (so
  // before the first scrape), and the request budget's ledger is kept there from then on.
  ExporterApp(const Config& config, bool once, Shard shard = {}, StorageOptions storage = {});
  ~ExporterApp();

  void Start();  // starts polling and the inventory sweeps in the background
  // One inventory sweep and balance read on the calling thread (for --once; before Start).
  void RunInventoryOnce() { inventory_.RunOnce(); }
  void Stop();  // waits for requests in flight, then writes the durable state once more

  // Writes the durable state now (no-op without --storage.path); false when it failed.
  bool SaveState();
  // Webhook delivery ids of the last 24 h, kept in the durable state.
  DeliveryIdSet& delivery_ids() { return delivery_ids_; }
  // eSIMs restored from the durable state at startup.
  size_t restored_esims() const { return restored_esims_; }

  // Re-reads the config file; a config that does not validate is refused and the running one
  // stays. Returns an empty string on success, else the error.
  std::string Reload();

  // False when `timeout` passed first.
  bool WaitUntilAllPolledOnce(std::chrono::seconds timeout) {
    return poller_.WaitUntilDone(timeout);
  }

  std::string MetricsText(const RenderOptions& options = {}) const;
  // The same text, handed to `sink` in pieces while it is rendered (a scrape).
  void StreamMetricsText(const TextSink& sink) const;
  // The landing page for the request's query parameters (landing_query.h).
  std::string LandingPage(const std::string& telemetry_path, const QueryParams& query) const;
  // Every monitored eSIM observed once; with discovery, also the first complete sweep (before
  // it the set of eSIMs is not known yet).
  bool Ready() const;
  // One webhook delivery (docs/contract.md, "Webhooks"): in memory only, never an API call.
  WebhookAnswer HandleWebhook(const WebhookRequest& request);

  // True when the state and the poller answer (their locks are not stuck): for the watchdog.
  bool Alive() const;

 private:
  void Apply(const Config& config);  // throws std::exception when the API client cannot be built
  // Discovery changed the monitored eSIMs: hand them to the poller.
  void OnEsimsChanged();
  PollSchedule::Priority LivePriority(const Config& config, size_t esim_count) const;
  ExporterStatus Status() const;  // a copy taken under mutex_
  // Durable state: restores what --storage.path holds, attaches the budget ledger.
  void RestoreState(const Config& config);
  std::string EncodeState() const;
  double WallOf(std::chrono::steady_clock::time_point time) const;
  std::chrono::steady_clock::time_point SteadyOf(double wall) const;

  const std::string config_path_;
  // The webhook route as set up at startup (main.cc): reloads cannot move or add it.
  const WebhookConfig webhook_route_;
  const Shard shard_;
  const bool once_;
  std::mutex reload_mutex_;  // one reload (SIGHUP, POST, discovery) at a time
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
  Config config_;          // guarded by mutex_; the config in force

  const StorageOptions storage_;
  std::string Fingerprint() const;
  mutable std::mutex fingerprint_mutex_;
  std::string fingerprint_;       // guarded by fingerprint_mutex_; the account the state belongs to
  double wall_minus_steady_ = 0;  // Unix seconds minus steady-clock seconds, at startup
  size_t restored_esims_ = 0;
  std::atomic<bool> ledger_failing_{false};  // log a failing ledger write once per change
  bool stopped_ = false;                     // guarded by reload_mutex_
  // The reason of the last refused reload, logged once per reason: a flood of reloads of the
  // same broken config adds no lines. Cleared by a good reload. Guarded by reload_mutex_.
  std::string logged_reload_error_;
  // Last: stopped and destroyed first, while everything it reads still exists.
  std::unique_ptr<StatePersister> persister_;
};

// Logs a config's warnings and, when the budget stretches the interval, says so with numbers.
void LogConfigFindings(const Config& config);

// The config as this replica runs it: loaded, validated, and cut to its shard.
Config LoadShardedConfig(const std::string& path, const Shard& shard);

}  // namespace esim
