// The running exporter: the config in force and one AccountRuntime per account (API key), config
// reloads that add, change and remove accounts, and the pages the web server serves.
// Thread safe: Reload, MetricsText, LandingPage, Ready and HandleWebhook may be called from any
// thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "account_runtime.h"
#include "collector.h"
#include "config.h"
#include "landing_query.h"
#include "shard.h"
#include "webhook_receiver.h"

namespace esim {

class ExporterApp {
 public:
  // `once`: poll every eSIM once (for --once), instead of forever. `config` comes from
  // LoadShardedConfig(path, shard); reloads cut the new config to the same `shard`.
  // With `storage.dir`, each account's saved state is restored before the constructor returns
  // (so before the first scrape), and its request budget's ledger is kept there from then on.
  ExporterApp(Config config, bool once, Shard shard = {}, StorageOptions storage = {});
  ~ExporterApp();

  void Start();  // starts every account's polling and inventory sweeps in the background
  // One inventory sweep and balance read per account on the calling thread (--once; before
  // Start).
  void RunInventoryOnce();
  void Stop();  // waits for requests in flight, then writes the durable state once more

  // Writes every account's durable state now (no-op without --storage.path); false when a
  // write failed.
  bool SaveState();

  // Re-reads the config file; a config that does not validate is refused and the running one
  // stays. Accounts keep their state when their name stays; added ones start, removed ones
  // stop (their state is written once more). Returns an empty string on success, else the
  // error.
  std::string Reload();

  // False when `timeout` passed first (for every account together).
  bool WaitUntilAllPolledOnce(std::chrono::seconds timeout);

  std::string MetricsText(const RenderOptions& options = {}) const;
  // The same text, handed to `sink` in pieces while it is rendered (a scrape).
  void StreamMetricsText(const TextSink& sink) const;
  // The landing page for the request's query parameters (landing_query.h).
  std::string LandingPage(const std::string& telemetry_path, const QueryParams& query) const;
  // Every account ready (AccountRuntime::Ready).
  bool Ready() const;
  // One webhook delivery, for the account whose receiver path it came to.
  WebhookAnswer HandleWebhook(const WebhookRequest& request);

  // True when every account's state and poller answer: for the watchdog.
  bool Alive() const;

 private:
  using Runtimes = std::vector<std::shared_ptr<AccountRuntime>>;
  Runtimes Accounts() const;  // the accounts in force, in config order (a copy)
  std::shared_ptr<AccountRuntime> MakeRuntime(const Config& account) const;
  // The shared figures (reloads) over one account's status.
  ExporterStatus StatusOf(const AccountRuntime& account) const;
  struct PageAccounts;
  PageAccounts ReadAccounts() const;

  const std::string config_path_;
  const Shard shard_;
  const bool once_;
  const StorageOptions storage_;
  // Each account's webhook route as set up at startup (main.cc), by account name: reloads
  // cannot move or add one.
  const std::map<std::string, WebhookConfig> webhook_routes_;

  std::mutex reload_mutex_;  // one reload at a time
  bool started_ = false;     // guarded by reload_mutex_: accounts added later start at once
  // The reason of the last refused reload, logged once per reason: a flood of reloads of the
  // same broken config adds no lines. Cleared by a good reload. Guarded by reload_mutex_.
  std::string logged_reload_error_;

  mutable std::mutex mutex_;
  Runtimes accounts_;           // guarded by mutex_
  Config config_;               // guarded by mutex_; the config in force, without its eSIM lists
  bool last_reload_ok_ = true;  // guarded by mutex_
  double last_reload_success_time_ = 0;  // guarded by mutex_; Unix seconds
};

// Logs a config's warnings and, for each account whose budget stretches the interval, says so
// with numbers.
void LogConfigFindings(const Config& config);

// The config as this replica runs it: loaded, validated, and cut to its shard.
Config LoadShardedConfig(const std::string& path, const Shard& shard);

}  // namespace esim
