// Builds the /metrics page from one StateSnapshot at scrape time (docs/contract.md, "Metrics").
// Pure apart from the process metrics; never calls the API.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api_metrics.h"
#include "exposition.h"
#include "state_store.h"

namespace esim {

// What the running exporter knows about itself, for its own gauges.
struct ExporterStatus {
  // The account these figures are about (label `account`); empty for the unnamed account.
  std::string account;
  std::chrono::milliseconds poll_interval{0};             // the effective per-eSIM interval
  std::chrono::milliseconds configured_poll_interval{0};  // poll.interval
  std::chrono::milliseconds stale_after{std::chrono::hours(6)};
  bool export_imei = false;
  bool export_eid_imsi = false;    // esim_subscriber_info
  bool inventory_enabled = false;  // esim_inventory_last_success_timestamp_seconds is exported
  bool last_reload_ok = true;
  double last_reload_success_time = 0;  // Unix seconds
  AlertThresholds alert_defaults;       // alerts: (esim_alert_threshold_default)
  double balance_low = 50;              // alerts.balance_low
  // The account's own low-balance threshold (balance.low, else alerts.balance_low); set while
  // this replica reads the account's balance (esim_account_balance_low_threshold).
  std::optional<double> account_balance_low;
  std::string webhook_public_url;  // webhook.public_url; empty: points_here not exported
  // Durable state (--storage.path); its families are exported only when it is on.
  struct Storage {
    double last_write_success_time = 0;  // Unix seconds; 0: none yet
    int64_t write_failures = 0;
    int64_t restored_esims = 0;  // at startup
  };
  std::optional<Storage> storage;
};

struct RenderOptions {
  bool process_metrics = true;  // off in golden tests: they change from run to run
};

// One account's part of the page. What the accounts share (reloads, alert defaults, stale_after,
// the personal-data switches) is read from the first account's status.
struct AccountMetrics {
  const StateSnapshot* snapshot = nullptr;
  const ExporterStatus* status = nullptr;
  const ApiMetrics* api_metrics = nullptr;  // may be null (no instrumentation)
};

// The size of the pieces a streamed page is handed on in. Each piece wakes the thread that sends
// it: 512 KiB pieces sent a 50,000-eSIM page ~10 % faster than 256 KiB ones (half the wake-ups)
// for ~2.5 MiB more memory; 1 and 2 MiB were no faster and cost 5-13 MiB more
// (docs/benchmarks.md, "Eighth step").
inline constexpr size_t kMetricsPieceBytes = 512 * 1024;

// The whole exposition text for one or more accounts (at least one), each family once.
std::string RenderMetrics(const std::vector<AccountMetrics>& accounts, double now,
                          const RenderOptions& options = {});
void StreamMetrics(const std::vector<AccountMetrics>& accounts, double now,
                   const RenderOptions& options, const TextSink& sink,
                   size_t piece_bytes = kMetricsPieceBytes);

// The whole exposition text of one account. `now` is Unix seconds (ages and staleness are computed
// from it).
std::string RenderMetrics(const StateSnapshot& snapshot, const ExporterStatus& status,
                          const ApiMetrics* api_metrics, double now,
                          const RenderOptions& options = {});

// The same text, handed to `sink` in pieces of about `piece_bytes` while it is rendered: a
// scrape then holds a piece, not the page, and sending overlaps rendering.
void StreamMetrics(const StateSnapshot& snapshot, const ExporterStatus& status,
                   const ApiMetrics* api_metrics, double now, const RenderOptions& options,
                   const TextSink& sink, size_t piece_bytes = kMetricsPieceBytes);

}  // namespace esim
