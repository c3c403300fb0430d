#include "collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "version.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kNow = 1782500000.0;  // the fake clock of every test here

std::shared_ptr<EsimRecord> Record(const std::string& iccid, const std::string& name) {
  auto record = std::make_shared<EsimRecord>();
  record->config.iccid = iccid;
  record->config.name = name;
  return record;
}

void Succeeded(EsimRecord& record, EsimStatus status, double when) {
  record.status = std::move(status);
  record.polled = record.live_polled = true;
  record.last_poll_ok = record.last_live_ok = true;
  record.last_code = "OK";
  record.last_poll_time = when;
  record.last_success_time = record.last_live_success_time = when;
}

EsimStatus SpecExample() {
  EsimStatus s;
  s.iccid = "8948010010036785060";
  s.status = "ACTIVE";
  s.esim_status = "Active";
  s.smdp_status = "AFFECTED";
  s.profile = "Enabled";
  s.last_network = {"Optus", "505", "2", "Australia", "AU", "4G - LTE"};
  s.device = {"GTF7P", "350000000000000"};
  s.activation_time = 1782484480.0;
  s.last_usage_time = 1782484521.0;
  s.expiry_time = 1785076480.0;
  s.used_bytes = 0;
  s.total_bytes = 1 * kGiB;
  return s;
}

// A snapshot with every shape the renderer must handle, on a fixed clock.
StateSnapshot GoldenSnapshot() {
  StateSnapshot snapshot;
  auto example = Record("8948010010036785060", "router-sydney-01");
  example->config.labels = {{"fleet", "routers"}, {"site", "syd"}};
  example->config.alerts.expiry_warning = std::chrono::hours(3 * 24);
  example->config.alerts.data_usage_warning_ratio = 0.9;
  Succeeded(*example, SpecExample(), kNow - 60);

  auto unlimited = Record("8948010010036785078", "tracker \"7\"");
  EsimStatus u;
  u.iccid = unlimited->config.iccid;
  u.status = "ACTIVE";
  u.unlimited = true;
  u.used_bytes = 12.5 * kGiB;
  u.last_network.country_iso2 = "SE";
  u.expiry_time = 1790000000.0;
  Succeeded(*unlimited, u, kNow - 120);

  auto fresh = Record("8948010010036785086", "");
  EsimStatus n;
  n.iccid = fresh->config.iccid;
  n.status = "NEW";
  n.esim_status = "New";
  n.total_bytes = 5 * kGiB;
  Succeeded(*fresh, n, kNow - 30);

  auto suspended = Record("8948010010036785094", "odd-status");
  EsimStatus odd = n;
  odd.iccid = suspended->config.iccid;
  odd.status = "SUSPENDED";
  odd.used_bytes = 0.5 * kGiB;
  Succeeded(*suspended, odd, kNow - 30);

  // Failed its latest poll but has older data, still fresh: the data stays.
  auto failing = Record("8948010010036785102", "failing");
  EsimStatus f = n;
  f.iccid = failing->config.iccid;
  f.status = "DEPLETED";
  f.used_bytes = 3 * kGiB;
  f.total_bytes = 3 * kGiB;
  Succeeded(*failing, f, kNow - 3600);
  failing->last_poll_ok = failing->last_live_ok = false;
  failing->last_code = "PROVIDER_ERROR";
  failing->last_poll_time = kNow - 10;

  // Last success 7 h ago, stale_after 6 h: data dropped, poll series stay.
  auto stale = Record("8948010010036785110", "stale");
  EsimStatus st = n;
  st.iccid = stale->config.iccid;
  st.status = "ACTIVE";
  Succeeded(*stale, st, kNow - 7 * 3600);
  stale->last_poll_ok = stale->last_live_ok = false;
  stale->last_code = "TIMEOUT";

  // Configured by eSIM id and never polled yet.
  auto pending = std::make_shared<EsimRecord>();
  pending->config.esim_id = 12345;
  pending->config.name = "spare";

  for (const auto& record : {example, unlimited, fresh, suspended, failing, stale, pending}) {
    snapshot.esims.push_back(record);
  }
  // Seen by an inventory sweep: package and vendor id known.
  example->package = std::make_shared<const PackageInfo>(
      PackageInfo{"au-1gb-30d", "Australia 1GB - 30 Days", "Australia"});
  example->listed_id = 1001;
  example->last_listed_time = kNow - 300;
  example->last_list_ok = true;
  // Listed once, then not by the latest complete sweep; its live poll keeps failing.
  failing->last_listed_time = kNow - 7200;
  failing->last_list_ok = false;
  snapshot.inventory.skipped_pending = 3;
  snapshot.inventory.skipped_malformed = 1;
  snapshot.inventory.discovery_limit = 50000;
  snapshot.account.esims_by_status = {{"ACTIVE", 250}, {"NEW", 30}};
  snapshot.account.balance = AccountBalance{1500.5, "USD"};
  snapshot.account.inventory_last_success_time = 1782499000;
  snapshot.api.up = true;
  snapshot.api.rate_limit = {100.0, 42.0, 1782500060.0};
  snapshot.api.server_time_offset = -1.5;
  return snapshot;
}

ExporterStatus GoldenStatus() {
  ExporterStatus status;
  status.poll_interval = std::chrono::minutes(15);
  status.configured_poll_interval = std::chrono::minutes(15);
  status.stale_after = std::chrono::hours(6);
  status.last_reload_ok = true;
  status.last_reload_success_time = 1782490000.0;
  status.inventory_enabled = true;
  // The golden snapshot has a balance: this replica reads it, so the threshold is exported.
  status.account_balance_low = 50;
  return status;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CollectorTest, MatchesTheGoldenFile) {
  ApiMetrics api_metrics;
  api_metrics.Observe("OK", 0.2);
  api_metrics.Observe("OK", 0.3);
  api_metrics.Observe("PROVIDER_ERROR", 4);
  std::string text = RenderMetrics(GoldenSnapshot(), GoldenStatus(), &api_metrics, kNow,
                                   RenderOptions{.process_metrics = false});
  // The build's git revision differs from build to build.
  const std::string revision_label = std::string("revision=\"") + kRevision + "\"";
  text.replace(text.find(revision_label), revision_label.size(), "revision=\"REVISION\"");
  const std::string golden_path = std::string(ESIM_TESTDATA_DIR) + "/golden/metrics.txt";
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path) << text;
  }
  EXPECT_EQ(text, ReadFile(golden_path))
      << "run with UPDATE_GOLDEN=1 to rewrite, then review the diff";
}

// The store renders each record's label sets once per change; the renderer falls back to
// rendering them itself for records built by hand. Both paths write the same bytes.
TEST(CollectorTest, StoreRenderedLabelsGiveTheSameText) {
  for (const bool export_imei : {false, true}) {
    SCOPED_TRACE(export_imei ? "with IMEI" : "without IMEI");
    ExporterStatus status = GoldenStatus();
    status.export_imei = export_imei;
    const StateSnapshot by_hand = GoldenSnapshot();
    StateSnapshot prerendered = by_hand;
    for (auto& record : prerendered.esims) {
      auto copy = std::make_shared<EsimRecord>(*record);
      copy->labels = RenderLabels(*copy);
      record = copy;
    }
    const std::string expected =
        RenderMetrics(by_hand, status, nullptr, kNow, {.process_metrics = false});
    EXPECT_EQ(RenderMetrics(prerendered, status, nullptr, kNow, {.process_metrics = false}),
              expected);
    if (export_imei) {
      EXPECT_THAT(expected, HasSubstr("imei="));
    } else {
      EXPECT_THAT(expected, Not(HasSubstr("imei=")));
    }
  }
}

// A scrape streams the page in pieces; joined, they are the page, byte for byte.
TEST(CollectorTest, StreamedPiecesJoinToTheWholePage) {
  ApiMetrics api_metrics;
  api_metrics.Observe("OK", 0.2);
  const RenderOptions options{.process_metrics = false};
  const std::string whole =
      RenderMetrics(GoldenSnapshot(), GoldenStatus(), &api_metrics, kNow, options);
  for (const size_t piece_bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{1} << 20}) {
    std::string joined;
    size_t pieces = 0, largest = 0;
    StreamMetrics(
        GoldenSnapshot(), GoldenStatus(), &api_metrics, kNow, options,
        [&](std::string_view piece) {
          EXPECT_FALSE(piece.empty());
          joined += piece;
          ++pieces;
          largest = std::max(largest, piece.size());
        },
        piece_bytes);
    EXPECT_EQ(joined, whole) << "pieces of " << piece_bytes;
    // A piece ends after the sample that reached the size: at most one sample (and the family
    // headers before it) longer.
    EXPECT_LE(largest, piece_bytes + 600);
    if (piece_bytes < whole.size()) {
      EXPECT_GT(pieces, whole.size() / (piece_bytes + 600));
    } else {
      EXPECT_EQ(pieces, 1u);
    }
  }
}

TEST(CollectorTest, UnlimitedPlanHasNoTotal) {
  const std::string text =
      RenderMetrics(GoldenSnapshot(), GoldenStatus(), nullptr, kNow, {.process_metrics = false});
  EXPECT_THAT(
      text,
      HasSubstr("esim_unlimited{iccid=\"8948010010036785078\",name=\"tracker \\\"7\\\"\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("esim_data_total_bytes{iccid=\"8948010010036785078\"")));
}

TEST(CollectorTest, StaleEsimKeepsOnlyItsPollSeries) {
  const std::string text =
      RenderMetrics(GoldenSnapshot(), GoldenStatus(), nullptr, kNow, {.process_metrics = false});
  EXPECT_THAT(text, Not(HasSubstr("esim_data_used_bytes{iccid=\"8948010010036785110\"")));
  EXPECT_THAT(text, HasSubstr("esim_poll_success{iccid=\"8948010010036785110\",name=\"stale\","
                              "source=\"live\"} 0"));
  EXPECT_THAT(text,
              HasSubstr("esim_last_poll_success_timestamp_seconds{iccid=\"8948010010036785110\""));
}

TEST(CollectorTest, ImeiOnlyWhenOptedIn) {
  ExporterStatus status = GoldenStatus();
  std::string text = RenderMetrics(GoldenSnapshot(), status, nullptr, kNow, {false});
  EXPECT_THAT(text, Not(HasSubstr("350000000000000")));
  status.export_imei = true;
  text = RenderMetrics(GoldenSnapshot(), status, nullptr, kNow, {false});
  EXPECT_THAT(text, HasSubstr(",imei=\"350000000000000\"} 1"));
}

// Clock readings of this process (poll times, ages at scrape time) go out to the millisecond,
// the finest time Prometheus keeps; times the API gave (to the millisecond) go out as they are.
TEST(CollectorTest, ClockReadingsAreWrittenToTheMillisecond) {
  StateSnapshot snapshot;
  auto record = Record("8948010010036785060", "r");
  EsimStatus status = SpecExample();
  status.last_usage_time = 1782484521.125;
  Succeeded(*record, status, kNow - 60.12345678);
  record->last_listed_time = kNow - 300.0004;
  snapshot.esims.push_back(record);
  const std::string text = RenderMetrics(snapshot, GoldenStatus(), nullptr, kNow + 0.9876543,
                                         {.process_metrics = false});
  const std::string labels = "{iccid=\"8948010010036785060\",name=\"r\"";
  EXPECT_THAT(text, HasSubstr("esim_last_poll_success_timestamp_seconds" + labels +
                              ",source=\"live\"} 1782499939.877\n"));
  EXPECT_THAT(text, HasSubstr("esim_last_poll_success_timestamp_seconds" + labels +
                              ",source=\"list\"} 1782499700\n"));
  EXPECT_THAT(text, HasSubstr("esim_last_usage_age_seconds" + labels + "} 15479.863\n"));
  EXPECT_THAT(text, HasSubstr("esim_last_usage_timestamp_seconds" + labels + "} 1782484521.125\n"));
}

TEST(CollectorTest, ProcessMetricsArePresentByDefault) {
  const std::string text = RenderMetrics(GoldenSnapshot(), GoldenStatus(), nullptr, kNow);
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_open_fds ", "process_max_fds ",
                           "process_start_time_seconds "}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name));
  }
}

TEST(CollectorTest, EmptyFleetStillServesExporterMetrics) {
  const std::string text =
      RenderMetrics(StateSnapshot{}, GoldenStatus(), nullptr, kNow, {.process_metrics = false});
  EXPECT_THAT(text, Not(HasSubstr("esim_poll_success")));
  EXPECT_THAT(text, HasSubstr("esim_monitored_esims 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("esim_up")));  // no request made yet
}

// A sweep that lists the eSIM must not hide a live poll that keeps failing: each source has its
// own series, and a source that never observed the eSIM has none.
TEST(CollectorTest, PollSuccessIsSplitBySource) {
  const std::string text =
      RenderMetrics(GoldenSnapshot(), GoldenStatus(), nullptr, kNow, {.process_metrics = false});
  const std::string failing = "{iccid=\"8948010010036785102\",name=\"failing\",";
  EXPECT_THAT(text, HasSubstr("esim_poll_success" + failing + "source=\"live\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("esim_poll_success" + failing + "source=\"list\"} 0\n"));
  const std::string example =
      "{iccid=\"8948010010036785060\",name=\"router-sydney-01\",fleet=\"routers\",site=\"syd\",";
  EXPECT_THAT(text, HasSubstr("esim_poll_success" + example + "source=\"live\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("esim_poll_success" + example + "source=\"list\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("esim_last_poll_success_timestamp_seconds" + example +
                              "source=\"list\"} 1782499700\n"));
  // Live-polled only: no list series. Never observed: no poll series at all.
  EXPECT_THAT(
      text, Not(HasSubstr(
                "esim_poll_success{iccid=\"8948010010036785110\",name=\"stale\",source=\"list\"")));
  EXPECT_THAT(text, Not(HasSubstr("esim_poll_success{iccid=\"\",name=\"spare\"")));
  EXPECT_THAT(text,
              Not(HasSubstr("esim_poll_success{iccid=\"8948010010036785102\",name=\"failing\"}")))
      << "no series without a source";
}

TEST(CollectorTest, StatusStateSetCoversEveryDocumentedStatus) {
  StateSnapshot snapshot;
  const char* statuses[] = {"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"};
  for (const char* lifecycle : statuses) {
    auto record = Record("89480100100367850" + std::to_string(snapshot.esims.size()), lifecycle);
    EsimStatus data;
    data.status = lifecycle;
    Succeeded(*record, data, kNow - 10);
    snapshot.esims.push_back(record);
  }
  const std::string text =
      RenderMetrics(snapshot, GoldenStatus(), nullptr, kNow, {.process_metrics = false});
  for (size_t i = 0; i < snapshot.esims.size(); ++i) {
    const std::string identity = "esim_status{iccid=\"" + snapshot.esims[i]->config.iccid +
                                 "\",name=\"" + statuses[i] + "\",";
    for (const char* state : statuses) {
      const std::string sample = identity + "status=\"" + state + "\"} " +
                                 (std::string(state) == statuses[i] ? "1" : "0") + "\n";
      EXPECT_THAT(text, HasSubstr(sample));
    }
  }
  size_t samples = 0;
  for (size_t at = text.find("\nesim_status{"); at != std::string::npos;
       at = text.find("\nesim_status{", at + 1)) {
    ++samples;
  }
  EXPECT_EQ(samples, 36u) << "six documented states each, no extra series";
}

TEST(CollectorTest, InventoryFamiliesFollowWhatIsEnabled) {
  ExporterStatus status = GoldenStatus();
  StateSnapshot snapshot;
  std::string text = RenderMetrics(snapshot, status, nullptr, kNow, {.process_metrics = false});
  // From the start, both reasons at 0, so that rate() and increase() work at once.
  EXPECT_THAT(text, HasSubstr("# TYPE esim_inventory_skipped_entries_total counter\n"));
  EXPECT_THAT(text, HasSubstr("esim_inventory_skipped_entries_total{reason=\"pending\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("esim_inventory_skipped_entries_total{reason=\"malformed\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("esim_discovery_limit"))) << "discovery is off";
  snapshot.inventory.discovery_limit = 300;
  snapshot.inventory.discovery_over_limit = 12;
  text = RenderMetrics(snapshot, status, nullptr, kNow, {.process_metrics = false});
  EXPECT_THAT(text, HasSubstr("\nesim_discovery_limit 300\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_discovery_over_limit_esims 12\n"));
  status.inventory_enabled = false;
  text = RenderMetrics(snapshot, status, nullptr, kNow, {.process_metrics = false});
  EXPECT_THAT(text, Not(HasSubstr("esim_inventory_")));
  EXPECT_THAT(text, Not(HasSubstr("esim_discovery_")));
}

// The subscription's series: only after a read, points_here only with public_url, the key's
// URL never on the page, a failed read keeps the previous summary.
TEST(CollectorTest, WebhookSubscriptionSeries) {
  StateSnapshot snapshot;
  snapshot.webhooks.enabled = true;
  ExporterStatus status = GoldenStatus();
  status.webhook_public_url = "https://esim.example.com/webhook/";
  const auto render = [&] {
    return RenderMetrics(snapshot, status, nullptr, kNow, {.process_metrics = false});
  };
  EXPECT_THAT(render(), Not(HasSubstr("esim_webhook_subscription")));

  WebhookSubscription subscription;
  subscription.url = "https://orders.example.com/secret-path";
  subscription.events = {"esim.usage.threshold"};
  for (const auto& [status_text, last_attempt] :
       {std::pair<std::string, std::optional<double>>{"failed", 1700000000.0},
        {"delivered", std::nullopt},
        {"failed", 1700000100.0}}) {
    WebhookSubscription::Delivery& delivery = subscription.recent_deliveries.emplace_back();
    delivery.status = status_text;
    delivery.last_attempt = last_attempt;
  }
  snapshot.webhooks.subscription = {true, kNow - 60, SummarizeSubscription(subscription)};
  std::string text = render();
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscription_read_success 1\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscription_points_here 0\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscribed{event=\"esim.usage.threshold\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscribed{event=\"esim.status.changed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_recent_deliveries{status=\"failed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_recent_deliveries{status=\"delivered\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("\nesim_webhook_recent_failed_delivery_timestamp_seconds 1700000100\n"));
  EXPECT_THAT(text, Not(HasSubstr("orders.example.com")));

  snapshot.webhooks.subscription.health->url = "https://esim.example.com/webhook";
  snapshot.webhooks.subscription.last_ok = false;
  text = render();
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscription_read_success 0\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_webhook_subscription_points_here 1\n"));
  status.webhook_public_url.clear();
  EXPECT_THAT(render(), Not(HasSubstr("esim_webhook_subscription_points_here")));
  snapshot.webhooks.enabled = false;
  EXPECT_THAT(render(), Not(HasSubstr("esim_webhook_")));
}

// Several accounts on one page: every family once, the account label first on each per-eSIM
// and per-account series, none on the shared ones. Checked byte for byte against a golden file.
TEST(CollectorTest, SeveralAccountsMatchTheGoldenFile) {
  StateSnapshot acme = GoldenSnapshot();
  for (auto& record : acme.esims) {
    auto copy = std::make_shared<EsimRecord>(*record);
    copy->config.account = "acme";
    record = copy;
  }
  acme.webhooks.enabled = true;
  acme.webhooks.deliveries[{"esim.status.changed", "applied"}] = 3;
  ExporterStatus acme_status = GoldenStatus();
  acme_status.account = "acme";
  acme_status.storage = ExporterStatus::Storage{kNow - 30, 0, 2};
  acme_status.account_balance_low = 1000;  // its own balance.low

  // globex: its credentials refused, one eSIM not polled yet, no inventory.
  StateSnapshot globex;
  auto waiting = Record("8988247000000000004", "router \"b\"");
  waiting->config.account = "globex";
  globex.esims.push_back(waiting);
  globex.api.up = false;
  globex.api.credentials_refused = true;
  globex.api.paused_until = kNow + 600;
  ExporterStatus globex_status = GoldenStatus();
  globex_status.account = "globex";
  globex_status.inventory_enabled = false;
  globex_status.poll_interval = std::chrono::minutes(30);
  globex_status.account_balance_low.reset();  // no balance reads: no threshold either
  globex_status.storage = ExporterStatus::Storage{kNow - 40, 1, 0};

  ApiMetrics acme_requests("acme"), globex_requests("globex");
  acme_requests.Observe("OK", 0.2);
  globex_requests.Observe("INVALID_SIGNATURE", 0.1);
  std::string text = RenderMetrics(
      {{&acme, &acme_status, &acme_requests}, {&globex, &globex_status, &globex_requests}}, kNow,
      RenderOptions{.process_metrics = false});
  const std::string revision_label = std::string("revision=\"") + kRevision + "\"";
  text.replace(text.find(revision_label), revision_label.size(), "revision=\"REVISION\"");
  const std::string golden_path = std::string(ESIM_TESTDATA_DIR) + "/golden/metrics-accounts.txt";
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path) << text;
  }
  EXPECT_EQ(text, ReadFile(golden_path))
      << "run with UPDATE_GOLDEN=1 to rewrite, then review the diff";

  // Whatever the golden file says: each family's HELP line appears exactly once.
  std::map<std::string, int> help_lines;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# HELP ", 0) == 0) ++help_lines[line.substr(7, line.find(' ', 7) - 7)];
  }
  for (const auto& [family, count] : help_lines) EXPECT_EQ(count, 1) << family;
  EXPECT_THAT(text, HasSubstr("\nesim_up{account=\"acme\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_up{account=\"globex\"} 0\n"));
  EXPECT_THAT(
      text,
      HasSubstr("\nesim_api_requests_total{account=\"globex\",code=\"INVALID_SIGNATURE\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\nesim_config_last_reload_successful 1\n"));
}

}  // namespace
}  // namespace esim
