// esim_exporter: flags, wiring, signals and exit codes (docs/contract.md, "Command line").
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "api_client.h"
#include "api_feedback.h"
#include "command_line.h"
#include "config.h"
#include "exporter_app.h"
#include "fleet_cost.h"
#include "http_transport.h"
#include "log.h"
#include "malloc_tuning.h"
#include "poll_schedule.h"
#include "service_notify.h"
#include "shard.h"
#include "storage_dir.h"
#include "version.h"
#include "web.h"
#include "web_config.h"
#include "webhook_show.h"

namespace {

using esim::LogDebug;
using esim::LogError;
using esim::LogInfo;
using esim::LogWarn;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitCannotStart = 2;
constexpr std::chrono::seconds kOnceDeadline{600};

using Flags = esim::CommandLine;

int CheckConfig(const Flags& flags) {
  try {
    const esim::Config config = esim::LoadShardedConfig(flags.config_file, flags.shard);
    for (const std::string& warning : config.warnings) {
      std::cout << "warning: " << warning << "\n";
    }
    if (!config.accounts.empty()) {
      // One block per account: each has its own key, budget and eSIMs.
      if (flags.shard.total > 1) {
        std::cout << "shard " << flags.shard.index << " of " << flags.shard.total << ": ";
      }
      std::cout << flags.config_file << ": valid; " << config.accounts.size() << " accounts\n"
                << esim::DescribeAccountsCheck(config, flags.shard);
    } else {
      // With inventory sweeps, live polls take what the sweeps leave (the cost lines say how).
      const std::string stretch =
          config.inventory.enabled
              ? ""
              : esim::DescribeStretch(config.poll.interval, config.esims.size(),
                                      config.api.rate_limit);
      if (!stretch.empty()) std::cout << "warning: " << stretch << "\n";
      const esim::DailyCost cost = esim::EstimateDailyCost(config, flags.shard);
      if (flags.shard.total > 1) {
        std::cout << "shard " << flags.shard.index << " of " << flags.shard.total << ": ";
      }
      std::cout << flags.config_file << ": valid; " << config.esims.size()
                << (config.esims.size() == 1 ? " eSIM" : " eSIMs");
      if (config.inventory.enabled && config.inventory.discover) {
        std::cout << " plus those discovery finds";
      } else {
        std::cout << ", each polled every "
                  << std::chrono::duration_cast<std::chrono::seconds>(cost.live_interval).count()
                  << " s";
      }
      std::cout << "\n" << esim::DescribeDailyCost(cost, config, flags.shard);
    }
    if (!flags.web_config_file.empty()) {
      const esim::WebConfig web_config = esim::LoadWebConfig(flags.web_config_file);
      for (const std::string& warning : web_config.warnings) {
        std::cout << "warning: " << warning << "\n";
      }
      std::cout << flags.web_config_file << ": valid; "
                << (web_config.tls ? "HTTPS only" : "plain HTTP") << ", "
                << (web_config.basic_auth_users.empty()
                        ? std::string("no basic auth")
                        : std::to_string(web_config.basic_auth_users.size()) + " basic auth users")
                << "\n";
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::cout << e.what() << "\n";
    return kExitInvalid;
  }
}

int RunOnce(const Flags& flags, const esim::Config& config) {
  esim::ExporterApp app(config, /*once=*/true, flags.shard);
  app.RunInventoryOnce();
  app.Start();
  // A persistent rate limit must not keep a cron job running for hours: after the deadline the
  // eSIMs not polled yet are printed with esim_poll_success 0.
  if (!app.WaitUntilAllPolledOnce(kOnceDeadline)) {
    LogWarn("--once: not every eSIM could be polled within the deadline",
            {{"deadline_seconds", std::to_string(kOnceDeadline.count())}});
  }
  app.Stop();
  const std::string text = app.MetricsText();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitCannotStart;
}

// --webhook.show: one signed GET /webhooks outside the running exporter's budget (like a person
// would send it), printed for people. The answer holds no secret.
int ShowWebhook(const esim::Config& account) {
  esim::HttpTransportOptions options;
  options.base_url = account.api.url;
  options.ca_file = account.api.ca_file;
  options.ca_pem = account.api.ca_pem;  // what --config.check validated
  options.timeout = account.api.timeout;
  options.max_connections = 1;
  options.max_body_bytes = account.api.max_response_bytes;
  const esim::ApiClient client(account.api.access_code, account.api.secret_key,
                               std::make_shared<esim::HttplibTransport>(options),
                               [] { return esim::WallNow(); });
  const esim::ApiResult result = client.FetchWebhookSubscription();
  const std::string who = account.account.empty() ? "" : " of account " + account.account;
  if (!result.ok() || !result.webhook_subscription) {
    std::cerr << "esim_exporter: cannot read the webhook subscription" << who << ": " << result.code
              << (result.message.empty() ? "" : " (" + result.message + ")") << "\n";
    return kExitInvalid;
  }
  if (!account.account.empty()) std::cout << "account " << account.account << ":\n";
  std::cout << esim::FormatWebhookSubscription(*result.webhook_subscription,
                                               account.webhook.public_url);
  return std::fflush(stdout) == 0 ? kExitOk : kExitCannotStart;
}

// --webhook.show for every account: each key has its own subscription. Exit 1 when any read
// failed, after trying them all.
int ShowWebhooks(const esim::Config& config) {
  int exit_code = kExitOk;
  for (const esim::Config* account : esim::AccountsOf(config)) {
    const int code = ShowWebhook(*account);
    if (code != kExitOk) exit_code = code;
  }
  return exit_code;
}

// How often the durable state is written: every minute; ESIM_EXPORTER_STORAGE_WRITE_INTERVAL
// (seconds) shortens it for tests.
std::chrono::milliseconds StorageWriteInterval() {
  if (const char* value = std::getenv("ESIM_EXPORTER_STORAGE_WRITE_INTERVAL")) {
    const double seconds = std::atof(value);
    if (seconds >= 0.1 && seconds <= 60) {
      return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    }
  }
  return std::chrono::minutes(1);
}

// The accounts with a webhook receiver. Their routes are set up once: a reload changes their
// secrets and max_age, not where they listen. nullopt (logged) when a path is the telemetry
// path.
std::optional<std::vector<esim::Config>> WebhookReceivers(const Flags& flags,
                                                          const esim::Config& config) {
  std::vector<esim::Config> receivers;
  for (const esim::Config* account_config : esim::AccountsOf(config)) {
    if (!account_config->webhook.enabled) continue;
    const esim::WebhookConfig& webhook = account_config->webhook;
    if (webhook.listen_address.empty() && webhook.path == flags.telemetry_path) {
      LogError("cannot start", {{"error", "webhook.path " + webhook.path +
                                              " is also --web.telemetry-path; choose another"}});
      return std::nullopt;
    }
    esim::Config account = *account_config;
    esim::DropEsimLists(account);  // only the webhook block is read from here on
    receivers.push_back(std::move(account));
  }
  return receivers;
}

// webhook.listen_address: listeners of their own that serve receivers alone (plain HTTP, for a
// TLS reverse proxy in front), e.g. when the main one requires client certificates. One server
// per distinct address, serving the paths of every account that names it.
class WebhookListeners {
 public:
  // Paths without a listen_address go to `main_options` (the main listener serves them).
  WebhookListeners(const std::vector<esim::Config>& receivers, esim::WebOptions& main_options) {
    for (const esim::Config& account : receivers) {
      const esim::WebhookConfig& webhook = account.webhook;
      if (webhook.listen_address.empty()) {
        main_options.webhook_paths.push_back(webhook.path);
      } else {
        paths_by_address_[webhook.listen_address].push_back(webhook.path);
      }
    }
  }
  WebhookListeners(const WebhookListeners&) = delete;
  WebhookListeners& operator=(const WebhookListeners&) = delete;

  // Binds and serves the listeners of their own. False (logged) when one cannot bind.
  bool Start(const esim::WebHandlers& handlers) {
    for (const auto& [address, paths] : paths_by_address_) {
      esim::WebOptions options;
      options.listen_address = address;
      options.webhook_paths = paths;
      options.webhook_only = true;
      auto server = std::make_unique<esim::WebServer>(options, handlers);
      std::string error;
      if (!server->Bind(error)) {
        LogError("cannot start the webhook listener", {{"error", error}});
        return false;
      }
      esim::WebServer* serving = server.get();
      threads_.emplace_back([serving] { serving->Serve(); });
      servers_.emplace(address, std::move(server));
    }
    return true;
  }

  // The port a receiver on `address` is served on (`main_port` when it has none of its own).
  int PortOf(const std::string& address, int main_port) const {
    const auto own = servers_.find(address);
    return own != servers_.end() ? own->second->port() : main_port;
  }

  void Stop() {
    for (auto& [address, server] : servers_) server->Stop();
  }

  ~WebhookListeners() {
    Stop();
    for (auto& thread : threads_) thread.join();
  }

 private:
  std::map<std::string, std::vector<std::string>> paths_by_address_;
  std::map<std::string, std::unique_ptr<esim::WebServer>> servers_;
  std::vector<std::thread> threads_;
};

void LogWebhookReceivers(const std::vector<esim::Config>& receivers, const Flags& flags,
                         const WebhookListeners& listeners, int main_port) {
  for (const esim::Config& account : receivers) {
    const esim::WebhookConfig& webhook = account.webhook;
    LogInfo(
        "webhook receiver enabled",
        {{"account", account.account},
         {"path", webhook.path},
         {"listen_address",
          webhook.listen_address.empty() ? flags.listen_address : webhook.listen_address},
         {"webhook_port", std::to_string(listeners.PortOf(webhook.listen_address, main_port))}});
  }
}

// `config` is moved into the app: a second copy of every eSIM's config for the whole run would
// cost ~10 MB per 50,000 eSIMs.
int Serve(const Flags& flags, esim::Config config, std::optional<esim::WebConfig> web_config) {
  const std::optional<std::vector<esim::Config>> receivers = WebhookReceivers(flags, config);
  if (!receivers) return kExitInvalid;
  // Signals are taken by one thread with sigwait; every other thread inherits the block.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The storage directory is created, locked and checked before anything else: a second
  // exporter on it, or a directory that cannot be written, is a startup error naming it.
  std::unique_ptr<esim::StorageDir> storage_dir;
  if (!flags.storage_path.empty()) {
    try {
      storage_dir = std::make_unique<esim::StorageDir>(flags.storage_path);
    } catch (const std::exception& e) {
      LogError("cannot use the storage directory", {{"error", e.what()}});
      return kExitInvalid;
    }
  }
  // The saved state is restored here, before the server listens: the first scrape sees it.
  esim::ExporterApp app(std::move(config), /*once=*/false, flags.shard,
                        {storage_dir.get(), StorageWriteInterval()});
  esim::TuneMallocForServing();
  esim::ServiceNotifier notifier;
  esim::WebOptions web_options;
  web_options.listen_address = flags.listen_address;
  web_options.telemetry_path = flags.telemetry_path;
  const bool tls = web_config && web_config->tls;
  const bool basic_auth = web_config && !web_config->basic_auth_users.empty();
  web_options.web_config = std::move(web_config);
  esim::WebHandlers handlers;
  handlers.metrics = [&app](const esim::TextSink& write) { app.StreamMetricsText(write); };
  handlers.landing_page = [&app, path = flags.telemetry_path](const esim::QueryParams& query) {
    return app.LandingPage(path, query);
  };
  handlers.ready = [&app] { return app.Ready(); };
  handlers.webhook = [&app](const esim::WebhookRequest& request) {
    return app.HandleWebhook(request);
  };
  handlers.reload = [&app, &notifier] {
    notifier.Reloading();
    std::string error = app.Reload();
    notifier.Ready();
    return error;
  };
  WebhookListeners webhook_listeners(*receivers, web_options);
  esim::WebServer server(web_options, handlers);
  std::string error;
  if (!server.Bind(error)) {
    LogError("cannot start", {{"error", error}});
    return kExitCannotStart;
  }
  if (!webhook_listeners.Start(handlers)) return kExitCannotStart;
  LogWebhookReceivers(*receivers, flags, webhook_listeners, server.port());
  app.Start();
  LogInfo("esim_exporter started",
          {{"version", esim::kVersion},
           {"listen_address", flags.listen_address},
           {"port", std::to_string(server.port())},
           {"tls", tls ? "true" : "false"},
           {"basic_auth", basic_auth ? "true" : "false"},
           {"shard", flags.shard.total > 1 ? std::to_string(flags.shard.index) + "/" +
                                                 std::to_string(flags.shard.total)
                                           : ""}});
  // The socket is bound, so connections queue until Serve accepts them: ready for systemd.
  notifier.Ready();
  notifier.StartWatchdog([&app] { return app.Alive(); });

  std::thread signal_thread([&] {
    for (;;) {
      int signal_number = 0;
      if (sigwait(&signals, &signal_number) != 0) continue;
      if (signal_number == SIGHUP) {
        LogDebug("SIGHUP: reloading the config");  // Reload logs what came of it
        notifier.Reloading();
        app.Reload();
        notifier.Ready();
        continue;
      }
      notifier.Stopping();
      LogInfo("stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
      server.Stop();
      webhook_listeners.Stop();
      return;
    }
  });
  if (!server.Serve()) {
    LogError("the HTTP server stopped accepting connections; exiting");
    std::fflush(stderr);
    _exit(kExitCannotStart);
  }
  signal_thread.join();
  notifier.StopWatchdog();

  // Requests in flight may hang for up to api.timeout; a clean stop must not wait that long.
  auto stopped = std::async(std::launch::async, [&app] { app.Stop(); });
  if (stopped.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
    app.SaveState();  // the clean-stop write, without waiting for those requests
    LogInfo("stopped with API requests still in flight");
    std::fflush(stderr);
    _exit(kExitOk);
  }
  LogInfo("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  esim::TuneMallocForStartup();
  Flags flags;
  if (const std::string error = esim::ParseCommandLine(argc, argv, flags); !error.empty()) {
    std::cerr << "esim_exporter: " << error << "\n";
    return kExitInvalid;
  }
  esim::Logger::Get().Configure(flags.parsed_log_level, flags.parsed_log_format);
  if (flags.help) {
    std::cout << esim::UsageText();
    return kExitOk;
  }
  if (flags.version) {
    std::cout << "esim_exporter " << esim::kVersion << " (revision " << esim::kRevision << ")\n";
    return kExitOk;
  }
  if (flags.config_check) return CheckConfig(flags);

  esim::Config config;
  try {
    config = esim::LoadShardedConfig(flags.config_file, flags.shard);
  } catch (const std::exception& e) {
    LogError("invalid config", {{"error", e.what()}});
    return kExitInvalid;
  }
  esim::LogConfigFindings(config);
  if (flags.webhook_show) {
    try {
      return ShowWebhooks(config);
    } catch (const std::exception& e) {
      LogError("cannot read the webhook subscription", {{"error", e.what()}});
      return kExitInvalid;
    }
  }
  // Read once, before binding: a bad web config must not leave the endpoints open or down.
  std::optional<esim::WebConfig> web_config;
  if (!flags.once && !flags.web_config_file.empty()) {
    try {
      web_config = esim::LoadWebConfig(flags.web_config_file);
    } catch (const std::exception& e) {
      LogError("invalid web config", {{"error", e.what()}});
      return kExitInvalid;
    }
    for (const std::string& warning : web_config->warnings) {
      LogWarn("web config", {{"warning", warning}});
    }
  }
  if (flags.once && !flags.storage_path.empty()) {
    LogWarn("--storage.path is ignored with --once: it polls every eSIM once and keeps nothing");
  }
  try {
    return flags.once ? RunOnce(flags, config)
                      : Serve(flags, std::move(config), std::move(web_config));
  } catch (const std::exception& e) {
    // The API client could not be built from the config (e.g. an unreadable ca_file).
    LogError("cannot start", {{"error", e.what()}});
    return kExitInvalid;
  }
}
