#include "collector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "exposition.h"
#include "process_metrics.h"
#include "version.h"

namespace esim {
namespace {

// Every family of the page, declared once: name, HELP text and TYPE (docs/contract.md lists the
// names). The per-eSIM data families end their help with ", from the last background poll."
constexpr MetricDesc kDataUsedBytes{
    "esim_data_used_bytes",
    "Data used by the eSIM in bytes (API used_gb x 1024^3), from the last background poll.",
    "gauge"};
constexpr MetricDesc kDataTotalBytes{
    "esim_data_total_bytes",
    "Data allowance of the eSIM in bytes (API total_gb x 1024^3); absent for unlimited plans, "
    "from the last background poll.",
    "gauge"};
constexpr MetricDesc kUnlimited{
    "esim_unlimited", "1 when the eSIM's plan is unlimited, else 0, from the last background poll.",
    "gauge"};
constexpr MetricDesc kStatus{
    "esim_status",
    "Lifecycle status of the eSIM as a state set over NEW, ACTIVE, EXPIRED, DEPLETED, CANCELLED "
    "and DELETED: 1 for the current status, 0 for the others; an undocumented status gets its "
    "own series with 1, from the last background poll.",
    "gauge"};
constexpr MetricDesc kActive{
    "esim_active", "1 when the eSIM's status is ACTIVE, else 0, from the last background poll.",
    "gauge"};
constexpr MetricDesc kActivationTime{
    "esim_activation_timestamp_seconds",
    "Unix time of the eSIM's first activation; absent while not activated, from the last "
    "background poll.",
    "gauge"};
constexpr MetricDesc kExpiryTime{
    "esim_expiry_timestamp_seconds",
    "Unix time when the eSIM's plan expires; absent while unknown, from the last background "
    "poll.",
    "gauge"};
constexpr MetricDesc kLastUsageTime{
    "esim_last_usage_timestamp_seconds",
    "Unix time of the eSIM's most recent data usage; absent while none, from the last "
    "background poll.",
    "gauge"};
constexpr MetricDesc kLastUsageAge{
    "esim_last_usage_age_seconds",
    "Seconds since the eSIM's most recent data usage, computed at scrape time from the last "
    "background poll.",
    "gauge"};
constexpr MetricDesc kInfo{
    "esim_info",
    "Always 1; labels carry the eSIM's installation, SM-DP+ and profile state and its configured "
    "labels, from the last background poll.",
    "gauge"};
constexpr MetricDesc kNetworkInfo{
    "esim_network_info",
    "Always 1; labels describe the network the eSIM last connected to; absent until it has "
    "connected, from the last background poll.",
    "gauge"};
constexpr MetricDesc kDeviceInfo{
    "esim_device_info",
    "Always 1; labels describe the device holding the eSIM; absent until installed, from the "
    "last background poll.",
    "gauge"};
constexpr MetricDesc kPackageInfo{
    "esim_package_info",
    "Always 1; labels name the eSIM's package (plan), from the last inventory sweep.", "gauge"};
constexpr MetricDesc kInstalledTime{
    "esim_installed_timestamp_seconds",
    "Unix time the eSIM's profile was first enabled on a device (esim.installed webhook event); "
    "absent until such an event arrived.",
    "gauge"};
constexpr MetricDesc kLastEventTime{
    "esim_last_event_timestamp_seconds",
    "Unix time of the observation behind the newest webhook event applied to this eSIM; absent "
    "until one was applied.",
    "gauge"};
constexpr MetricDesc kSubscriberInfo{
    "esim_subscriber_info",
    "Always 1; labels carry the EID and IMSI from webhook events (personal data: exported "
    "because metrics.export_eid_imsi is true).",
    "gauge"};
constexpr MetricDesc kPollSuccess{
    "esim_poll_success",
    "1 when the eSIM's latest observation from this source succeeded, else 0. "
    "source=\"live\": the latest live-status poll (present once one finished); "
    "source=\"list\": the latest complete inventory sweep listed the eSIM (present once a sweep "
    "listed it).",
    "gauge"};
constexpr MetricDesc kLastPollSuccessTime{
    "esim_last_poll_success_timestamp_seconds",
    "Unix time of the eSIM's latest successful observation from this source: source=\"live\" a "
    "live-status poll, source=\"list\" an inventory sweep that listed it.",
    "gauge"};

constexpr MetricDesc kAccountEsims{
    "esim_account_esims",
    "eSIMs on the whole API account per status, from the latest complete inventory sweep (the "
    "listings' pagination totals); with --shard.total above 1, only the replica that reads the "
    "account exports it (replica 0 for the unnamed account, FNV-1a(name) mod N for a named one).",
    "gauge"};
constexpr MetricDesc kAccountBalance{
    "esim_account_balance",
    "The API account's balance, from the last balance read; with --shard.total above 1, only the "
    "replica that reads the account reads and exports it (replica 0 for the unnamed account, "
    "FNV-1a(name) mod N for a named one).",
    "gauge"};
constexpr MetricDesc kAccountBalanceLowThreshold{
    "esim_account_balance_low_threshold",
    "The low-balance alert's threshold for this account, in its own currency: its balance.low, "
    "else alerts.balance_low (0: no low-balance alert); exported where the balance is read.",
    "gauge"};
constexpr MetricDesc kInventoryLastSuccessTime{
    "esim_inventory_last_success_timestamp_seconds",
    "Unix time when the latest complete inventory sweep ended; 0 before the first.", "gauge"};
constexpr MetricDesc kInventorySkippedEntries{
    "esim_inventory_skipped_entries_total",
    "List entries the inventory sweeps skipped, by reason: pending (orders still being "
    "provisioned, without ICCID or usage yet) or malformed (entries that do not parse).",
    "counter"};
constexpr MetricDesc kDiscoveryLimit{
    "esim_discovery_limit",
    "The most eSIMs discovery adds on this replica (inventory.max_discovered).", "gauge"};
constexpr MetricDesc kDiscoveryOverLimit{
    "esim_discovery_over_limit_esims",
    "eSIMs the latest inventory sweep listed for this replica but that are not monitored "
    "because discovery's limit (esim_discovery_limit) is reached; 0 normally.",
    "gauge"};

constexpr MetricDesc kSubscriptionReadSuccess{
    "esim_webhook_subscription_read_success",
    "1 when the latest read of the API key's webhook subscription (GET /webhooks) succeeded, "
    "else 0.",
    "gauge"};
constexpr MetricDesc kSubscriptionReadTime{
    "esim_webhook_subscription_read_timestamp_seconds",
    "Unix time of the latest successful read of the webhook subscription; 0 before the first.",
    "gauge"};
constexpr MetricDesc kSubscriptionPointsHere{
    "esim_webhook_subscription_points_here",
    "1 when the API key's webhook URL is webhook.public_url (ignoring one trailing slash), else "
    "0: deliveries go elsewhere or nowhere.",
    "gauge"};
constexpr MetricDesc kWebhookSubscribed{
    "esim_webhook_subscribed",
    "1 for each event the API key's webhook subscription carries, 0 for each documented or "
    "available event it does not.",
    "gauge"};
constexpr MetricDesc kWebhookRecentDeliveries{
    "esim_webhook_recent_deliveries",
    "The vendor's most recent delivery attempts (it lists the last 10) by status: delivered, "
    "failed (retries exhausted), other (e.g. still retrying).",
    "gauge"};
constexpr MetricDesc kWebhookRecentFailedDeliveryTime{
    "esim_webhook_recent_failed_delivery_timestamp_seconds",
    "Unix time of the last attempt of the newest failed delivery among the vendor's recent "
    "deliveries; absent when none failed.",
    "gauge"};
constexpr MetricDesc kWebhookDeliveries{
    "esim_webhook_deliveries_total",
    "Webhook deliveries received, by event (a documented event name, else other) and outcome: "
    "applied, duplicate, invalid_signature, stale, malformed, too_large, unknown_esim, ignored.",
    "counter"};
constexpr MetricDesc kWebhookLastAppliedTime{
    "esim_webhook_last_applied_timestamp_seconds",
    "Unix time when the latest webhook delivery was applied; 0 before the first.", "gauge"};

constexpr MetricDesc kAlertThreshold{
    "esim_alert_threshold",
    "Alert thresholds that the config sets for this eSIM (its own alerts: or its group's): "
    "usage ratios of the plan's data, expiry in seconds before it; the others are "
    "esim_alert_threshold_default.",
    "gauge"};
constexpr MetricDesc kAlertThresholdDefault{
    "esim_alert_threshold_default",
    "Alert thresholds of the config's alerts: section, for eSIMs without an override: usage "
    "ratios of the plan's data, expiry in seconds before it, and balance_low, the low-balance "
    "threshold of accounts without their own balance.low (0: no low-balance alert; "
    "esim_account_balance_low_threshold is each account's).",
    "gauge"};

constexpr MetricDesc kUp{
    "esim_up",
    "1 when the eSIMfly API answered the latest request with a valid signed-API response, 0 "
    "when it was unreachable, refused the credentials or answered garbage.",
    "gauge"};
constexpr MetricDesc kCredentialsRefused{
    "esim_api_credentials_refused",
    "1 while the API's latest answer refused the credentials (INVALID_API_KEY, "
    "INVALID_SIGNATURE, INVALID_TIMESTAMP, HMAC_REQUIRED, INVALID_USER), else 0.",
    "gauge"};
constexpr MetricDesc kPollInterval{
    "esim_poll_interval_seconds",
    "The per-eSIM live-status poll interval in force (the configured one, or longer when the "
    "request budget forces it).",
    "gauge"};
constexpr MetricDesc kPollIntervalConfigured{
    "esim_poll_interval_configured_seconds",
    "The per-eSIM live-status poll interval set by poll.interval in the config; "
    "esim_poll_interval_seconds is the one in force.",
    "gauge"};
constexpr MetricDesc kApiPausedUntil{
    "esim_api_paused_until_timestamp_seconds",
    "Unix time until which a pause the API imposed (RATE_LIMIT_EXCEEDED, Retry-After, "
    "X-RateLimit-Remaining: 0) holds every request back; 0 when none holds.",
    "gauge"};
constexpr MetricDesc kRateLimitLimit{
    "esim_api_rate_limit_limit",
    "Request limit of the API key's current window, from the latest X-RateLimit-Limit header.",
    "gauge"};
constexpr MetricDesc kRateLimitRemaining{
    "esim_api_rate_limit_remaining",
    "Requests left in the API key's current window, from the latest X-RateLimit-Remaining "
    "header.",
    "gauge"};
constexpr MetricDesc kRateLimitResetTime{
    "esim_api_rate_limit_reset_timestamp_seconds",
    "Unix time when the API key's current window resets, from the latest X-RateLimit-Reset "
    "header.",
    "gauge"};
constexpr MetricDesc kApiClockSkew{
    "esim_api_clock_skew_seconds",
    "The API server's clock (Date header) minus this host's clock, in seconds; requests are "
    "refused when the host clock is off by minutes.",
    "gauge"};
constexpr MetricDesc kMonitoredEsims{
    "esim_monitored_esims",
    "eSIMs monitored: those in the running config, plus those found by discovery.", "gauge"};
constexpr MetricDesc kConfigLastReloadSuccessful{
    "esim_config_last_reload_successful",
    "1 when the latest config (re)load succeeded, 0 after a rejected reload.", "gauge"};
constexpr MetricDesc kConfigLastReloadSuccessTime{
    "esim_config_last_reload_success_timestamp_seconds",
    "Unix time of the latest successful config (re)load.", "gauge"};
constexpr MetricDesc kStorageLastWriteSuccessTime{
    "esim_storage_last_write_success_timestamp_seconds",
    "Unix time of the latest successful write of the durable state (--storage.path); 0 before "
    "the first.",
    "gauge"};
constexpr MetricDesc kStorageWriteFailures{
    "esim_storage_write_failures_total",
    "Writes of the durable state or of the request-budget ledger that failed.", "counter"};
constexpr MetricDesc kStorageRestoredEsims{
    "esim_storage_restored_esims", "eSIMs whose state was restored from --storage.path at startup.",
    "gauge"};
constexpr MetricDesc kBuildInfo{
    "esim_exporter_build_info",
    "Always 1; labels carry the version and git revision of esim_exporter.", "gauge"};

// A Row's value that the eSIM's answer did not carry.
constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();

// What the renderer reads of one eSIM, copied into one contiguous array: a large fleet's records
// are scattered over the heap, and the page visits every eSIM once per family (13 passes), so
// reading the records themselves each time misses the cache on every row above ~10k eSIMs.
struct Row {
  const EsimRecord* record;      // for the families written once per eSIM (info, network, ...)
  const RenderedLabels* labels;  // the same
  std::string_view identity;     // iccid="…",name="…", in the page's own contiguous copy
  bool fresh = false;            // has data that is not stale: the data families are written
  bool live_polled = false, last_live_ok = false;  // esim_poll_success{source="live"}
  bool listed = false, last_list_ok = false;       // esim_poll_success{source="list"}
  bool unlimited = false;
  bool active = false;
  bool has_network = false, has_device = false, has_package = false;
  bool has_lifecycle = false;        // the status names a lifecycle state (events alone leave none)
  bool has_subscriber = false;       // labels->subscriber() is not empty
  bool has_alert_overrides = false;  // record->config.alerts is not empty
  int status_index = -1;             // in kLifecycleStatuses; -1 for an undocumented status
  double last_live_success_time = 0, last_listed_time = 0;
  double used_bytes = 0;
  // NaN when the answer had none: half the size of optionals, over a row per eSIM per scrape.
  double total_bytes = kAbsent, activation_time = kAbsent, expiry_time = kAbsent,
         last_usage_time = kAbsent;
  // From webhook events: NaN while none told it.
  double installed_time = kAbsent, last_event_time = kAbsent;
};

// Records lie scattered over the heap (a poll replaces its eSIM's), so a pass that reads each
// row's record or label text misses the cache once per row, and a row's work is too long for
// the processor to start the next row's loads meanwhile: the misses came one after another.
// Asking for a row's memory this many rows ahead overlaps them.
constexpr size_t kRowsAhead = 8;

void PrefetchBytes(const void* begin, size_t bytes) {
  // GCC takes a function that only prefetches for one without effects ("const") and drops the
  // calls that it did not inline first, prefetches and all: an empty volatile asm is an effect.
  asm volatile("");
  if (bytes == 0) return;
  const char* const at = static_cast<const char*>(begin);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(at + offset);
  __builtin_prefetch(at + bytes - 1);
}

// The parts of `record` that AppendRows reads.
void PrefetchRecord(const EsimRecord& record) {
  PrefetchBytes(&record.config.alerts, sizeof(record.config.alerts));
  PrefetchBytes(&record.status, sizeof(record.status));
  PrefetchBytes(&record.package, sizeof(record.package));
  PrefetchBytes(&record.installation, sizeof(record.installation));
  PrefetchBytes(&record.last_event_time, sizeof(record.last_event_time));
  PrefetchBytes(&record.last_success_time, sizeof(record.last_success_time));
  const auto* const live_fields = reinterpret_cast<const char*>(&record.live_polled);
  PrefetchBytes(live_fields, reinterpret_cast<const char*>(&record.labels + 1) - live_fields);
}

// A clock reading (or a difference of two) to the millisecond, the finest time Prometheus keeps:
// it prints in ~14 characters instead of ~18, and without std::to_chars' search for the
// shortest form (WriteSampleValue), for a few samples per eSIM.
double ToMillis(double seconds) { return std::round(seconds * 1000) / 1000; }

std::optional<double> Present(double value) {
  if (std::isnan(value)) return std::nullopt;
  return value;
}

// `rendered_here` keeps the label sets of records the store did not render (built by hand);
// `identities` holds the rows' identity label text.
// Appends one account's rows; `identity_ends` records where each row's identity text ends.
void AppendRows(const StateSnapshot& snapshot, const ExporterStatus& status, double now,
                std::deque<RenderedLabels>& rendered_here, std::string& identities,
                std::vector<Row>& rows, std::vector<size_t>& identity_ends) {
  // A budget-stretched interval may exceed stale_after: never drop data between two polls.
  const double stale_after =
      std::max(std::chrono::duration<double>(status.stale_after).count(),
               2 * std::chrono::duration<double>(status.poll_interval).count());
  const auto& records = snapshot.esims;
  for (size_t i = 0; i < records.size(); ++i) {
    // Two stages: a record's labels hold the address of their text.
    if (i + 2 * kRowsAhead < records.size()) PrefetchRecord(*records[i + 2 * kRowsAhead]);
    if (i + kRowsAhead < records.size()) {
      const EsimRecord& ahead = *records[i + kRowsAhead];
      if (ahead.labels) {
        const std::string_view identity = ahead.labels->identity();
        PrefetchBytes(identity.data(), identity.size());
      }
    }
    const auto& record = records[i];
    Row row;
    row.record = record.get();
    row.labels = record->labels ? &*record->labels : nullptr;
    if (row.labels == nullptr) row.labels = &rendered_here.emplace_back(RenderLabels(*record));
    identities += row.labels->identity();
    identity_ends.push_back(identities.size());
    row.has_subscriber = !row.labels->subscriber().empty();
    row.has_alert_overrides = !record->config.alerts.empty();
    row.live_polled = record->live_polled;
    row.last_live_ok = record->last_live_ok;
    row.listed = record->last_listed_time > 0;
    row.last_list_ok = record->last_list_ok;
    row.last_live_success_time = ToMillis(record->last_live_success_time);
    row.last_listed_time = ToMillis(record->last_listed_time);
    row.fresh = record->status && now - record->last_success_time <= stale_after;
    if (record->last_event_time > 0) row.last_event_time = record->last_event_time;
    if (record->installation) {
      row.installed_time = record->installation->installed_time.value_or(kAbsent);
    }
    if (row.fresh) {
      const EsimStatus& data = *record->status;
      row.used_bytes = data.used_bytes;
      row.total_bytes = data.total_bytes.value_or(kAbsent);
      row.unlimited = data.unlimited;
      row.has_lifecycle = !data.status.empty();
      row.active = data.status == "ACTIVE";
      const auto documented =
          std::find(kLifecycleStatuses.begin(), kLifecycleStatuses.end(), data.status);
      row.status_index = documented == kLifecycleStatuses.end()
                             ? -1
                             : static_cast<int>(documented - kLifecycleStatuses.begin());
      row.activation_time = data.activation_time.value_or(kAbsent);
      row.expiry_time = data.expiry_time.value_or(kAbsent);
      row.last_usage_time = data.last_usage_time.value_or(kAbsent);
      row.has_network = data.last_network.HasAny();
      row.has_device = data.device.HasAny();
      row.has_package = record->package != nullptr;
    }
    rows.push_back(row);
  }
}

std::vector<Row> BuildRows(const std::vector<AccountMetrics>& accounts, double now,
                           std::deque<RenderedLabels>& rendered_here, std::string& identities) {
  size_t esim_count = 0;
  for (const AccountMetrics& account : accounts) esim_count += account.snapshot->esims.size();
  std::vector<Row> rows;
  rows.reserve(esim_count);
  std::vector<size_t> identity_ends;
  identity_ends.reserve(esim_count);
  // Sized exactly: growing it by doubling would hold two copies (up to 3x the text, ~10 MB at
  // 50,000 eSIMs with two config labels) while it moves.
  size_t identity_bytes = 0;
  for (const AccountMetrics& account : accounts) {
    for (const auto& record : account.snapshot->esims) {
      identity_bytes += record->labels ? record->labels->identity().size() : 64;
    }
  }
  identities.reserve(identity_bytes);
  for (const AccountMetrics& account : accounts) {
    AppendRows(*account.snapshot, *account.status, now, rendered_here, identities, rows,
               identity_ends);
  }
  size_t start = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].identity = std::string_view(identities).substr(start, identity_ends[i] - start);
    start = identity_ends[i];
  }
  return rows;
}

template <typename ValueOf>
void DataGauge(ExpositionWriter& out, const std::vector<Row>& rows, const MetricDesc& desc,
               ValueOf value_of) {
  bool family_written = false;
  for (const Row& row : rows) {
    if (!row.fresh) continue;
    const std::optional<double> value = value_of(row);
    if (!value) continue;
    if (!family_written) {
      out.Family(desc);
      family_written = true;
    }
    out.SampleWithLabelText(desc, {row.identity}, *value);
  }
}

// For passes that read nothing of a row beyond the row itself.
void NoPrefetch(const std::vector<Row>&, size_t) {}

// For passes that write a part of each row's labels (`part_of` picks it): the labels themselves
// (in the record) two strides ahead, then the part's text, whose address they hold, one stride
// ahead.
template <typename PartOf>
auto PrefetchLabelPart(PartOf part_of) {
  return [part_of](const std::vector<Row>& rows, size_t at) {
    if (at + 2 * kRowsAhead < rows.size()) {
      PrefetchBytes(rows[at + 2 * kRowsAhead].labels, sizeof(RenderedLabels));
    }
    if (at + kRowsAhead < rows.size()) {
      const std::string_view part = part_of(*rows[at + kRowsAhead].labels);
      PrefetchBytes(part.data(), part.size());
    }
  };
}

// A per-eSIM family written when some row `has` it: the family, then `write_row` for each such
// row; `prefetch` is called with each row's index before it.
template <typename Has, typename WriteRow, typename Prefetch = decltype(&NoPrefetch)>
void RowFamily(ExpositionWriter& out, const std::vector<Row>& rows, const MetricDesc& desc, Has has,
               WriteRow write_row, Prefetch prefetch = &NoPrefetch) {
  if (std::none_of(rows.begin(), rows.end(), has)) return;
  out.Family(desc);
  for (size_t i = 0; i < rows.size(); ++i) {
    prefetch(rows, i);
    if (has(rows[i])) write_row(rows[i]);
  }
}

// ,status="ACTIVE" and the others: one piece to copy per sample rather than three (six samples
// per eSIM).
const std::array<std::string, kLifecycleStatuses.size()>& StatusLabelTexts() {
  static const auto texts = [] {
    std::array<std::string, kLifecycleStatuses.size()> built;
    for (size_t i = 0; i < built.size(); ++i) {
      built[i] = ",status=\"" + std::string(kLifecycleStatuses[i]) + "\"";
    }
    return built;
  }();
  return texts;
}

void WriteStatusSamples(ExpositionWriter& out, const Row& row) {
  if (!row.has_lifecycle) return;  // only events so far, none on status
  const auto& label_texts = StatusLabelTexts();
  for (size_t i = 0; i < label_texts.size(); ++i) {
    out.SampleWithLabelText(kStatus, {row.identity, label_texts[i]},
                            static_cast<int>(i) == row.status_index ? 1 : 0);
  }
  if (row.status_index < 0) {
    std::string escaped;
    AppendEscapedLabelValue(escaped, row.record->status->status);
    out.SampleWithLabelText(kStatus, {row.identity, ",status=\"", escaped, "\""}, 1);
  }
}

// What the last poll said of each eSIM whose data is not stale.
void WriteDataFamilies(ExpositionWriter& out, const std::vector<Row>& rows, double now) {
  DataGauge(out, rows, kDataUsedBytes,
            [](const Row& r) { return std::optional<double>(r.used_bytes); });
  DataGauge(out, rows, kDataTotalBytes, [](const Row& r) { return Present(r.total_bytes); });
  DataGauge(out, rows, kUnlimited,
            [](const Row& r) { return std::optional<double>(r.unlimited ? 1 : 0); });
  RowFamily(
      out, rows, kStatus, [](const Row& r) { return r.fresh; },
      [&out](const Row& row) { WriteStatusSamples(out, row); });
  DataGauge(out, rows, kActive,
            [](const Row& r) { return std::optional<double>(r.active ? 1 : 0); });
  DataGauge(out, rows, kActivationTime, [](const Row& r) { return Present(r.activation_time); });
  DataGauge(out, rows, kExpiryTime, [](const Row& r) { return Present(r.expiry_time); });
  DataGauge(out, rows, kLastUsageTime, [](const Row& r) { return Present(r.last_usage_time); });
  DataGauge(out, rows, kLastUsageAge, [now](const Row& r) -> std::optional<double> {
    if (std::isnan(r.last_usage_time)) return std::nullopt;
    return std::max(0.0, ToMillis(now - r.last_usage_time));
  });
}

// The info families: always 1, their labels carry what the eSIM is and where it is.
void WriteInfoFamilies(ExpositionWriter& out, const std::vector<Row>& rows,
                       const ExporterStatus& status) {
  // esim_info carries the config labels, so it exists for every configured eSIM.
  RowFamily(
      out, rows, kInfo, [](const Row&) { return true; },
      [&out](const Row& row) {
        out.SampleWithLabelText(kInfo, {row.identity, row.labels->info()}, 1);
      },
      PrefetchLabelPart([](const RenderedLabels& labels) { return labels.info(); }));
  RowFamily(
      out, rows, kNetworkInfo, [](const Row& r) { return r.has_network; },
      [&out](const Row& row) {
        out.SampleWithLabelText(kNetworkInfo, {row.identity, row.labels->network()}, 1);
      },
      PrefetchLabelPart([](const RenderedLabels& labels) { return labels.network(); }));
  RowFamily(
      out, rows, kDeviceInfo, [](const Row& r) { return r.has_device; },
      [&out, &status](const Row& row) {
        const RenderedLabels& labels = *row.labels;
        out.SampleWithLabelText(kDeviceInfo,
                                {row.identity, labels.device_model(),
                                 status.export_imei ? labels.device_imei() : std::string_view()},
                                1);
      },
      PrefetchLabelPart([](const RenderedLabels& labels) { return labels.device_model(); }));
  RowFamily(
      out, rows, kPackageInfo, [](const Row& r) { return r.has_package; },
      [&out](const Row& row) {
        out.SampleWithLabelText(kPackageInfo, {row.identity, row.labels->package()}, 1);
      },
      PrefetchLabelPart([](const RenderedLabels& labels) { return labels.package(); }));
}

// What webhook events said of each eSIM.
void WriteEventFamilies(ExpositionWriter& out, const std::vector<Row>& rows,
                        const ExporterStatus& status) {
  DataGauge(out, rows, kInstalledTime, [](const Row& r) { return Present(r.installed_time); });
  DataGauge(out, rows, kLastEventTime, [](const Row& r) { return Present(r.last_event_time); });
  if (!status.export_eid_imsi) return;
  RowFamily(
      out, rows, kSubscriberInfo, [](const Row& r) { return r.fresh && r.has_subscriber; },
      [&out](const Row& row) {
        out.SampleWithLabelText(kSubscriberInfo, {row.identity, row.labels->subscriber()}, 1);
      },
      PrefetchLabelPart([](const RenderedLabels& labels) { return labels.subscriber(); }));
}

// Split by source: a sweep listing the eSIM must not hide a live poll that keeps failing.
void WritePollFamilies(ExpositionWriter& out, const std::vector<Row>& rows) {
  RowFamily(
      out, rows, kPollSuccess, [](const Row& r) { return r.live_polled || r.listed; },
      [&out](const Row& row) {
        if (row.live_polled) {
          out.SampleWithLabelText(kPollSuccess, {row.identity, ",source=\"live\""},
                                  row.last_live_ok ? 1 : 0);
        }
        if (row.listed) {
          out.SampleWithLabelText(kPollSuccess, {row.identity, ",source=\"list\""},
                                  row.last_list_ok ? 1 : 0);
        }
      });
  RowFamily(
      out, rows, kLastPollSuccessTime,
      [](const Row& r) { return r.last_live_success_time > 0 || r.last_listed_time > 0; },
      [&out](const Row& row) {
        if (row.last_live_success_time > 0) {
          out.SampleWithLabelText(kLastPollSuccessTime, {row.identity, ",source=\"live\""},
                                  row.last_live_success_time);
        }
        if (row.last_listed_time > 0) {
          out.SampleWithLabelText(kLastPollSuccessTime, {row.identity, ",source=\"list\""},
                                  row.last_listed_time);
        }
      });
}

void WriteEsimFamilies(ExpositionWriter& out, const std::vector<Row>& rows,
                       const ExporterStatus& status, double now) {
  WriteDataFamilies(out, rows, now);
  WriteInfoFamilies(out, rows, status);
  WriteEventFamilies(out, rows, status);
  WritePollFamilies(out, rows);
}

using Accounts = std::vector<AccountMetrics>;

std::string_view NameOf(const AccountMetrics& account) { return account.status->account; }

bool Always(const AccountMetrics&) { return true; }

// One family with a sample (or several) per account: HELP and TYPE once when `has` holds for
// some account, then `write` for each such account.
template <typename Has, typename Write>
void AccountFamily(ExpositionWriter& out, const Accounts& accounts, const MetricDesc& desc, Has has,
                   Write write) {
  if (std::none_of(accounts.begin(), accounts.end(), has)) return;
  out.Family(desc);
  for (const AccountMetrics& account : accounts) {
    if (has(account)) write(account);
  }
}

// One sample per account, labelled with nothing but the account.
template <typename Has, typename ValueOf>
void AccountGauge(ExpositionWriter& out, const Accounts& accounts, const MetricDesc& desc, Has has,
                  ValueOf value_of) {
  AccountFamily(out, accounts, desc, has, [&](const AccountMetrics& account) {
    out.AccountSample(desc, NameOf(account), {}, value_of(account));
  });
}

// The account's figures (on the replica that reads them) and what the inventory sweeps saw.
void WriteAccountFamilies(ExpositionWriter& out, const Accounts& accounts) {
  AccountFamily(
      out, accounts, kAccountEsims,
      [](const AccountMetrics& a) { return !a.snapshot->account.esims_by_status.empty(); },
      [&out](const AccountMetrics& a) {
        for (const auto& [account_status, count] : a.snapshot->account.esims_by_status) {
          out.AccountSample(kAccountEsims, NameOf(a), {{"status", account_status}},
                            static_cast<double>(count));
        }
      });
  AccountFamily(
      out, accounts, kAccountBalance,
      [](const AccountMetrics& a) { return a.snapshot->account.balance.has_value(); },
      [&out](const AccountMetrics& a) {
        const AccountBalance& balance = *a.snapshot->account.balance;
        out.AccountSample(kAccountBalance, NameOf(a), {{"currency", balance.currency}},
                          balance.amount);
      });
  AccountGauge(
      out, accounts, kAccountBalanceLowThreshold,
      [](const AccountMetrics& a) { return a.status->account_balance_low.has_value(); },
      [](const AccountMetrics& a) { return *a.status->account_balance_low; });
  const auto inventory = [](const AccountMetrics& a) { return a.status->inventory_enabled; };
  AccountGauge(out, accounts, kInventoryLastSuccessTime, inventory, [](const AccountMetrics& a) {
    return a.snapshot->account.inventory_last_success_time;
  });
  AccountFamily(out, accounts, kInventorySkippedEntries, inventory,
                [&out](const AccountMetrics& a) {
                  const SweepState& sweeps = a.snapshot->inventory;
                  out.AccountSample(kInventorySkippedEntries, NameOf(a), {{"reason", "pending"}},
                                    static_cast<double>(sweeps.skipped_pending));
                  out.AccountSample(kInventorySkippedEntries, NameOf(a), {{"reason", "malformed"}},
                                    static_cast<double>(sweeps.skipped_malformed));
                });
  const auto discovery = [&inventory](const AccountMetrics& a) {
    return inventory(a) && a.snapshot->inventory.discovery_limit.has_value();
  };
  AccountGauge(out, accounts, kDiscoveryLimit, discovery, [](const AccountMetrics& a) {
    return static_cast<double>(*a.snapshot->inventory.discovery_limit);
  });
  AccountGauge(out, accounts, kDiscoveryOverLimit, discovery, [](const AccountMetrics& a) {
    return static_cast<double>(a.snapshot->inventory.discovery_over_limit);
  });
}

// What the reads of the key's subscription said (docs/contract.md, "Webhooks"). The key's URL
// is never written: it may be another system's.
void WriteSubscriptionFamilies(ExpositionWriter& out, const Accounts& accounts) {
  const auto reads = [](const AccountMetrics& a) -> const SubscriptionReads& {
    return a.snapshot->webhooks.subscription;
  };
  const auto read_once = [&reads](const AccountMetrics& a) {
    return a.snapshot->webhooks.enabled && reads(a).last_ok.has_value();
  };
  AccountGauge(out, accounts, kSubscriptionReadSuccess, read_once,
               [&reads](const AccountMetrics& a) { return *reads(a).last_ok ? 1.0 : 0.0; });
  AccountGauge(out, accounts, kSubscriptionReadTime, read_once,
               [&reads](const AccountMetrics& a) { return reads(a).last_success_time; });
  const auto healthy = [&](const AccountMetrics& a) {
    return read_once(a) && reads(a).health.has_value();
  };
  AccountGauge(
      out, accounts, kSubscriptionPointsHere,
      [&](const AccountMetrics& a) { return healthy(a) && !a.status->webhook_public_url.empty(); },
      [&reads](const AccountMetrics& a) {
        return PointsAt(reads(a).health->url, a.status->webhook_public_url) ? 1.0 : 0.0;
      });
  AccountFamily(out, accounts, kWebhookSubscribed, healthy, [&](const AccountMetrics& a) {
    for (const auto& [event, subscribed] : reads(a).health->events) {
      out.AccountSample(kWebhookSubscribed, NameOf(a), {{"event", event}}, subscribed ? 1 : 0);
    }
  });
  AccountFamily(out, accounts, kWebhookRecentDeliveries, healthy, [&](const AccountMetrics& a) {
    const WebhookSubscriptionHealth& health = *reads(a).health;
    out.AccountSample(kWebhookRecentDeliveries, NameOf(a), {{"status", "delivered"}},
                      static_cast<double>(health.delivered));
    out.AccountSample(kWebhookRecentDeliveries, NameOf(a), {{"status", "failed"}},
                      static_cast<double>(health.failed));
    out.AccountSample(kWebhookRecentDeliveries, NameOf(a), {{"status", "other"}},
                      static_cast<double>(health.other));
  });
  AccountGauge(
      out, accounts, kWebhookRecentFailedDeliveryTime,
      [&](const AccountMetrics& a) {
        return healthy(a) && reads(a).health->newest_failure_time.has_value();
      },
      [&reads](const AccountMetrics& a) { return *reads(a).health->newest_failure_time; });
}

// What the webhook receivers saw, for the accounts that have one.
void WriteWebhookFamilies(ExpositionWriter& out, const Accounts& accounts) {
  const auto enabled = [](const AccountMetrics& a) { return a.snapshot->webhooks.enabled; };
  AccountFamily(out, accounts, kWebhookDeliveries, enabled, [&out](const AccountMetrics& a) {
    for (const auto& [key, count] : a.snapshot->webhooks.deliveries) {
      out.AccountSample(kWebhookDeliveries, NameOf(a),
                        {{"event", key.first}, {"outcome", key.second}},
                        static_cast<double>(count));
    }
  });
  AccountGauge(out, accounts, kWebhookLastAppliedTime, enabled,
               [](const AccountMetrics& a) { return a.snapshot->webhooks.last_applied_time; });
  WriteSubscriptionFamilies(out, accounts);
}

// The thresholds the shipped alert rules use: the defaults always, and per eSIM only those
// that its own or its group's alerts: override (rules take "override, else default").
void WriteThresholdFamilies(ExpositionWriter& out, const std::vector<Row>& rows,
                            const ExporterStatus& status) {
  const auto seconds = [](std::chrono::milliseconds duration) {
    return std::chrono::duration<double>(duration).count();
  };
  bool family_written = false;
  for (const Row& row : rows) {
    if (!row.has_alert_overrides) continue;
    const AlertOverrides& set = row.record->config.alerts;
    if (!family_written) {
      out.Family(kAlertThreshold);
      family_written = true;
    }
    const auto sample = [&](std::string_view threshold, double value) {
      out.SampleWithLabelText(kAlertThreshold, {row.identity, ",threshold=\"", threshold, "\""},
                              value);
    };
    if (set.data_usage_warning_ratio) {
      sample("data_usage_warning_ratio", *set.data_usage_warning_ratio);
    }
    if (set.data_usage_critical_ratio) {
      sample("data_usage_critical_ratio", *set.data_usage_critical_ratio);
    }
    if (set.expiry_warning) sample("expiry_warning_seconds", seconds(*set.expiry_warning));
    if (set.expiry_critical) sample("expiry_critical_seconds", seconds(*set.expiry_critical));
  }
  const AlertThresholds& defaults = status.alert_defaults;
  out.Family(kAlertThresholdDefault);
  out.Sample(kAlertThresholdDefault, {{"threshold", "data_usage_warning_ratio"}},
             defaults.data_usage_warning_ratio);
  out.Sample(kAlertThresholdDefault, {{"threshold", "data_usage_critical_ratio"}},
             defaults.data_usage_critical_ratio);
  out.Sample(kAlertThresholdDefault, {{"threshold", "expiry_warning_seconds"}},
             seconds(defaults.expiry_warning));
  out.Sample(kAlertThresholdDefault, {{"threshold", "expiry_critical_seconds"}},
             seconds(defaults.expiry_critical));
  out.Sample(kAlertThresholdDefault, {{"threshold", "balance_low"}}, status.balance_low);
}

// What each account's API answers said, and the exporter's own state. `status` holds what all
// accounts share (reloads).
void WriteExporterFamilies(ExpositionWriter& out, const Accounts& accounts,
                           const ExporterStatus& status, double now) {
  const auto api = [](const AccountMetrics& a) -> const ApiState& { return a.snapshot->api; };
  const auto answered = [&api](const AccountMetrics& a) { return api(a).up.has_value(); };
  AccountGauge(out, accounts, kUp, answered,
               [&api](const AccountMetrics& a) { return *api(a).up ? 1.0 : 0.0; });
  AccountGauge(out, accounts, kCredentialsRefused, answered,
               [&api](const AccountMetrics& a) { return api(a).credentials_refused ? 1.0 : 0.0; });
  std::vector<const ApiMetrics*> api_metrics;
  for (const AccountMetrics& account : accounts) {
    if (account.api_metrics != nullptr) api_metrics.push_back(account.api_metrics);
  }
  ApiMetrics::WriteAll(out, api_metrics);
  const auto seconds = [](std::chrono::milliseconds duration) {
    return std::chrono::duration<double>(duration).count();
  };
  AccountGauge(out, accounts, kPollInterval, Always,
               [&](const AccountMetrics& a) { return seconds(a.status->poll_interval); });
  AccountGauge(out, accounts, kPollIntervalConfigured, Always, [&](const AccountMetrics& a) {
    return seconds(a.status->configured_poll_interval);
  });
  AccountGauge(out, accounts, kApiPausedUntil, Always, [&](const AccountMetrics& a) {
    const std::optional<double>& until = api(a).paused_until;
    return until && *until > now ? *until : 0.0;
  });
  AccountGauge(
      out, accounts, kRateLimitLimit,
      [&api](const AccountMetrics& a) { return api(a).rate_limit.limit.has_value(); },
      [&api](const AccountMetrics& a) { return *api(a).rate_limit.limit; });
  AccountGauge(
      out, accounts, kRateLimitRemaining,
      [&api](const AccountMetrics& a) { return api(a).rate_limit.remaining.has_value(); },
      [&api](const AccountMetrics& a) { return *api(a).rate_limit.remaining; });
  AccountGauge(
      out, accounts, kRateLimitResetTime,
      [&api](const AccountMetrics& a) { return api(a).rate_limit.reset_time.has_value(); },
      [&api](const AccountMetrics& a) { return *api(a).rate_limit.reset_time; });
  AccountGauge(
      out, accounts, kApiClockSkew,
      [&api](const AccountMetrics& a) { return api(a).server_time_offset.has_value(); },
      [&api](const AccountMetrics& a) { return *api(a).server_time_offset; });
  WriteAccountFamilies(out, accounts);
  WriteWebhookFamilies(out, accounts);
  AccountGauge(out, accounts, kMonitoredEsims, Always, [](const AccountMetrics& a) {
    return static_cast<double>(a.snapshot->esims.size());
  });
  out.Family(kConfigLastReloadSuccessful);
  out.Sample(kConfigLastReloadSuccessful, {}, status.last_reload_ok ? 1 : 0);
  out.Family(kConfigLastReloadSuccessTime);
  out.Sample(kConfigLastReloadSuccessTime, {}, status.last_reload_success_time);
  const auto stored = [](const AccountMetrics& a) { return a.status->storage.has_value(); };
  AccountGauge(out, accounts, kStorageLastWriteSuccessTime, stored,
               [](const AccountMetrics& a) { return a.status->storage->last_write_success_time; });
  AccountGauge(out, accounts, kStorageWriteFailures, stored, [](const AccountMetrics& a) {
    return static_cast<double>(a.status->storage->write_failures);
  });
  AccountGauge(out, accounts, kStorageRestoredEsims, stored, [](const AccountMetrics& a) {
    return static_cast<double>(a.status->storage->restored_esims);
  });
  out.Family(kBuildInfo);
  out.Sample(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
}

void WriteMetrics(ExpositionWriter& out, const Accounts& accounts, double now,
                  const RenderOptions& options) {
  // What all accounts share (the shared config blocks, reloads) is the same in each status.
  const ExporterStatus& shared = *accounts.front().status;
  std::deque<RenderedLabels> rendered_here;
  std::string identities;
  const std::vector<Row> rows = BuildRows(accounts, now, rendered_here, identities);
  WriteEsimFamilies(out, rows, shared, now);
  WriteThresholdFamilies(out, rows, shared);
  WriteExporterFamilies(out, accounts, shared, now);
  if (options.process_metrics) WriteProcessMetrics(out);
}

size_t EsimCount(const Accounts& accounts) {
  size_t count = 0;
  for (const AccountMetrics& account : accounts) count += account.snapshot->esims.size();
  return count;
}

}  // namespace

std::string RenderMetrics(const std::vector<AccountMetrics>& accounts, double now,
                          const RenderOptions& options) {
  std::string text;
  text.reserve(4096 + EsimCount(accounts) * 1800);  // a full eSIM takes ~1,600 bytes
  {
    ExpositionWriter out(text);
    WriteMetrics(out, accounts, now, options);
  }  // the writer, once gone, leaves `text` holding exactly the page
  return text;
}

void StreamMetrics(const std::vector<AccountMetrics>& accounts, double now,
                   const RenderOptions& options, const TextSink& sink, size_t piece_bytes) {
  std::string piece;
  ExpositionWriter out(piece, sink, piece_bytes);
  WriteMetrics(out, accounts, now, options);
  out.Flush();
}

std::string RenderMetrics(const StateSnapshot& snapshot, const ExporterStatus& status,
                          const ApiMetrics* api_metrics, double now, const RenderOptions& options) {
  return RenderMetrics({{&snapshot, &status, api_metrics}}, now, options);
}

void StreamMetrics(const StateSnapshot& snapshot, const ExporterStatus& status,
                   const ApiMetrics* api_metrics, double now, const RenderOptions& options,
                   const TextSink& sink, size_t piece_bytes) {
  StreamMetrics({{&snapshot, &status, api_metrics}}, now, options, sink, piece_bytes);
}

}  // namespace esim
