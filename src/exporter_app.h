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

  void Start();  // starts polling in the background
  void Stop();   // waits for requests in flight

  // Re-reads the config file; a config that does not validate is refused and the running one
  // stays. Returns an empty string on success, else the error.
  std::string Reload();

  void WaitUntilAllPolledOnce() { poller_.WaitUntilDone(); }

  std::string MetricsText(const RenderOptions& options = {}) const;
  std::string LandingPage(const std::string& telemetry_path) const;
  bool Ready() const { return store_.AllPolled(); }
  // True when the state and the poller answer (their locks are not stuck): for the watchdog.
  bool Alive() const;

 private:
  void Apply(const Config& config);  // throws std::exception when the API client cannot be built

  const std::string config_path_;
  const Shard shard_;
  StateStore store_;
  RateBudget budget_;
  ApiMetrics api_metrics_;
  Poller poller_;

  mutable std::mutex mutex_;
  ExporterStatus status_;  // guarded by mutex_
};

// Logs a config's warnings and, when the budget stretches the interval, says so with numbers.
void LogConfigFindings(const Config& config);

// The config as this replica runs it: loaded, validated, and cut to its shard.
Config LoadShardedConfig(const std::string& path, const Shard& shard);

}  // namespace esim
