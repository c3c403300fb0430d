#include "account_runtime.h"

#include <chrono>

#include "api_client.h"
#include "api_feedback.h"
#include "http_transport.h"
#include "log.h"
#include "poll_schedule.h"
#include "saved_progress.h"
#include "state_file.h"

namespace esim {

AccountRuntime::AccountRuntime(const Config& config, bool once, Shard shard, StorageOptions storage,
                               WebhookConfig webhook_route)
    : name_(config.account),
      state_file_(StateFileName(config.account)),
      ledger_file_(LedgerFileName(config.account)),
      webhook_route_(std::move(webhook_route)),
      shard_(shard),
      once_(once),
      store_(config.account),
      budget_(config.api.rate_limit),
      api_metrics_(config.account),
      poller_(store_, budget_, api_metrics_, once),
      inventory_(store_, budget_, api_metrics_,
                 [this](const std::optional<Inventory::PageChange>& page) {
                   if (page) {
                     OnEsimsListed(*page);
                   } else {
                     OnEsimsChanged();
                   }
                 }),
      webhooks_(store_, delivery_ids_, [this](const std::string& key) { poller_.PollSoon(key); }),
      storage_(storage) {
  LogAccountScope log_scope(name_);
  Apply(config);
}

AccountRuntime::~AccountRuntime() { Stop(); }

void AccountRuntime::Start() {
  LogAccountScope log_scope(name_);  // the account's threads take it along
  poller_.Start();
  if (!once_) inventory_.Start();  // --once sweeps through RunInventoryOnce instead
  if (persister_) persister_->Start();
}

void AccountRuntime::Stop() {
  inventory_.Stop();
  poller_.Stop();
  std::lock_guard<std::mutex> lock(apply_mutex_);
  if (persister_ && !stopped_) {
    // Nothing is in flight any more: the ledger keeps only what was really sent.
    budget_.ReleaseReservation();
    persister_->Stop();  // the clean-stop write
  }
  stopped_ = true;
}

std::string AccountRuntime::Fingerprint() const {
  std::lock_guard<std::mutex> lock(fingerprint_mutex_);
  return fingerprint_;
}

bool AccountRuntime::SaveState() { return persister_ ? persister_->WriteNow() : true; }

double AccountRuntime::WallOf(std::chrono::steady_clock::time_point time) const {
  return std::chrono::duration<double>(time.time_since_epoch()).count() + wall_minus_steady_;
}

std::chrono::steady_clock::time_point AccountRuntime::SteadyOf(double wall) const {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(wall - wall_minus_steady_)));
}

namespace {

// Reads DIR/name through `decode`; nullopt when missing. A file that cannot be used is moved
// aside with a warning naming it (the exporter starts fresh rather than crash-looping on its own
// file).
template <typename T, typename Decode>
std::optional<T> ReadStateFile(const StorageDir& dir, const std::string& name,
                               const std::string& fingerprint, const Decode& decode) {
  const std::string path = dir.File(name);
  std::string error;
  bool missing = false;
  FileSource file;
  if (!file.Open(path, error, missing)) {
    if (missing) return std::nullopt;
    LogWarn("cannot read the durable state; starting fresh", {{"error", error}});
  } else {
    std::optional<T> decoded = decode(file, error);
    if (decoded && decoded->fingerprint == fingerprint) return decoded;
    if (decoded) {
      error = "written for another API account (api.url or api.access_code changed), not restored";
    }
  }
  const std::string aside = dir.MoveAside(name, static_cast<long long>(WallNow()));
  LogWarn("the durable state file cannot be used; it is moved aside and the exporter starts fresh",
          {{"file", path},
           {"moved_to", aside.empty() ? "(could not be moved)" : aside},
           {"error", error}});
  return std::nullopt;
}

}  // namespace

void AccountRuntime::RestoreState() {
  if (!storage_.dir || persister_) return;
  LogAccountScope log_scope(name_);
  const StorageDir& dir = *storage_.dir;
  const Config config = ConfigInForce();          // without eSIM lists
  const std::string fingerprint = Fingerprint();  // set by Apply
  const auto steady_now = std::chrono::steady_clock::now();
  const double wall_now = WallNow();
  wall_minus_steady_ =
      wall_now - std::chrono::duration<double>(steady_now.time_since_epoch()).count();
  persister_ = std::make_unique<StatePersister>(dir, state_file_, storage_.write_interval,
                                                [this](ByteSink& out) { WriteStateFile(out); });

  // The budget first: its windows continue, an unused reservation counts as spent.
  if (const auto ledger = ReadStateFile<PersistedLedger>(
          dir, ledger_file_, fingerprint,
          [](const ByteSource& file, std::string& error) { return DecodeLedger(file, error); })) {
    RateBudget::Ledger restored;
    restored.sent = ledger->sent;
    restored.reserved = ledger->reserved;
    restored.paused_until = ledger->paused_until;
    restored.backoff_seconds = ledger->backoff_seconds;
    budget_.RestoreLedger(restored, steady_now);
  }
  budget_.AttachLedger(
      [this, &dir](const RateBudget::Ledger& ledger) {
        PersistedLedger file;
        file.fingerprint = Fingerprint();
        file.written = WallNow();
        file.sent = ledger.sent;
        file.reserved = ledger.reserved;
        file.paused_until = ledger.paused_until;
        file.backoff_seconds = ledger.backoff_seconds;
        const std::string error = dir.WriteAtomically(ledger_file_, EncodeLedger(file));
        if (!error.empty()) {
          persister_->CountFailure();
          if (!ledger_failing_.exchange(true)) {
            LogError("cannot write the request-budget ledger; requests are sent anyway",
                     {{"error", error}});
          }
          return false;
        }
        ledger_failing_ = false;
        return true;
      },
      wall_minus_steady_);

  // Each eSIM goes from its line into the record the store keeps, moved, never copied, and
  // replaces the fresh record at once: a large fleet's restore holds each record once. A file
  // refused halfway (or of another account) restores nothing.
  const bool keep_discovered = config.inventory.enabled && config.inventory.discover;
  SavedProgress progress;
  size_t saved_esims = 0;
  store_.BeginRestore(keep_discovered);
  const auto state = ReadStateFile<PersistedState>(
      dir, state_file_, fingerprint, [&](const ByteSource& file, std::string& error) {
        return DecodeState(
            file,
            [&](PersistedEsim&& esim) {
              if (esim.last_attempt > 0) {
                // A last attempt "in the future" (the clock went back) counts as now.
                progress.Add(esim.record.config.Key(),
                             {SteadyOf(std::min(esim.last_attempt, wall_now)), esim.failures});
              }
              ++saved_esims;
              store_.RestoreRecord(std::make_shared<EsimRecord>(std::move(esim.record)));
            },
            error);
      });
  if (!state) {
    store_.AbandonRestore();
  } else {
    restored_esims_ = store_.FinishRestore(state->account);
    if (state->paused_until > wall_now) {
      store_.SetApiPause(state->paused_until, state->pause_reason);
    }
    // Discovered eSIMs came back: the poller learns them (and every rank) before it starts.
    OnEsimsChanged();
    poller_.RestoreProgress(progress);
    inventory_.RestoreNextDue(
        {state->next_sweep_time, state->next_balance_time, state->next_webhook_check_time},
        wall_now);
    const bool subscription_reads = webhook_route_.enabled && config.webhook.enabled &&
                                    config.webhook.check_interval.count() > 0 &&
                                    shard_.ReadsAccount();
    if (state->webhook_subscription && subscription_reads) {
      store_.RestoreSubscription(*state->webhook_subscription);
    }
    delivery_ids_.Restore(state->delivery_ids, wall_now);
    LogInfo("durable state restored",
            {{"file", dir.File(state_file_)},
             {"esims", std::to_string(restored_esims_)},
             {"saved_esims", std::to_string(saved_esims)},
             {"age_seconds", std::to_string(static_cast<int64_t>(wall_now - state->written))}});
  }
  std::lock_guard<std::mutex> lock(mutex_);
  status_.storage = ExporterStatus::Storage{};
  status_.storage->restored_esims = static_cast<int64_t>(restored_esims_);
}

void AccountRuntime::WriteStateFile(ByteSink& out) const {
  PersistedState state;
  state.fingerprint = Fingerprint();
  const auto snapshot = store_.Snapshot();
  const auto progress = poller_.ProgressOf(snapshot->esims);
  const auto steady_now = std::chrono::steady_clock::now();
  const double wall_now = WallNow();
  state.written = wall_now;
  state.account = snapshot->account;
  if (snapshot->api.paused_until) {
    state.paused_until = *snapshot->api.paused_until;
    state.pause_reason = snapshot->api.pause_reason;
  }
  const Inventory::NextDue due = inventory_.NextDueAt(wall_now);
  state.next_sweep_time = due.sweep;
  state.next_balance_time = due.balance;
  state.next_webhook_check_time = due.webhook;
  if (snapshot->webhooks.subscription.health) {
    state.webhook_subscription = snapshot->webhooks.subscription;
  }
  state.delivery_ids = delivery_ids_.Entries();
  // The snapshot's records are immutable: encoded as they are, one at a time, without a copy.
  esim::WriteState(state, out, [&](const EsimVisitor& visit) {
    PersistedEsim esim;
    for (size_t i = 0; i < snapshot->esims.size(); ++i) {
      esim.shared = snapshot->esims[i];
      esim.last_attempt = 0;
      esim.failures = 0;
      if (const auto& scheduled = progress[i]) {
        if (scheduled->last_start) {
          esim.last_attempt =
              wall_now - std::chrono::duration<double>(steady_now - *scheduled->last_start).count();
        }
        esim.failures = scheduled->failures;
      }
      visit(esim);
    }
  });
}

PollSchedule::Priority AccountRuntime::LivePriority(const Config& config, size_t esim_count) const {
  if (!config.inventory.enabled) return {};
  // The bulk reads come first: what a sweep costs (as last measured, else estimated from the
  // fleet) and the balance reads, on average per second.
  const size_t estimated_pages =
      config.inventory.statuses.size() * std::max<size_t>(1, (esim_count + 99) / 100);
  const double pages = static_cast<double>(inventory_.last_sweep_pages().value_or(estimated_pages));
  double bulk_per_second = pages / std::chrono::duration<double>(config.inventory.interval).count();
  if (config.balance.interval.count() > 0 && shard_.ReadsAccount()) {
    bulk_per_second += 1.0 / std::chrono::duration<double>(config.balance.interval).count();
  }
  if (config.webhook.enabled && config.webhook.check_interval.count() > 0 &&
      shard_.ReadsAccount()) {
    bulk_per_second += 1.0 / std::chrono::duration<double>(config.webhook.check_interval).count();
  }
  const auto spacing = LiveSpacing(config.api.rate_limit, bulk_per_second);
  if (!spacing) {
    LogWarn(
        "the inventory sweeps take the whole request budget: no live-status polls (raise "
        "rate_limit, lengthen inventory.interval, or list fewer statuses)");
    return {true, std::chrono::hours(24)};
  }
  return {true, *spacing};
}

WebhookAnswer AccountRuntime::HandleWebhook(const WebhookRequest& request) {
  LogAccountScope log_scope(name_);
  WebhookAnswer answer = webhooks_.Handle(request, WallNow());
  // Discovery added the eSIM the event announced: the poller takes it on (in memory).
  if (!answer.added_key.empty()) AddToPoller({answer.added_key});
  return answer;
}

void AccountRuntime::OnEsimsChanged() {
  std::lock_guard<std::mutex> apply_lock(apply_mutex_);
  UpdatePollerLocked(ConfigInForce());
}

void AccountRuntime::UpdatePollerLocked(const Config& config) {
  const std::vector<std::string> keys = store_.MonitoredKeys();
  poller_.UpdateEsims(keys, LivePriority(config, keys.size()),
                      [this](const std::string& key) { return store_.LiveRank(key); });
  std::lock_guard<std::mutex> lock(mutex_);
  status_.poll_interval = poller_.interval();
}

Config AccountRuntime::ConfigInForce() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_;
}

void AccountRuntime::OnEsimsListed(const Inventory::PageChange& page) {
  if (!page.added_keys.empty()) AddToPoller(page.added_keys);
  poller_.Rerank(store_.LiveRanks(page.listed_keys));
}

void AccountRuntime::AddToPoller(const std::vector<std::string>& added_keys) {
  // The poller takes on these alone: handing it the whole fleet for every page or event that
  // added eSIMs made discovering a large account quadratic in its size.
  std::lock_guard<std::mutex> apply_lock(apply_mutex_);
  const Config config = ConfigInForce();
  const PollSchedule::Priority priority = LivePriority(config, store_.EsimCount());
  if (!priority.enabled) {  // sweeps off (or turned off by a reload meanwhile)
    UpdatePollerLocked(config);
    return;
  }
  // Unknown keys are left out: a reload under apply_mutex_ may have dropped them already.
  poller_.AddEsims(store_.LiveRanks(added_keys), priority);
  std::lock_guard<std::mutex> lock(mutex_);
  status_.poll_interval = poller_.interval();
}

void AccountRuntime::Apply(const Config& config) {
  std::lock_guard<std::mutex> apply_lock(apply_mutex_);
  LogAccountScope log_scope(name_);
  HttpTransportOptions transport_options;
  transport_options.base_url = config.api.url;
  transport_options.ca_file = config.api.ca_file;
  transport_options.ca_pem = config.api.ca_pem;
  transport_options.timeout = config.api.timeout;
  transport_options.max_connections = static_cast<size_t>(config.api.max_concurrency);
  transport_options.max_body_bytes = config.api.max_response_bytes;
  auto client = std::make_shared<ApiClient>(config.api.access_code, config.api.secret_key,
                                            std::make_shared<HttplibTransport>(transport_options),
                                            [] { return WallNow(); });

  budget_.SetLimits(config.api.rate_limit);
  store_.SetEsims(config.esims, config.inventory.enabled && config.inventory.discover);
  Poller::Settings settings;
  settings.keys = store_.MonitoredKeys();
  settings.interval = config.poll.interval;
  settings.limits = config.api.rate_limit;
  settings.max_concurrency = config.api.max_concurrency;
  settings.priority = LivePriority(config, settings.keys.size());
  const size_t monitored = settings.keys.size();
  const PollSchedule::Priority priority = settings.priority;
  poller_.Reconfigure(std::move(settings),
                      [client](const EsimConfig& esim) { return client->FetchStatus(esim); });
  Inventory::Settings inventory_settings;
  inventory_settings.inventory = config.inventory;
  inventory_settings.balance = config.balance;
  // Subscription reads serve the receiver's health: without a route no delivery can arrive.
  if (webhook_route_.enabled && config.webhook.enabled) {
    inventory_settings.webhook_check_interval = config.webhook.check_interval;
    inventory_settings.webhook_public_url = config.webhook.public_url;
  }
  inventory_settings.stale_after = config.poll.stale_after;
  inventory_settings.shard = shard_;
  inventory_settings.other_shards_esim_ids = config.other_shards_esim_ids;
  inventory_.Reconfigure(inventory_settings, client);
  // Reads turned off (or never on for this replica): what an earlier read said is not kept
  // on show forever.
  if (inventory_settings.webhook_check_interval.count() == 0 || !shard_.ReadsAccount()) {
    store_.ClearSubscription();
  }
  WebhookReceiverSettings webhook_settings;
  webhook_settings.secret = config.webhook.secret;
  webhook_settings.max_age_seconds = std::chrono::duration<double>(config.webhook.max_age).count();
  webhook_settings.discovery.enabled = config.inventory.enabled && config.inventory.discover;
  webhook_settings.discovery.shard = shard_;
  webhook_settings.discovery.other_shards_esim_ids = {config.other_shards_esim_ids.begin(),
                                                      config.other_shards_esim_ids.end()};
  webhook_settings.discovery.max_discovered = config.inventory.max_discovered;
  webhooks_.Configure(std::move(webhook_settings));
  // Without a route from startup no delivery can arrive: no families either.
  store_.SetWebhookEnabled(webhook_route_.enabled && config.webhook.enabled);
  if (priority.enabled) {
    LogInfo(
        "inventory sweeps cover usage, status and validity; live polls go to eSIMs without "
        "data first, then to active ones",
        {{"live_poll_spacing_seconds",
          std::to_string(std::chrono::duration<double>(priority.live_spacing).count())},
         {"esims", std::to_string(monitored)}});
  }

  if (storage_.dir) {
    // A reload to another key (api.url or access code): what is written from now on is its state.
    std::lock_guard<std::mutex> lock(fingerprint_mutex_);
    fingerprint_ = ConfigFingerprint(config);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = config;
  DropEsimLists(config_);  // the store and the poll schedule hold them
  status_.account = config.account;
  status_.inventory_enabled = config.inventory.enabled;
  status_.poll_interval = poller_.interval();
  status_.configured_poll_interval = config.poll.interval;
  status_.alert_defaults = config.alerts.defaults;
  status_.balance_low = config.alerts.balance_low;
  status_.account_balance_low.reset();
  if (config.balance.interval.count() > 0 && shard_.ReadsAccount()) {
    status_.account_balance_low = config.BalanceLow();
  }
  status_.webhook_public_url = config.webhook.public_url;
  status_.stale_after = config.poll.stale_after;
  status_.export_imei = config.metrics.export_imei;
  status_.export_eid_imsi = config.metrics.export_eid_imsi;
}

bool AccountRuntime::Ready() const {
  bool discovery = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    discovery = config_.inventory.enabled && config_.inventory.discover;
  }
  if (discovery && store_.Snapshot()->account.inventory_last_success_time <= 0) return false;
  return store_.AllPolled();
}

bool AccountRuntime::Alive() const {
  store_.Snapshot();
  poller_.interval();
  return true;
}

ExporterStatus AccountRuntime::Status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ExporterStatus status = status_;
  if (status.storage && persister_) {
    status.storage->last_write_success_time = persister_->last_success_time();
    status.storage->write_failures = persister_->failures();
  }
  return status;
}

}  // namespace esim
