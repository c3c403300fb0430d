#include "exporter_app.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "api_feedback.h"
#include "landing_page.h"
#include "log.h"
#include "poll_schedule.h"

namespace esim {

void LogConfigFindings(const Config& config) {
  for (const std::string& warning : config.warnings) LogWarn(warning, {{"config", config.path}});
  for (const Config* account_config : AccountsOf(config)) {
    const Config& account = *account_config;
    if (account.inventory.enabled) continue;  // live polls then take what the sweeps leave
    const std::string stretch =
        DescribeStretch(account.poll.interval, account.esims.size(), account.api.rate_limit);
    if (!stretch.empty()) {
      LogWarn(stretch, {{"config", config.path}, {"account", account.account}});
    }
  }
}

namespace {

// Whether `loaded` would run exactly as the `running` config (without eSIM lists) and
// `accounts` do. Warnings aside: they carry line numbers, which an added comment moves without
// changing anything.
template <typename Runtimes>
bool RunsTheSame(Config loaded, const Config& running, const Runtimes& accounts) {
  loaded.warnings = running.warnings;
  for (Config* account : AccountsOf(loaded)) {
    const auto runtime =
        std::find_if(accounts.begin(), accounts.end(), [account](const auto& running_account) {
          return running_account->name() == account->account;
        });
    if (runtime == accounts.end() || !(*runtime)->ConfiguresExactly(account->esims)) return false;
  }
  DropEsimLists(loaded);
  return loaded == running;
}

std::map<std::string, WebhookConfig> WebhookRoutes(const Config& config) {
  std::map<std::string, WebhookConfig> routes;
  for (const Config* account : AccountsOf(config)) {
    if (account->webhook.enabled) routes.emplace(account->account, account->webhook);
  }
  return routes;
}

// Whether a reload moved, added or removed the receiver that `route` set up at startup.
bool RouteChanged(const WebhookConfig& route, const WebhookConfig& loaded) {
  if (loaded.enabled != route.enabled) return true;
  return loaded.enabled &&
         (loaded.path != route.path || loaded.listen_address != route.listen_address);
}

}  // namespace

Config LoadShardedConfig(const std::string& path, const Shard& shard) {
  Config config = LoadConfig(path);
  ApplyShard(shard, config);
  return config;
}

ExporterApp::ExporterApp(Config config, bool once, Shard shard, StorageOptions storage)
    : config_path_(config.path),
      shard_(shard),
      once_(once),
      storage_(storage),
      webhook_routes_(WebhookRoutes(config)) {
  Runtimes accounts;
  for (const Config* account : AccountsOf(config)) accounts.push_back(MakeRuntime(*account));
  DropEsimLists(config);
  // Only now, without the lists (~20 MB at 100,000 eSIMs): the restored records are the peak.
  for (const auto& account : accounts) account->RestoreState();
  std::lock_guard<std::mutex> lock(mutex_);
  accounts_ = std::move(accounts);
  config_ = std::move(config);
  last_reload_success_time_ = WallNow();
}

ExporterApp::~ExporterApp() { Stop(); }

std::shared_ptr<AccountRuntime> ExporterApp::MakeRuntime(const Config& account) const {
  const auto route = webhook_routes_.find(account.account);
  return std::make_shared<AccountRuntime>(
      account, once_, shard_.ForAccount(account.account), storage_,
      route != webhook_routes_.end() ? route->second : WebhookConfig{});
}

ExporterApp::Runtimes ExporterApp::Accounts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accounts_;
}

void ExporterApp::Start() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  for (const auto& account : Accounts()) account->Start();
  started_ = true;
}

void ExporterApp::RunInventoryOnce() {
  for (const auto& account : Accounts()) account->RunInventoryOnce();
}

void ExporterApp::Stop() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  for (const auto& account : Accounts()) account->Stop();
}

bool ExporterApp::SaveState() {
  bool ok = true;
  for (const auto& account : Accounts()) ok = account->SaveState() && ok;
  return ok;
}

bool ExporterApp::WaitUntilAllPolledOnce(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& account : Accounts()) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        deadline - std::chrono::steady_clock::now());
    if (!account->WaitUntilAllPolledOnce(std::max(left, std::chrono::seconds(0)))) return false;
  }
  return true;
}

std::string ExporterApp::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  try {
    Config config = LoadShardedConfig(config_path_, shard_);
    bool unchanged = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      unchanged = RunsTheSame(config, config_, accounts_);
    }
    if (unchanged) {
      // Same file, same secrets and CA bundle: nothing to apply, and nothing new to tell, so a
      // reload flood (POST /-/reload needs no credentials without a web config) writes no log.
      logged_reload_error_.clear();
      std::lock_guard<std::mutex> lock(mutex_);
      last_reload_ok_ = true;
      last_reload_success_time_ = WallNow();
      LogDebug("config unchanged, nothing to reload", {{"config", config_path_}});
      return "";
    }
    LogConfigFindings(config);
    const std::vector<const Config*> loaded = AccountsOf(std::as_const(config));
    const Runtimes running = Accounts();
    const auto find_running = [&running](const std::string& name) {
      const auto it = std::find_if(running.begin(), running.end(), [&name](const auto& account) {
        return account->name() == name;
      });
      return it == running.end() ? nullptr : *it;
    };
    // New accounts first: building one may throw, and then nothing has changed yet.
    Runtimes next;
    for (const Config* account_config : loaded) {
      const Config& account = *account_config;
      const auto route = webhook_routes_.find(account.account);
      if (RouteChanged(route != webhook_routes_.end() ? route->second : WebhookConfig{},
                       account.webhook)) {
        LogWarn(
            "the webhook receiver's presence, path or listen_address changed: that takes a "
            "restart; until then the receiver stays where it was (a removed block refuses "
            "every delivery)",
            {{"account", account.account},
             {"path", route != webhook_routes_.end() ? route->second.path : ""}});
      }
      std::shared_ptr<AccountRuntime> runtime = find_running(account.account);
      if (!runtime) {
        runtime = MakeRuntime(account);
        runtime->RestoreState();  // a removed account added back resumes where it stopped
      }
      next.push_back(runtime);
    }
    for (size_t i = 0; i < loaded.size(); ++i) {
      if (find_running(loaded[i]->account)) next[i]->Apply(*loaded[i]);
    }
    // Counted now: the lists are dropped below.
    const size_t loaded_accounts = loaded.size();
    size_t esims = 0;
    for (const Config* account : loaded) esims += account->esims.size();
    Runtimes removed;
    for (const auto& account : running) {
      if (std::find(next.begin(), next.end(), account) == next.end()) removed.push_back(account);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      accounts_ = next;
      DropEsimLists(config);
      config_ = std::move(config);
    }
    for (const auto& account : next) {
      if (started_ && !find_running(account->name())) {
        account->Start();
        LogInfo("account added", {{"account", account->name()}});
      }
    }
    for (const auto& account : removed) {
      account->Stop();  // writes its state once more: a later reload that adds it back resumes
      LogInfo("account removed", {{"account", account->name()}});
    }
    logged_reload_error_.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    last_reload_ok_ = true;
    last_reload_success_time_ = WallNow();
    LogInfo("config reloaded", {{"config", config_path_},
                                {"accounts", std::to_string(loaded_accounts)},
                                {"esims", std::to_string(esims)}});
    return "";
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_reload_ok_ = false;
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
  const Runtimes accounts = Accounts();
  // With several accounts, one whose API is down or refuses its key holds up nothing: readiness
  // gates scrapes (a Kubernetes Service), and its trouble must not hide the others' series. Its
  // own series and alerts say what is wrong.
  const bool several = accounts.size() > 1;
  return std::all_of(accounts.begin(), accounts.end(), [several](const auto& account) {
    return account->Ready() || (several && account->Snapshot()->api.up == false);
  });
}

bool ExporterApp::Alive() const {
  const Runtimes accounts = Accounts();
  return std::all_of(accounts.begin(), accounts.end(),
                     [](const auto& account) { return account->Alive(); });
}

WebhookAnswer ExporterApp::HandleWebhook(const WebhookRequest& request) {
  for (const auto& account : Accounts()) {
    const WebhookConfig& route = account->webhook_route();
    if (route.enabled && route.path == request.path) return account->HandleWebhook(request);
  }
  // The account behind this route was removed by a reload: as a removed webhook block does.
  WebhookAnswer answer;
  answer.status = 404;
  answer.outcome = "unknown_route";
  answer.body = "no account receives webhooks here\n";
  return answer;
}

ExporterStatus ExporterApp::StatusOf(const AccountRuntime& account) const {
  ExporterStatus status = account.Status();
  std::lock_guard<std::mutex> lock(mutex_);
  status.last_reload_ok = last_reload_ok_;
  status.last_reload_success_time = last_reload_success_time_;
  return status;
}

// What one page reads of every account, held while it is rendered.
struct ExporterApp::PageAccounts {
  Runtimes accounts;  // kept alive: a reload may remove one meanwhile
  std::vector<std::shared_ptr<const StateSnapshot>> snapshots;
  std::vector<ExporterStatus> statuses;
  std::vector<AccountMetrics> views;
};

ExporterApp::PageAccounts ExporterApp::ReadAccounts() const {
  PageAccounts page;
  page.accounts = Accounts();
  page.snapshots.reserve(page.accounts.size());
  page.statuses.reserve(page.accounts.size());  // views point into it: no reallocation
  for (const auto& account : page.accounts) {
    page.snapshots.push_back(account->Snapshot());
    page.statuses.push_back(StatusOf(*account));
    page.views.push_back(
        {page.snapshots.back().get(), &page.statuses.back(), &account->api_metrics()});
  }
  return page;
}

std::string ExporterApp::MetricsText(const RenderOptions& options) const {
  const PageAccounts page = ReadAccounts();
  return RenderMetrics(page.views, WallNow(), options);
}

void ExporterApp::StreamMetricsText(const TextSink& sink) const {
  const PageAccounts page = ReadAccounts();
  StreamMetrics(page.views, WallNow(), RenderOptions{}, sink);
}

std::string ExporterApp::LandingPage(const std::string& telemetry_path,
                                     const QueryParams& query) const {
  LandingContext context;
  context.telemetry_path = telemetry_path;
  context.now = WallNow();
  std::vector<LandingAccount> accounts;
  for (const auto& runtime : Accounts()) {
    const ExporterStatus status = runtime->Status();
    LandingAccount& account = accounts.emplace_back();
    account.name = runtime->name();
    account.snapshot = runtime->Snapshot();
    account.budget = runtime->BudgetUsage();
    account.poll_interval = status.poll_interval;
    account.configured_poll_interval = status.configured_poll_interval;
    account.inventory_enabled = status.inventory_enabled;
  }
  return RenderLandingPage(accounts, context, ParseLandingQuery(query));
}

}  // namespace esim
