// The running exporter: the config in force and the parts built from it (API client, request
// budget, poller, state), config reloads, and the pages the web server serves.
// Thread safe: Reload, MetricsText, LandingPage and Ready may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api_metrics.h"
#include "collector.h"
#include "config.h"
#include "inventory.h"
#include "landing_query.h"
#include "poller.h"
#include "rate_budget.h"
#include "shard.h"
#include "state_store.h"

namespace esim {

class ExporterApp {
 public:
  // `once`: poll every eSIM once (for --once), instead of forever. `config` comes from
  // LoadShardedConfig(path, shard); reloads cut the new config to the same `shard`.
  ExporterApp(Config config, bool once, Shard shard = {});
  ~ExporterApp();

  void Start();  // starts polling and the inventory sweeps in the background
  // One inventory sweep and balance read on the calling thread (for --once; before Start).
  void RunInventoryOnce() { inventory_.RunOnce(); }
  void Stop();  // waits for requests in flight

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
  // True when the state and the poller answer (their locks are not stuck): for the watchdog.
  bool Alive() const;

 private:
  void Apply(const Config& config);  // throws std::exception when the API client cannot be built
  // Discovery changed the monitored eSIMs: hand them to the poller.
  void OnEsimsChanged();
  PollSchedule::Priority LivePriority(const Config& config, size_t esim_count) const;
  ExporterStatus Status() const;  // a copy taken under mutex_

  const std::string config_path_;
  const Shard shard_;
  const bool once_;
  std::mutex reload_mutex_;  // one reload (SIGHUP, POST, discovery) at a time
  StateStore store_;
  RateBudget budget_;
  ApiMetrics api_metrics_;
  Poller poller_;
  Inventory inventory_;  // after poller_: its callback uses the poller

  mutable std::mutex mutex_;
  ExporterStatus status_;  // guarded by mutex_
  Config config_;          // guarded by mutex_; the config in force
};

// Logs a config's warnings and, when the budget stretches the interval, says so with numbers.
void LogConfigFindings(const Config& config);

// The config as this replica runs it: loaded, validated, and cut to its shard.
Config LoadShardedConfig(const std::string& path, const Shard& shard);

}  // namespace esim
