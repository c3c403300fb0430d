#include "exporter_app.h"

#include <chrono>

#include "api_client.h"
#include "http_transport.h"
#include "landing_page.h"
#include "log.h"
#include "poll_schedule.h"

namespace esim {
namespace {

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void LogConfigFindings(const Config& config) {
  for (const std::string& warning : config.warnings) LogWarn(warning, {{"config", config.path}});
  const std::string stretch =
      DescribeStretch(config.poll.interval, config.esims.size(), config.api.rate_limit);
  if (!stretch.empty()) LogWarn(stretch, {{"config", config.path}});
}

Config LoadShardedConfig(const std::string& path, const Shard& shard) {
  Config config = LoadConfig(path);
  ApplyShard(shard, config);
  return config;
}

ExporterApp::ExporterApp(Config config, bool once, Shard shard)
    : config_path_(config.path),
      shard_(shard),
      budget_(config.api.rate_limit),
      poller_(store_, budget_, api_metrics_, once) {
  Apply(config);
  std::lock_guard<std::mutex> lock(mutex_);
  status_.last_reload_ok = true;
  status_.last_reload_success_time = WallNow();
}

ExporterApp::~ExporterApp() { Stop(); }

void ExporterApp::Start() { poller_.Start(); }

void ExporterApp::Stop() { poller_.Stop(); }

void ExporterApp::Apply(const Config& config) {
  HttpTransportOptions transport_options;
  transport_options.base_url = config.api.url;
  transport_options.ca_file = config.api.ca_file;
  transport_options.timeout = config.api.timeout;
  transport_options.max_connections = static_cast<size_t>(config.api.max_concurrency);
  auto client = std::make_shared<ApiClient>(config.api.access_code, config.api.secret_key,
                                            std::make_shared<HttplibTransport>(transport_options),
                                            [] { return WallNow(); });

  budget_.SetLimits(config.api.rate_limit);
  store_.SetEsims(config.esims);
  Poller::Settings settings;
  settings.esims = config.esims;
  settings.interval = config.poll.interval;
  settings.limits = config.api.rate_limit;
  settings.max_concurrency = config.api.max_concurrency;
  poller_.Reconfigure(settings,
                      [client](const EsimConfig& esim) { return client->FetchStatus(esim); });

  std::lock_guard<std::mutex> lock(mutex_);
  status_.poll_interval = poller_.interval();
  status_.stale_after = config.poll.stale_after;
  status_.export_imei = config.metrics.export_imei;
}

std::string ExporterApp::Reload() {
  try {
    Config config = LoadShardedConfig(config_path_, shard_);
    LogConfigFindings(config);
    Apply(config);
    std::lock_guard<std::mutex> lock(mutex_);
    status_.last_reload_ok = true;
    status_.last_reload_success_time = WallNow();
    LogInfo("config reloaded",
            {{"config", config_path_}, {"esims", std::to_string(config.esims.size())}});
    return "";
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.last_reload_ok = false;
    LogError("config reload refused, the running config stays in force", {{"error", e.what()}});
    return e.what();
  }
}

bool ExporterApp::Alive() const {
  store_.Snapshot();
  poller_.interval();
  return true;
}

std::string ExporterApp::MetricsText(const RenderOptions& options) const {
  ExporterStatus status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status = status_;
  }
  return RenderMetrics(*store_.Snapshot(), status, &api_metrics_, WallNow(), options);
}

std::string ExporterApp::LandingPage(const std::string& telemetry_path) const {
  return RenderLandingPage(*store_.Snapshot(), telemetry_path, WallNow());
}

}  // namespace esim
