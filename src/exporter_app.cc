#include "exporter_app.h"

#include <chrono>

#include "api_client.h"
#include "api_feedback.h"
#include "http_transport.h"
#include "landing_page.h"
#include "log.h"
#include "poll_schedule.h"
#include "state_file.h"

namespace esim {

void LogConfigFindings(const Config& config) {
  for (const std::string& warning : config.warnings) LogWarn(warning, {{"config", config.path}});
  if (config.inventory.enabled) return;  // live polls then take what the sweeps leave
  const std::string stretch =
      DescribeStretch(config.poll.interval, config.esims.size(), config.api.rate_limit);
  if (!stretch.empty()) LogWarn(stretch, {{"config", config.path}});
}

namespace {

// Whether `loaded` would run exactly as `running` does. Warnings aside: they carry line numbers,
// which an added comment moves without changing anything.
bool RunsTheSame(Config loaded, const Config& running) {
  loaded.warnings = running.warnings;
  return loaded == running;
}

}  // namespace

Config LoadShardedConfig(const std::string& path, const Shard& shard) {
  Config config = LoadConfig(path);
  ApplyShard(shard, config);
  return config;
}

ExporterApp::ExporterApp(const Config& config, bool once, Shard shard, StorageOptions storage)
    : config_path_(config.path),
      webhook_route_(config.webhook),
      shard_(shard),
      once_(once),
      budget_(config.api.rate_limit),
      poller_(store_, budget_, api_metrics_, once),
      inventory_(store_, budget_, api_metrics_, [this] { OnEsimsChanged(); }),
      webhooks_(store_, delivery_ids_, [this](const std::string& key) { poller_.PollSoon(key); }),
      storage_(storage) {
  Apply(config);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.last_reload_ok = true;
    status_.last_reload_success_time = WallNow();
  }
  if (storage_.dir) RestoreState(config);
}

ExporterApp::~ExporterApp() { Stop(); }

void ExporterApp::Start() {
  poller_.Start();
  if (!once_) inventory_.Start();  // --once sweeps through RunInventoryOnce instead
  if (persister_) persister_->Start();
}

void ExporterApp::Stop() {
  inventory_.Stop();
  poller_.Stop();
  std::lock_guard<std::mutex> lock(reload_mutex_);
  if (persister_ && !stopped_) persister_->Stop();  // the clean-stop write
  stopped_ = true;
}

std::string ExporterApp::Fingerprint() const {
  std::lock_guard<std::mutex> lock(fingerprint_mutex_);
  return fingerprint_;
}

bool ExporterApp::SaveState() { return persister_ ? persister_->WriteNow() : true; }

double ExporterApp::WallOf(std::chrono::steady_clock::time_point time) const {
  return std::chrono::duration<double>(time.time_since_epoch()).count() + wall_minus_steady_;
}

std::chrono::steady_clock::time_point ExporterApp::SteadyOf(double wall) const {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(wall - wall_minus_steady_)));
}

namespace {

// Reads DIR/name; nullopt when missing. A file that cannot be used is moved aside with a
// warning naming it (the exporter starts fresh rather than crash-looping on its own file).
template <typename T>
std::optional<T> ReadStateFile(const StorageDir& dir, const char* name,
                               const std::string& fingerprint,
                               std::optional<T> (*decode)(std::string_view, std::string&)) {
  const std::string path = dir.File(name);
  std::string content, error;
  bool missing = false;
  if (!ReadWholeFile(path, content, error, missing)) {
    if (!missing) LogWarn("cannot read the durable state; starting fresh", {{"error", error}});
    if (missing) return std::nullopt;
  } else {
    std::optional<T> decoded = decode(content, error);
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

void ExporterApp::RestoreState(const Config& config) {
  const StorageDir& dir = *storage_.dir;
  {
    std::lock_guard<std::mutex> lock(fingerprint_mutex_);
    fingerprint_ = ConfigFingerprint(config);
  }
  const std::string fingerprint = Fingerprint();
  const auto steady_now = std::chrono::steady_clock::now();
  const double wall_now = WallNow();
  wall_minus_steady_ =
      wall_now - std::chrono::duration<double>(steady_now.time_since_epoch()).count();
  persister_ = std::make_unique<StatePersister>(dir, kStateFileName, storage_.write_interval,
                                                [this] { return EncodeState(); });

  // The budget first: its windows continue, an unused reservation counts as spent.
  if (const auto ledger =
          ReadStateFile<PersistedLedger>(dir, kLedgerFileName, fingerprint, &DecodeLedger)) {
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
        const std::string error = dir.WriteAtomically(kLedgerFileName, EncodeLedger(file));
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

  const auto state = ReadStateFile<PersistedState>(dir, kStateFileName, fingerprint, &DecodeState);
  if (state) {
    std::vector<EsimRecord> records;
    records.reserve(state->esims.size());
    for (const PersistedEsim& esim : state->esims) records.push_back(esim.record);
    const bool keep_discovered = config.inventory.enabled && config.inventory.discover;
    restored_esims_ = store_.Restore(records, state->account, keep_discovered);
    if (state->paused_until > wall_now) {
      store_.SetApiPause(state->paused_until, state->pause_reason);
    }
    // Discovered eSIMs came back: the poller learns them (and every rank) before it starts.
    OnEsimsChanged();
    std::map<std::string, PollSchedule::Progress> progress;
    for (const PersistedEsim& esim : state->esims) {
      if (esim.last_attempt <= 0) continue;
      // A last attempt "in the future" (the clock went back) counts as now.
      progress[esim.record.config.Key()] = {SteadyOf(std::min(esim.last_attempt, wall_now)),
                                            esim.failures};
    }
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
            {{"file", dir.File(kStateFileName)},
             {"esims", std::to_string(restored_esims_)},
             {"saved_esims", std::to_string(state->esims.size())},
             {"age_seconds", std::to_string(static_cast<int64_t>(wall_now - state->written))}});
  }
  std::lock_guard<std::mutex> lock(mutex_);
  status_.storage = ExporterStatus::Storage{};
  status_.storage->restored_esims = static_cast<int64_t>(restored_esims_);
}

std::string ExporterApp::EncodeState() const {
  PersistedState state;
  state.fingerprint = Fingerprint();
  const auto snapshot = store_.Snapshot();
  const auto progress = poller_.Progresses();
  const auto steady_now = std::chrono::steady_clock::now();
  const double wall_now = WallNow();
  state.written = wall_now;
  state.esims.reserve(snapshot->esims.size());
  for (const auto& record : snapshot->esims) {
    PersistedEsim& esim = state.esims.emplace_back();
    esim.shared = record;  // immutable: encoded without a copy
    if (const auto it = progress.find(record->config.Key()); it != progress.end()) {
      if (it->second.last_start) {
        esim.last_attempt =
            wall_now - std::chrono::duration<double>(steady_now - *it->second.last_start).count();
      }
      esim.failures = it->second.failures;
    }
  }
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
  return esim::EncodeState(state);
}

PollSchedule::Priority ExporterApp::LivePriority(const Config& config, size_t esim_count) const {
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

WebhookAnswer ExporterApp::HandleWebhook(const WebhookRequest& request) {
  const size_t before = store_.EsimCount();
  WebhookAnswer answer = webhooks_.Handle(request, WallNow());
  // Discovery added the eSIM the event announced: the poller takes it on (in memory).
  if (answer.outcome == "applied" && store_.EsimCount() != before) OnEsimsChanged();
  return answer;
}

void ExporterApp::OnEsimsChanged() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  Config config;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    config = config_;
  }
  const std::vector<EsimConfig> esims = store_.MonitoredEsims();
  poller_.UpdateEsims(esims, LivePriority(config, esims.size()),
                      [this](const std::string& key) { return store_.LiveRank(key); });
  std::lock_guard<std::mutex> lock(mutex_);
  status_.poll_interval = poller_.interval();
}

void ExporterApp::Apply(const Config& config) {
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
  settings.esims = store_.MonitoredEsims();
  settings.interval = config.poll.interval;
  settings.limits = config.api.rate_limit;
  settings.max_concurrency = config.api.max_concurrency;
  settings.priority = LivePriority(config, settings.esims.size());
  poller_.Reconfigure(settings,
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
  if (settings.priority.enabled) {
    LogInfo(
        "inventory sweeps cover usage, status and validity; live polls go to eSIMs without "
        "data first, then to active ones",
        {{"live_poll_spacing_seconds",
          std::to_string(std::chrono::duration<double>(settings.priority.live_spacing).count())},
         {"esims", std::to_string(settings.esims.size())}});
  }

  if (storage_.dir) {
    // A reload to another account: what is written from now on is that account's state.
    std::lock_guard<std::mutex> lock(fingerprint_mutex_);
    fingerprint_ = ConfigFingerprint(config);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = config;
  status_.inventory_enabled = config.inventory.enabled;
  status_.poll_interval = poller_.interval();
  status_.configured_poll_interval = config.poll.interval;
  status_.alert_defaults = config.alerts.defaults;
  status_.balance_low = config.alerts.balance_low;
  status_.webhook_public_url = config.webhook.public_url;
  status_.stale_after = config.poll.stale_after;
  status_.export_imei = config.metrics.export_imei;
  status_.export_eid_imsi = config.metrics.export_eid_imsi;
}

std::string ExporterApp::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  try {
    Config config = LoadShardedConfig(config_path_, shard_);
    bool unchanged = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      unchanged = RunsTheSame(config, config_);
    }
    if (unchanged) {
      // Same file, same secrets and CA bundle: nothing to apply, and nothing new to tell, so a
      // reload flood (POST /-/reload needs no credentials without a web config) writes no log.
      logged_reload_error_.clear();
      std::lock_guard<std::mutex> lock(mutex_);
      status_.last_reload_ok = true;
      status_.last_reload_success_time = WallNow();
      LogDebug("config unchanged, nothing to reload", {{"config", config_path_}});
      return "";
    }
    LogConfigFindings(config);
    const WebhookConfig& webhook = config.webhook;
    if (webhook.enabled != webhook_route_.enabled ||
        (webhook.enabled && (webhook.path != webhook_route_.path ||
                             webhook.listen_address != webhook_route_.listen_address))) {
      LogWarn(
          "the webhook receiver's presence, path or listen_address changed: that takes a "
          "restart; until then the receiver stays where it was (a removed block refuses every "
          "delivery)",
          {{"path", webhook_route_.enabled ? webhook_route_.path : ""}});
    }
    Apply(config);
    logged_reload_error_.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    status_.last_reload_ok = true;
    status_.last_reload_success_time = WallNow();
    LogInfo("config reloaded",
            {{"config", config_path_}, {"esims", std::to_string(config.esims.size())}});
    return "";
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.last_reload_ok = false;
    if (logged_reload_error_ != e.what()) {
      logged_reload_error_ = e.what();
      LogError("config reload refused, the running config stays in force", {{"error", e.what()}});
    } else {
      LogDebug("config reload refused again, for the same reason", {{"error", e.what()}});
    }
    return e.what();
  }
}

bool ExporterApp::Ready() const {
  bool discovery = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    discovery = config_.inventory.enabled && config_.inventory.discover;
  }
  if (discovery && store_.Snapshot()->account.inventory_last_success_time <= 0) return false;
  return store_.AllPolled();
}

bool ExporterApp::Alive() const {
  store_.Snapshot();
  poller_.interval();
  return true;
}

ExporterStatus ExporterApp::Status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  ExporterStatus status = status_;
  if (status.storage && persister_) {
    status.storage->last_write_success_time = persister_->last_success_time();
    status.storage->write_failures = persister_->failures();
  }
  return status;
}

std::string ExporterApp::MetricsText(const RenderOptions& options) const {
  return RenderMetrics(*store_.Snapshot(), Status(), &api_metrics_, WallNow(), options);
}

void ExporterApp::StreamMetricsText(const TextSink& sink) const {
  StreamMetrics(*store_.Snapshot(), Status(), &api_metrics_, WallNow(), RenderOptions{}, sink);
}

std::string ExporterApp::LandingPage(const std::string& telemetry_path,
                                     const QueryParams& query) const {
  LandingContext context;
  context.telemetry_path = telemetry_path;
  context.now = WallNow();
  context.budget = budget_.UsageAt(RateBudget::Clock::now());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    context.poll_interval = status_.poll_interval;
    context.configured_poll_interval = config_.poll.interval;
    context.inventory_enabled = config_.inventory.enabled;
  }
  return RenderLandingPage(*store_.Snapshot(), context, ParseLandingQuery(query));
}

}  // namespace esim
