// esim_exporter: flags, wiring, signals and exit codes (docs/contract.md, "Command line").
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "api_client.h"
#include "api_feedback.h"
#include "config.h"
#include "exporter_app.h"
#include "fleet_cost.h"
#include "http_transport.h"
#include "log.h"
#include "poll_schedule.h"
#include "service_notify.h"
#include "shard.h"
#include "storage_dir.h"
#include "version.h"
#include "web.h"
#include "web_config.h"
#include "webhook_show.h"

namespace {

using esim::LogError;
using esim::LogInfo;
using esim::LogWarn;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitCannotStart = 2;
constexpr std::chrono::seconds kOnceDeadline{600};

struct Flags {
  std::string config_file = "/etc/esim_exporter/config.yml";
  bool config_check = false;
  std::string listen_address = ":10417";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  // empty: plain HTTP, no authentication
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool once = false;
  std::string shard_total = "1";
  std::string shard_index = "0";
  esim::Shard shard;
  std::string storage_path;  // empty: state in memory only
  bool webhook_show = false;
  bool version = false;
  bool help = false;
};

constexpr char kUsage[] =
    "usage: esim_exporter [flags]\n"
    "\n"
    "Prometheus exporter for eSIMfly eSIM fleets: polls the signed live-status API on a budget\n"
    "and serves the latest state of every configured eSIM on /metrics.\n"
    "\n"
    "  --config.file=PATH            config file (default /etc/esim_exporter/config.yml)\n"
    "  --config.check                validate the config (and any --web.config.file), print\n"
    "                                what is wrong and what the fleet costs the API key per\n"
    "                                day, exit 0 or 1\n"
    "  --web.listen-address=[HOST]:PORT  where to serve (default :10417)\n"
    "  --web.telemetry-path=PATH     path of the metrics (default /metrics)\n"
    "  --web.config.file=PATH        TLS, mTLS, basic auth and headers for the endpoints, in the\n"
    "                                exporter-toolkit web config format; read at startup\n"
    "  --log.level=debug|info|warn|error  (default info)\n"
    "  --log.format=logfmt|json      one event per line on stderr (default logfmt)\n"
    "  --once                        poll every eSIM once, print the metrics on stdout, exit\n"
    "  --shard.total=N               split the fleet over N replicas (default 1) ...\n"
    "  --shard.index=I               ... of which this is replica I: a number from 0 to N-1, or\n"
    "                                a name ending in -I such as a StatefulSet pod name; each\n"
    "                                replica polls its eSIMs with 1/N of api.rate_limit\n"
    "  --storage.path=DIR            keep the state (every eSIM's last observations, the poll\n"
    "                                schedule, the request-budget ledger) in DIR, so that a\n"
    "                                restart loses nothing and spends nothing; DIR is created\n"
    "                                and locked (one exporter per DIR). Default: memory only\n"
    "  --webhook.show                print the API key's webhook subscription (GET /webhooks:\n"
    "                                URL, events, recent deliveries) and exit 0, or 1 when it\n"
    "                                cannot be read; one request, read only, no secret shown\n"
    "  --version                     print the version and exit\n"
    "  -h, --help                    print this help and exit\n"
    "\n"
    "Exit codes: 0 clean stop, 1 invalid config or flags, 2 cannot bind or start.\n"
    "SIGHUP and POST /-/reload re-read the config.\n";

// Accepts --name=value and --name value; returns an error text, empty when fine.
std::string ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "-h") arg = "--help";  // the one short flag (checked before the next line)
    if (arg.rfind("--", 0) != 0 && arg.rfind("-", 0) == 0) arg = "-" + arg;  // -flag as --flag
    auto take_value = [&](std::string& target) -> std::string {
      if (!has_value) {
        if (i + 1 >= argc) return "flag " + arg + " needs a value";
        value = argv[++i];
      }
      target = value;
      return "";
    };
    auto boolean = [&](bool& target) -> std::string {
      if (!has_value || value == "true") {
        target = true;
      } else if (value == "false") {
        target = false;
      } else {
        return "flag " + arg + " takes true or false";
      }
      return "";
    };
    std::string error;
    if (arg == "--config.file")
      error = take_value(flags.config_file);
    else if (arg == "--config.check")
      error = boolean(flags.config_check);
    else if (arg == "--web.listen-address")
      error = take_value(flags.listen_address);
    else if (arg == "--web.telemetry-path")
      error = take_value(flags.telemetry_path);
    else if (arg == "--web.config.file")
      error = take_value(flags.web_config_file);
    else if (arg == "--log.level")
      error = take_value(flags.log_level);
    else if (arg == "--log.format")
      error = take_value(flags.log_format);
    else if (arg == "--once")
      error = boolean(flags.once);
    else if (arg == "--shard.total")
      error = take_value(flags.shard_total);
    else if (arg == "--shard.index")
      error = take_value(flags.shard_index);
    else if (arg == "--storage.path")
      error = take_value(flags.storage_path);
    else if (arg == "--webhook.show")
      error = boolean(flags.webhook_show);
    else if (arg == "--version")
      error = boolean(flags.version);
    else if (arg == "--help")
      error = boolean(flags.help);
    else
      error = "unknown flag " + arg + " (see --help)";
    if (!error.empty()) return error;
  }
  if (flags.telemetry_path.empty() || flags.telemetry_path[0] != '/' ||
      flags.telemetry_path == "/" || flags.telemetry_path.rfind("/-/", 0) == 0) {
    return "--web.telemetry-path must start with / and not be / or under /-/";
  }
  // A path, not a pattern: ':' would make cpp-httplib read "/:name" as a parameter.
  if (flags.telemetry_path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789/._~-") != std::string::npos) {
    return "--web.telemetry-path may hold only letters, digits and / . _ ~ -";
  }
  int total = 0;
  const auto [end, parse_error] = std::from_chars(
      flags.shard_total.data(), flags.shard_total.data() + flags.shard_total.size(), total);
  if (parse_error != std::errc() || end != flags.shard_total.data() + flags.shard_total.size() ||
      total < 1 || total > 1000) {
    return "--shard.total must be a whole number from 1 to 1000";
  }
  const auto index = esim::ParseShardIndex(flags.shard_index, total);
  if (!index) {
    return "--shard.index '" + flags.shard_index + "' must be a number from 0 to " +
           std::to_string(total - 1) + ", or a name ending in -<number> (a StatefulSet pod name)";
  }
  flags.shard = esim::Shard{*index, total};
  esim::LogLevel level;
  if (!esim::ParseLogLevel(flags.log_level, level)) {
    return "--log.level must be debug, info, warn or error";
  }
  esim::LogFormat format;
  if (!esim::ParseLogFormat(flags.log_format, format)) {
    return "--log.format must be logfmt or json";
  }
  esim::Logger::Get().Configure(level, format);
  return "";
}

int CheckConfig(const Flags& flags) {
  try {
    const esim::Config config = esim::LoadShardedConfig(flags.config_file, flags.shard);
    for (const std::string& warning : config.warnings) {
      std::cout << "warning: " << warning << "\n";
    }
    // With inventory sweeps, live polls take what the sweeps leave (the cost lines say how).
    const std::string stretch =
        config.inventory.enabled ? ""
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

int RunOnce(const Flags& flags, esim::Config config) {
  esim::ExporterApp app(std::move(config), /*once=*/true, flags.shard);
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
int ShowWebhook(const esim::Config& config) {
  esim::HttpTransportOptions options;
  options.base_url = config.api.url;
  options.ca_file = config.api.ca_file;
  options.timeout = config.api.timeout;
  options.max_connections = 1;
  options.max_body_bytes = config.api.max_response_bytes;
  const esim::ApiClient client(config.api.access_code, config.api.secret_key,
                               std::make_shared<esim::HttplibTransport>(options),
                               [] { return esim::WallNow(); });
  const esim::ApiResult result = client.FetchWebhookSubscription();
  if (!result.ok() || !result.webhook_subscription) {
    std::cerr << "esim_exporter: cannot read the webhook subscription: " << result.code
              << (result.message.empty() ? "" : " (" + result.message + ")") << "\n";
    return kExitInvalid;
  }
  std::cout << esim::FormatWebhookSubscription(*result.webhook_subscription,
                                               config.webhook.public_url);
  return std::fflush(stdout) == 0 ? kExitOk : kExitCannotStart;
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

int Serve(const Flags& flags, esim::Config config, std::optional<esim::WebConfig> web_config) {
  // The receiver's route is set up once: a reload changes its secret and max_age, not where
  // it listens.
  const esim::WebhookConfig webhook = config.webhook;
  if (webhook.enabled && webhook.listen_address.empty() && webhook.path == flags.telemetry_path) {
    LogError("cannot start", {{"error", "webhook.path " + webhook.path +
                                            " is also --web.telemetry-path; choose another"}});
    return kExitInvalid;
  }
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
  if (webhook.enabled && webhook.listen_address.empty()) web_options.webhook_path = webhook.path;
  handlers.reload = [&app, &notifier] {
    notifier.Reloading();
    std::string error = app.Reload();
    notifier.Ready();
    return error;
  };
  esim::WebServer server(web_options, handlers);
  std::string error;
  if (!server.Bind(error)) {
    LogError("cannot start", {{"error", error}});
    return kExitCannotStart;
  }
  // webhook.listen_address: a listener of its own that serves the receiver alone (plain HTTP,
  // for a TLS reverse proxy in front), e.g. when the main one requires client certificates.
  std::unique_ptr<esim::WebServer> webhook_server;
  std::thread webhook_thread;
  if (webhook.enabled && !webhook.listen_address.empty()) {
    esim::WebOptions options;
    options.listen_address = webhook.listen_address;
    options.webhook_path = webhook.path;
    options.webhook_only = true;
    webhook_server = std::make_unique<esim::WebServer>(options, handlers);
    if (!webhook_server->Bind(error)) {
      LogError("cannot start the webhook listener", {{"error", error}});
      return kExitCannotStart;
    }
    webhook_thread = std::thread([&webhook_server] { webhook_server->Serve(); });
  }
  if (webhook.enabled) {
    LogInfo("webhook receiver enabled",
            {{"path", webhook.path},
             {"listen_address",
              webhook.listen_address.empty() ? flags.listen_address : webhook.listen_address},
             {"webhook_port",
              std::to_string(webhook_server ? webhook_server->port() : server.port())}});
  }
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
        LogInfo("SIGHUP: reloading the config");
        notifier.Reloading();
        app.Reload();
        notifier.Ready();
        continue;
      }
      notifier.Stopping();
      LogInfo("stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
      server.Stop();
      if (webhook_server) webhook_server->Stop();
      return;
    }
  });
  if (!server.Serve()) {
    LogError("the HTTP server stopped accepting connections; exiting");
    std::fflush(stderr);
    _exit(kExitCannotStart);
  }
  signal_thread.join();
  if (webhook_thread.joinable()) webhook_thread.join();
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
  Flags flags;
  if (const std::string error = ParseFlags(argc, argv, flags); !error.empty()) {
    std::cerr << "esim_exporter: " << error << "\n";
    return kExitInvalid;
  }
  if (flags.help) {
    std::cout << kUsage;
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
      return ShowWebhook(config);
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
    return flags.once ? RunOnce(flags, std::move(config))
                      : Serve(flags, std::move(config), std::move(web_config));
  } catch (const std::exception& e) {
    // The API client could not be built from the config (e.g. an unreadable ca_file).
    LogError("cannot start", {{"error", e.what()}});
    return kExitInvalid;
  }
}
