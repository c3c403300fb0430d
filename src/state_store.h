// The latest known state of every monitored eSIM and of the API account: what /metrics and the
// landing page show. Live polls and inventory sweeps write, scrapes read a snapshot.
// Each field group of an eSIM (usage, lifecycle status, validity) holds the newest successful
// observation, live or listed.
// Thread safe: every method may be called from any thread. A snapshot is an immutable copy of
// pointers taken under a short lock; readers never wait for a poll.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api_client.h"
#include "config.h"
#include "esim_status.h"
#include "record_labels.h"

namespace esim {

struct PackageInfo {
  std::string code, name, countries;  // countries joined with ","
  bool operator==(const PackageInfo&) const = default;
};

struct EsimRecord {
  EsimConfig config;                 // from the config, or made up for an eSIM found by discovery
  bool discovered = false;           // not in the config: monitored because a sweep listed it
  std::optional<EsimStatus> status;  // merged: each field group from its newest observation
  // Unix seconds of the observation behind each field group of `status`.
  double usage_time = 0, lifecycle_time = 0, validity_time = 0;
  std::string learned_iccid;         // from a live answer or the listing
  std::optional<int64_t> listed_id;  // the vendor's eSIM id, from the listing
  std::optional<PackageInfo> package;
  bool polled = false;  // at least one observation attempt finished, successful or not
  bool last_poll_ok = false;
  std::string last_code;         // outcome of the latest attempt ("OK", "ESIM_NOT_FOUND", ...)
  std::string last_message;      // the API's text for the latest failure
  double last_poll_time = 0;     // Unix seconds
  double last_success_time = 0;  // Unix seconds of the newest successful observation; 0: none
  double last_listed_time = 0;   // Unix seconds when a sweep last listed it; 0: never
  // The label sets of its series, rendered by the store whenever the record changes; a record
  // built by hand (tests) may leave it empty and the renderer renders the labels itself.
  std::optional<RenderedLabels> labels;

  // The ICCID to label series with: configured, else learned from the API.
  const std::string& Iccid() const { return config.iccid.empty() ? learned_iccid : config.iccid; }
  // The vendor's eSIM id when known: configured, else from the listing.
  std::optional<int64_t> EsimId() const { return config.esim_id ? config.esim_id : listed_id; }
};

// What the latest API answers said about the API itself.
struct ApiState {
  std::optional<bool> up;  // esim_up; unknown before the first request
  RateLimitHeaders rate_limit;
  std::optional<double> server_time_offset;  // server Date minus our clock, seconds
};

// Account-wide figures from the inventory sweeps and the balance read.
struct AccountState {
  std::map<std::string, int64_t> esims_by_status;  // from each listing's pagination.total
  std::optional<AccountBalance> balance;
  double inventory_last_success_time = 0;  // end of the latest complete sweep; 0: none yet
};

struct StateSnapshot {
  std::vector<std::shared_ptr<const EsimRecord>> esims;  // config order, then discovered ones
  ApiState api;
  AccountState account;
};

class StateStore {
 public:
  // Sets the configured eSIMs in config order; known ones keep their state (with the new name
  // and labels), removed ones are forgotten. Discovered eSIMs stay when `keep_discovered`;
  // one that the config now names becomes a configured one.
  void SetEsims(const std::vector<EsimConfig>& esims, bool keep_discovered = false);

  // Records the outcome of one live poll at `now` (Unix seconds). Ignored for unknown keys (an
  // eSIM removed by a reload while its poll was in flight).
  void RecordPoll(const std::string& key, const ApiResult& result, double now);

  // Merges one page of a sweep seen at `now`. Listed eSIMs not monitored yet are added when
  // `discover`; returns how many were added.
  size_t RecordListed(const std::vector<ListedEsim>& listed, double now, bool discover);

  // Forgets discovered eSIMs that no sweep listed for `stale_after` seconds; returns how many.
  size_t DropVanished(double now, double stale_after);

  // Records what any API answer said about the API (esim_up, X-RateLimit-*).
  void RecordApiAnswer(const ApiResult& result, double now);

  void RecordSweep(const std::map<std::string, int64_t>& esims_by_status, double now);
  void RecordBalance(const AccountBalance& balance);

  std::shared_ptr<const StateSnapshot> Snapshot() const;

  // Every monitored eSIM (configured, then discovered) as the poller needs it.
  std::vector<EsimConfig> MonitoredEsims() const;
  // How urgently the eSIM needs a live poll (PollSchedule ranks): 2 nothing known yet, 1 its
  // latest status is ACTIVE, 0 otherwise.
  int LiveRank(const std::string& key) const;

  // True once every monitored eSIM has been observed at least once (/-/ready).
  bool AllPolled() const;

 private:
  void RebuildIndexLocked();
  std::shared_ptr<EsimRecord> FindListedLocked(const ListedEsim& listed);

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const EsimRecord>> esims_;  // guarded by mutex_
  std::map<std::string, size_t> by_key_;                  // Key() -> position in esims_
  std::map<std::string, size_t> by_iccid_;                // configured or learned ICCID
  std::map<int64_t, size_t> by_id_;                       // configured or listed eSIM id
  ApiState api_;                                          // guarded by mutex_
  AccountState account_;                                  // guarded by mutex_
};

}  // namespace esim
