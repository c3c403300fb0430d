// The live-status polling loop: max_concurrency worker threads take the next due eSIM from the
// PollSchedule, wait for the RateBudget, call the API and record the answer in the StateStore.
// Thread safe: Reconfigure and Stop may be called from any thread while workers run.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_client.h"
#include "api_metrics.h"
#include "config.h"
#include "poll_schedule.h"
#include "rate_budget.h"
#include "saved_progress.h"
#include "state_store.h"

namespace esim {

// Anything that fetches one eSIM's status; ApiClient in production, fakes in tests.
using StatusFetcher = std::function<ApiResult(const EsimConfig&)>;

class Poller {
 public:
  struct Settings {
    std::vector<std::string> keys;  // the eSIMs' EsimConfig::Key(), in config order
    std::chrono::milliseconds interval{std::chrono::minutes(15)};
    RateLimitConfig limits;
    int max_concurrency = 4;
    PollSchedule::Priority priority;  // on when inventory sweeps cover the basics
  };

  // `once`: poll every eSIM once, then idle (see WaitUntilDone).
  Poller(StateStore& store, RateBudget& budget, ApiMetrics& metrics, bool once = false);
  ~Poller();

  // Applies new settings and a new fetcher (the API client of the new config). eSIMs kept by
  // the reload keep their schedule; new ones are polled as soon as the budget allows.
  void Reconfigure(Settings settings, StatusFetcher fetcher);
  // A new set of eSIMs (discovery found or lost some) under the same settings; `rank_of`
  // gives each one's PollSchedule rank for priority mode.
  void UpdateEsims(const std::vector<std::string>& keys, PollSchedule::Priority priority,
                   const std::function<int(const std::string&)>& rank_of);
  // eSIMs discovery added (key, rank), polled as soon as the budget allows; the others keep
  // their schedule (PollSchedule::Append: priority mode only). Keys it holds already are
  // skipped.
  void AddEsims(const std::vector<std::pair<std::string, int>>& ranks,
                PollSchedule::Priority priority);
  // New PollSchedule ranks for some eSIMs (key, rank), for priority mode; unknown keys are
  // ignored. When each is due does not change: no worker wakes.
  void Rerank(const std::vector<std::pair<std::string, int>>& ranks);
  // A webhook event announced a change of this eSIM: one live poll as soon as the budget
  // allows, never within 60 s of its last poll or of the last such request
  // (PollSchedule::PollSoon). Never blocks on a request; false when nothing changed.
  bool PollSoon(const std::string& key);

  void Start();
  void Stop();  // returns once every worker has finished its request in flight

  // In once mode: blocks until every eSIM has been polled once (or Stop, or `timeout`);
  // false on timeout.
  bool WaitUntilDone(std::chrono::seconds timeout);

  std::chrono::milliseconds interval() const;

  // The schedule for the durable state, and back (PollSchedule::ProgressOf / Restore): the
  // progress of each of `records`, in their order (nullopt: not scheduled), looked up under one
  // lock. A copy of the whole schedule keyed by strings cost ~15 MB at 100,000 eSIMs at every
  // state write.
  std::vector<std::optional<PollSchedule::Progress>> ProgressOf(
      const std::vector<std::shared_ptr<const EsimRecord>>& records) const;
  void RestoreProgress(const SavedProgress& progress);

 private:
  void WorkerLoop();
  // `started`: when the worker took the poll (steady clock); `requested`: when it sent the
  // request (Unix seconds), the answer's observation time.
  void HandleResult(const std::string& key, const ApiResult& result,
                    std::chrono::steady_clock::time_point started, double requested);
  void SpawnWorkersLocked();

  StateStore& store_;
  RateBudget& budget_;
  ApiMetrics& metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // workers only: a notify_one always reaches a worker
  std::condition_variable done_;  // WaitUntilDone: stopping, or once mode's last poll done
  // The due time one worker waits for; the others wait until woken (none: in the past). When
  // all idle workers (up to 64) woke at each due time and all but one went back to sleep, the
  // wake-ups cost more CPU than the polls.
  std::chrono::steady_clock::time_point timed_wait_until_;  // guarded by mutex_
  PollSchedule schedule_;                                   // guarded by mutex_
  Settings settings_;                                       // guarded by mutex_
  StatusFetcher fetcher_;                                   // guarded by mutex_
  int max_concurrency_ = 1;                                 // guarded by mutex_
  bool started_ = false;                                    // guarded by mutex_
  bool stopping_ = false;                                   // guarded by mutex_
  // Failing eSIMs: the failure code last logged. Guarded by mutex_; log once per change.
  std::map<std::string, std::string> last_logged_code_;
  std::string credential_refusal_;  // guarded by mutex_; the code while the API refuses us
  std::mt19937_64 random_;          // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace esim
