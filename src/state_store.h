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
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api_client.h"
#include "config.h"
#include "esim_status.h"
#include "position_index.h"
#include "record_labels.h"
#include "shard.h"
#include "webhook_event.h"
#include "webhook_subscription.h"

namespace esim {

struct PackageInfo {
  std::string code, name, countries;  // countries joined with ","
  bool operator==(const PackageInfo&) const = default;
};

// What esim.installed and esim.profile.updated events tell beyond the status: few eSIMs get
// them, so a record holds a pointer (null until one came, shared by the record's copies) rather
// than ~100 bytes of fields in every record.
struct InstallationFacts {
  std::optional<double> installed_time;  // esim.installed's installed_at
  double installed_observed_time = 0;    // observation time of the event behind installed_time
  // Personal data, like the IMEI: exported only when metrics.export_eid_imsi opts in.
  std::optional<std::string> eid, imsi;
  bool operator==(const InstallationFacts&) const = default;
};

struct EsimRecord {
  EsimConfig config;        // from the config, or made up for an eSIM found by discovery
  bool discovered = false;  // not in the config: monitored because a sweep listed it
  // Merged: each field group from its newest observation. Its iccid is left empty: Iccid()
  // names the eSIM (a third copy of every ICCID cost ~5 MB per 100,000 eSIMs).
  std::optional<EsimStatus> status;
  // Unix seconds of the observation behind each field group of `status`.
  double usage_time = 0, lifecycle_time = 0, validity_time = 0;
  // status->used_bytes / total_bytes came from a live answer (GB with decimals): a listed value
  // (whole MB) that agrees with it within the list's rounding does not replace it.
  bool used_from_live = false, total_from_live = false;
  // From a live answer, the listing or an event; empty when it is config.iccid.
  std::string learned_iccid;
  std::optional<int64_t> listed_id;  // the vendor's eSIM id, from the listing
  // From the listing; shared by the record's copies (one per poll) while it stays the same.
  std::shared_ptr<const PackageInfo> package;

  // From webhook events (docs/contract.md, "Webhooks"); each with the time of its observation.
  double profile_time = 0;  // of status->profile (live answer or event)
  std::shared_ptr<const InstallationFacts> installation;  // null until an event brought one
  double last_event_time = 0;  // observation time of the newest applied event; 0: none

  // Any observation, live poll or sweep: readiness, staleness, the landing page's last poll.
  bool polled = false;           // at least one observation attempt finished, successful or not
  double last_poll_time = 0;     // Unix seconds of the latest observation attempt
  double last_success_time = 0;  // Unix seconds of the newest successful observation; 0: none
  // The outcome to show: the latest live poll's once one finished (a sweep that lists the eSIM
  // does not hide a failing live poll); before that, the listing's ("OK").
  bool last_poll_ok = false;
  std::string last_code;     // "OK", "ESIM_NOT_FOUND", ...
  std::string last_message;  // the API's text for that failure

  // Live-status polls alone (esim_poll_success{source="live"}); sweeps never change these.
  bool live_polled = false;           // a live poll finished, successful or not
  double last_live_time = 0;          // Unix seconds of the latest finished live poll; 0: none
  bool last_live_ok = false;          // the latest live poll succeeded
  double last_live_success_time = 0;  // Unix seconds; 0: none

  // Inventory sweeps alone (esim_poll_success{source="list"}).
  double last_listed_time = 0;  // Unix seconds when a sweep last listed it; 0: never
  // Listed by the latest complete sweep (or by the running one); false once a complete sweep
  // since its last listing did not list it. Meaningful only when last_listed_time > 0.
  bool last_list_ok = false;

  // The label sets of its series, rendered by the store whenever the record changes; a record
  // built by hand (tests) may leave it empty and the renderer renders the labels itself.
  std::optional<RenderedLabels> labels;

  // The installation facts, empty ones when no event brought any.
  const InstallationFacts& Installation() const {
    static const InstallationFacts kNone;
    return installation ? *installation : kNone;
  }
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
  // An API-imposed pause (RATE_LIMIT_EXCEEDED, X-RateLimit-Remaining: 0): Unix seconds until it
  // holds, and what imposed it; nullopt while none holds.
  std::optional<double> paused_until;
  std::string pause_reason;
  // The latest answer refused our credentials (INVALID_SIGNATURE, INVALID_API_KEY, ...).
  bool credentials_refused = false;
};

// Account-wide figures from the inventory sweeps and the balance read. With sharding, only the
// replica that reads the account (Shard::ReadsAccount) has esims_by_status and balance.
struct AccountState {
  std::map<std::string, int64_t> esims_by_status;  // from each listing's pagination.total
  std::optional<AccountBalance> balance;
  double inventory_last_success_time = 0;  // end of the latest complete sweep; 0: none yet
};

// What this replica's inventory sweeps saw, beyond the eSIMs themselves.
struct SweepState {
  // List entries skipped since the exporter started (esim_inventory_skipped_entries_total).
  int64_t skipped_pending = 0, skipped_malformed = 0;
  // inventory.max_discovered while discovery is on; nullopt while it is off.
  std::optional<int64_t> discovery_limit;
  // Listed eSIMs of this replica that are not monitored because the limit is reached.
  int64_t discovery_over_limit = 0;
};

// The reads of the key's webhook subscription (GET /webhooks) on the account-reading replica.
struct SubscriptionReads {
  std::optional<bool> last_ok;                      // the latest read; nullopt before the first
  double last_success_time = 0;                     // Unix seconds; 0: none yet
  std::optional<WebhookSubscriptionHealth> health;  // from the latest successful read
};

// What the webhook receiver saw (esim_webhook_*).
struct WebhookState {
  bool enabled = false;  // a receiver is configured: its families are exported
  // Deliveries by (event label, outcome) since the exporter started.
  std::map<std::pair<std::string, std::string>, int64_t> deliveries;
  double last_applied_time = 0;  // Unix seconds; 0: none yet
  SubscriptionReads subscription;
};

struct StateSnapshot {
  std::vector<std::shared_ptr<const EsimRecord>> esims;  // config order, then discovered ones
  ApiState api;
  AccountState account;
  SweepState inventory;
  WebhookState webhooks;
};

// Which listed eSIMs that nobody monitors yet a sweep adds.
struct DiscoveryRules {
  bool enabled = false;
  // Only this replica's: Shard::Owns("iccid:<digits>"), and not named by esim_id in the config
  // of another replica.
  Shard shard;
  std::set<int64_t> other_shards_esim_ids;
  int64_t max_discovered = 50000;  // discovered eSIMs monitored at most
};

// A restore in progress in a StateStore (BeginRestore to FinishRestore).
struct PendingRestore {
  bool keep_discovered = false;
  size_t configured = 0;                 // records at BeginRestore: added ones follow
  std::unordered_set<std::string> seen;  // keys taken: a key twice, the first one counts
  std::vector<size_t> replaced;          // positions (< configured) given a saved record
};

class StateStore {
 public:
  // `account`: the account (API key) whose eSIMs this store holds; eSIMs found by discovery
  // take it (EsimConfig::account, label `account`). Empty: the unnamed account.
  explicit StateStore(std::string account = {}) : account_name_(std::move(account)) {}

  // Sets the configured eSIMs in config order; known ones keep their state (with the new name
  // and labels), removed ones are forgotten. Discovered eSIMs stay when `keep_discovered`;
  // one that the config now names becomes a configured one.
  void SetEsims(const std::vector<EsimConfig>& esims, bool keep_discovered = false);

  // Records the outcome of one live poll answered at `now` (Unix seconds) to a request sent at
  // `requested` (default: `now`); its values count as observed at AnswerObservedAt(requested).
  // Ignored for unknown keys (an eSIM removed by a reload while its poll was in flight).
  void RecordPoll(const std::string& key, const ApiResult& result, double now,
                  std::optional<double> requested = std::nullopt);

  // Merges one page of a sweep seen at `now`; listed eSIMs not monitored yet are added as
  // `discovery` says. Returns how many were added, and how many would have been but for
  // discovery.max_discovered.
  struct ListedOutcome {
    size_t over_limit = 0;
    std::vector<std::string> listed_keys;  // Key() of every monitored eSIM the page listed
    std::vector<std::string> added_keys;   // of those, the ones it added (in esims order)
    size_t added() const { return added_keys.size(); }
  };
  // `requested`: when the page was asked for (default: `now`), as for RecordPoll.
  ListedOutcome RecordListed(const std::vector<ListedEsim>& listed, double now,
                             const DiscoveryRules& discovery = {},
                             std::optional<double> requested = std::nullopt);

  // Applies one webhook event observed at `observed` (Unix seconds; the event's own time) and
  // received at `now`: each field group it reports is taken only when no newer observation of
  // that group is held, whatever its source. An eSIM nobody monitors is added when
  // `discovery` allows it (as a sweep would), else the event is not applied.
  struct EventOutcome {
    bool applied = false;  // false: the eSIM is not monitored (and discovery did not add it)
    bool added = false;    // discovery added it
    std::string key;       // the eSIM's EsimConfig::Key() when applied
  };
  EventOutcome RecordEvent(const WebhookEvent& event, double observed, double now,
                           const DiscoveryRules& discovery = {});

  // Counts one webhook delivery (esim_webhook_deliveries_total); "applied" also sets the time
  // of the last applied one.
  void RecordDelivery(std::string_view event_label, std::string_view outcome, double now);
  // Whether a receiver is configured (its families are exported even before any delivery).
  void SetWebhookEnabled(bool enabled);
  // One read of the webhook subscription at `now`: its summary, or nullopt when it failed (the
  // previous summary stays, like the balance).
  void RecordSubscriptionRead(std::optional<WebhookSubscriptionHealth> health, double now);
  // What an earlier run read (durable state); ignored once this run has read it itself.
  void RestoreSubscription(const SubscriptionReads& reads);
  // Forgets every read (reads turned off).
  void ClearSubscription();

  // Forgets discovered eSIMs that no sweep listed for `stale_after` seconds; returns how many.
  size_t DropVanished(double now, double stale_after);

  // Records what any API answer said about the API (esim_up, X-RateLimit-*).
  void RecordApiAnswer(const ApiResult& result, double now);
  // An API-imposed pause: until when it holds (Unix seconds; nullopt: none holds) and why.
  void SetApiPause(std::optional<double> until, std::string reason);
  // Whether the latest answer refused our credentials (esim_api_credentials_refused).
  void SetCredentialsRefused(bool refused);

  // Ends a complete sweep that started at `started` and ended at `now`: monitored eSIMs it did
  // not list are marked so (last_list_ok). `esims_by_status`: the account's counts, nullopt on
  // a replica that does not read account figures.
  void RecordSweep(const std::optional<std::map<std::string, int64_t>>& esims_by_status,
                   double started, double now);
  void RecordSkipped(const SkippedEntries& skipped);
  // Discovery's limit while it is on (nullopt: off), and the eSIMs over it.
  void SetDiscoveryLimit(std::optional<int64_t> limit);
  void RecordDiscoveryOverLimit(int64_t over_limit);
  void RecordBalance(const AccountBalance& balance);

  std::shared_ptr<const StateSnapshot> Snapshot() const;

  // Restores what an earlier run saved (call after SetEsims, before polling): configured eSIMs
  // (matched by key) take their saved records under their current config; saved discovered
  // ones are added when `keep_discovered`; the rest are dropped. The account figures come back
  // too. Returns how many eSIMs were restored. The records are taken over, never copied (a
  // large fleet's restore would hold each twice).
  size_t Restore(std::vector<std::shared_ptr<EsimRecord>> records, const AccountState& account,
                 bool keep_discovered);
  size_t Restore(std::vector<EsimRecord> records, const AccountState& account,
                 bool keep_discovered);

  // The same, a record at a time as the state file is read: each taken record replaces the
  // fresh one at once, so a large fleet's restore never holds two records per eSIM. Begin, then
  // RestoreRecord for each saved record, then FinishRestore (the account figures, the index;
  // returns how many were restored), or AbandonRestore when the file turns out unusable further
  // on (every eSIM fresh again, as if nothing had been restored).
  void BeginRestore(bool keep_discovered);
  void RestoreRecord(std::shared_ptr<EsimRecord> record);
  size_t FinishRestore(const AccountState& account);
  void AbandonRestore();

  // Every monitored eSIM's key (configured, then discovered): what the poller needs.
  std::vector<std::string> MonitoredKeys() const;
  // Whether the configured eSIMs (not discovered ones) are `esims`, in order.
  bool ConfiguredEsimsAre(const std::vector<EsimConfig>& esims) const;
  // How urgently the eSIM needs a live poll (PollSchedule ranks): 2 nothing known yet, 1 its
  // latest status is ACTIVE, 0 otherwise.
  int LiveRank(const std::string& key) const;
  // (key, LiveRank) of each of `keys` that is monitored, under one lock; unknown ones are left
  // out (a reload dropped them).
  std::vector<std::pair<std::string, int>> LiveRanks(const std::vector<std::string>& keys) const;

  size_t EsimCount() const;

  // True once every monitored eSIM has been observed at least once (/-/ready).
  bool AllPolled() const;

 private:
  void RebuildIndexLocked();
  // Adds the record at `position` to the indexes by ICCID and eSIM id.
  void IndexIdsLocked(size_t position);
  // Indexes the ICCID or id the record at `position` learned since `old_iccid`/`old_id`: a key
  // it lacked that no other record has. False when only a rebuild keeps the index right.
  bool IndexLearnedIdsLocked(size_t position, const std::string& old_iccid,
                             const std::optional<int64_t>& old_id);
  // The position of the record with this Key() / Iccid() / EsimId(), if any.
  std::optional<size_t> FindKeyLocked(const std::string& key) const;
  int LiveRankLocked(size_t position) const;
  // Appends a discovered record that no index holds yet, and indexes it.
  void AppendDiscoveredLocked(std::shared_ptr<EsimRecord> record);
  std::optional<size_t> FindIccidLocked(const std::string& iccid) const;
  std::optional<size_t> FindIdLocked(int64_t id) const;
  std::optional<size_t> FindListedLocked(const ListedEsim& listed) const;

  const std::string account_name_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const EsimRecord>> esims_;  // guarded by mutex_
  // Positions in esims_ by Key(), by ICCID (configured or learned) and by eSIM id (configured
  // or listed); the records hold the keys. Guarded by mutex_.
  PositionIndex by_key_, by_iccid_, by_id_;
  ApiState api_;                 // guarded by mutex_
  AccountState account_;         // guarded by mutex_
  SweepState sweeps_;            // guarded by mutex_
  WebhookState webhooks_;        // guarded by mutex_
  size_t discovered_count_ = 0;  // records with `discovered`; guarded by mutex_

  std::optional<PendingRestore> restoring_;  // guarded by mutex_
};

}  // namespace esim
