// Micro benchmarks (Google Benchmark) of the hot paths of issue 6: the request signer, the
// response parsers and the /metrics renderer. Not a test: nothing here asserts a speed.
//
//   build/bench/tests/bench/micro_bench                       # everything
//   build/bench/tests/bench/micro_bench --benchmark_filter=Render/10000
//
// The renderer runs on a synthetic StateSnapshot where every eSIM has full data (usage, validity,
// network, device, config labels), which is the largest /metrics page a fleet can produce
// without inventory sweeps; process metrics are off (they read /proc, not the snapshot).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "api_client.h"
#include "collector.h"
#include "count_series.h"
#include "fake_esimfly_api.h"
#include "fleet.h"
#include "gzip.h"
#include "signer.h"
#include "state_store.h"

namespace {

constexpr char kSecret[] = "sk_bench_secret_key_0123456789abcdef";
constexpr char kAccessCode[] = "esf_bench_access_code";
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// The vendor's example answer (docs/esimfly-api.md, "Live status"), byte for byte: the status
// fuzzer's seed file holds it.
std::string SpecExampleAnswer() {
  const std::string path =
      std::string(ESIM_SOURCE_DIR) + "/tests/fuzz/corpus/status/spec_example.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

esim::HttpResponse JsonResponse(std::string body) {
  esim::HttpResponse response;
  response.status = 200;
  response.headers.emplace("content-type", "application/json; charset=utf-8");
  response.headers.emplace("date", "Sun, 26 Jul 2026 14:34:40 GMT");
  response.headers.emplace("x-ratelimit-limit", "1000");
  response.headers.emplace("x-ratelimit-remaining", "999");
  response.headers.emplace("x-ratelimit-reset", "1785076480");
  response.body = std::move(body);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Signer

void BM_ComputeSignature(benchmark::State& state) {
  const std::string body = R"({"iccid":"8948010010036785060"})";
  const std::string timestamp = "1785076480123";
  const std::string request_id = "3f2b8c1e-9a4d-4e7b-8c2a-1b2c3d4e5f60";
  for (auto _ : state) {
    std::string signature =
        esim::ComputeSignature(kSecret, timestamp, request_id, kAccessCode, body);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComputeSignature);

// Everything the exporter does to sign one request: a fresh UUID v4 plus the HMAC.
void BM_SignRequest(benchmark::State& state) {
  esim::EsimConfig esim_config;
  esim_config.iccid = "8948010010036785060";
  for (auto _ : state) {
    const std::string body = esim::StatusRequestBody(esim_config);
    esim::SignedHeaders headers =
        esim::SignRequest(kAccessCode, kSecret, 1785076480123, esim::NewRequestId(), body);
    benchmark::DoNotOptimize(headers);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignRequest);

// ---------------------------------------------------------------------------------------------
// Response parsers

void BM_InterpretStatusResponse(benchmark::State& state) {
  const esim::HttpResponse response = JsonResponse(SpecExampleAnswer());
  const double now = WallNow();
  for (auto _ : state) {
    esim::ApiResult result = esim::InterpretStatusResponse(response, now);
    if (!result.ok()) state.SkipWithError(("unexpected code " + result.code).c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(response.body.size()));
}
BENCHMARK(BM_InterpretStatusResponse);

// One full page (100 items) of GET /api/v1/business/esims as the fake API writes it (with the
// installation secrets the parser must skip).
std::string ListPageBody(size_t items) {
  const auto now = std::chrono::system_clock::now();
  nlohmann::json esims = nlohmann::json::array();
  for (const auto& esim : fake_esimfly::GenerateFleet(items, now)) {
    esims.push_back(fake_esimfly::ListItemJson(esim, now));
  }
  nlohmann::json body = {
      {"success", true},
      {"data",
       {{"esims", esims},
        {"pagination",
         {{"page", 1}, {"limit", items}, {"total", items * 3}, {"total_pages", 3}}}}}};
  return body.dump();
}

void BM_InterpretListResponse(benchmark::State& state) {
  const size_t items = static_cast<size_t>(state.range(0));
  const esim::HttpResponse response = JsonResponse(ListPageBody(items));
  const double now = WallNow();
  for (auto _ : state) {
    esim::ApiResult result = esim::InterpretListResponse(response, now);
    if (!result.ok() || !result.list || result.list->esims.size() != items) {
      state.SkipWithError(("unexpected answer " + result.code).c_str());
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(items));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(response.body.size()));
  state.counters["page_bytes"] = static_cast<double>(response.body.size());
}
BENCHMARK(BM_InterpretListResponse)->Arg(100);

// ---------------------------------------------------------------------------------------------
// Renderer

std::string Iccid(size_t index) {
  // 8988303 + 11-digit index + Luhn digit: the fake's GenerateFleet numbering.
  char digits[32];
  std::snprintf(digits, sizeof digits, "8988303%011zu", index);
  return fake_esimfly::AppendLuhnCheckDigit(digits);
}

// `count` eSIMs with every field group set, varied like a real fleet.
std::shared_ptr<esim::StateSnapshot> SyntheticSnapshot(size_t count, double now) {
  static const char* const kOperators[] = {"Optus",    "Telstra", "Vodafone", "NTT Docomo",
                                           "Movistar", "Orange",  "T-Mobile", "SoftBank"};
  static const char* const kCountries[][2] = {{"Australia", "AU"}, {"Japan", "JP"},
                                              {"Spain", "ES"},     {"France", "FR"},
                                              {"Germany", "DE"},   {"United States", "US"}};
  static const char* const kStatuses[] = {"ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE",   "ACTIVE",
                                          "ACTIVE", "ACTIVE", "NEW",    "DEPLETED", "EXPIRED"};
  static const char* const kModels[] = {"GTF7P", "iPhone15,2", "SM-S918B", "RUT241", "Pixel 8"};
  auto snapshot = std::make_shared<esim::StateSnapshot>();
  snapshot->esims.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto record = std::make_shared<esim::EsimRecord>();
    record->config.iccid = Iccid(i);
    record->config.name = "router-" + std::to_string(i);
    record->config.labels = {{"fleet", i % 2 ? "trackers" : "routers"},
                             {"site", "site-" + std::to_string(i % 50)}};
    esim::EsimStatus s;
    s.iccid = record->config.iccid;
    s.status = kStatuses[i % 10];
    s.esim_status = "Active";
    s.smdp_status = "AFFECTED";
    s.profile = "Enabled";
    s.unlimited = i % 17 == 3;
    const auto& country = kCountries[i % 6];
    s.last_network.operator_name = kOperators[i % 8];
    s.last_network.mcc = std::to_string(200 + i % 300);
    s.last_network.mnc = std::to_string(i % 99);
    s.last_network.country = country[0];
    s.last_network.country_iso2 = country[1];
    s.last_network.connection_type = i % 3 ? "4G - LTE" : "5G";
    s.device.model = kModels[i % 5];
    s.device.imei = "35" + std::to_string(1000000000000 + i);
    s.activation_time = now - 86400.0 * static_cast<double>(i % 30) - 0.125;
    s.last_usage_time = now - static_cast<double>(i % 7200) - 0.5;
    s.expiry_time = *s.activation_time + 30 * 86400.0;
    s.used_bytes = static_cast<double>(i % 5000) * 1024 * 1024 * 1.37;
    if (!s.unlimited) s.total_bytes = static_cast<double>(1 + i % 20) * kGiB;
    record->status = s;
    record->usage_time = record->lifecycle_time = record->validity_time = now - 30;
    record->learned_iccid = record->config.iccid;
    record->polled = true;
    record->last_poll_ok = true;
    record->last_code = "OK";
    record->last_poll_time = record->last_success_time = now - 30;
    // Polled live and listed by the sweeps, as a fleet with inventory sweeps is.
    record->live_polled = record->last_live_ok = record->last_list_ok = true;
    record->last_live_success_time = now - 30;
    record->last_listed_time = now - 300;
    record->labels = esim::RenderLabels(*record);  // as the state store does on every change
    snapshot->esims.push_back(std::move(record));
  }
  snapshot->api.up = true;
  snapshot->api.rate_limit.limit = 1000;
  snapshot->api.rate_limit.remaining = 900;
  snapshot->api.rate_limit.reset_time = now + 60;
  snapshot->api.server_time_offset = 0.25;
  return snapshot;
}

// What the renderer is given for a page of `count` synthetic eSIMs.
struct PageInputs {
  explicit PageInputs(size_t count) : now(WallNow()), snapshot(SyntheticSnapshot(count, now)) {
    status.poll_interval = std::chrono::minutes(15);
    status.last_reload_success_time = now - 3600;
    api_metrics.Observe("OK", 0.12);
    api_metrics.Observe("PROVIDER_ERROR", 1.5);
    options.process_metrics = false;
  }
  std::string Render() const {
    return esim::RenderMetrics(*snapshot, status, &api_metrics, now, options);
  }
  double now;
  std::shared_ptr<esim::StateSnapshot> snapshot;
  esim::ExporterStatus status;
  esim::ApiMetrics api_metrics;
  esim::RenderOptions options;
};

void BM_RenderMetrics(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const PageInputs page(count);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = page.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["series"] = static_cast<double>(CountSeries(page.Render()));
  state.counters["esims"] = static_cast<double>(count);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(count));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RenderMetrics)->Arg(1000)->Arg(10000)->Arg(50000)->Unit(benchmark::kMillisecond);

// The same fleet split over `range(1)` accounts (API keys): each its own snapshot, status and
// request counters, every series labelled with its account. Compared with BM_RenderMetrics in
// the same run: what several accounts add to a scrape.
void BM_RenderMetricsAccounts(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const size_t accounts = static_cast<size_t>(state.range(1));
  const double now = WallNow();
  std::vector<std::shared_ptr<esim::StateSnapshot>> snapshots;
  std::deque<esim::ExporterStatus> statuses;
  std::deque<esim::ApiMetrics> api_metrics;
  std::vector<esim::AccountMetrics> views;
  for (size_t a = 0; a < accounts; ++a) {
    const std::string name = "account" + std::to_string(a);
    auto snapshot = SyntheticSnapshot(count / accounts, now);
    for (auto& record : snapshot->esims) {
      auto named = std::make_shared<esim::EsimRecord>(*record);
      named->config.account = name;
      named->config.iccid += std::to_string(a);  // distinct eSIMs across accounts
      named->labels = esim::RenderLabels(*named);
      record = std::move(named);
    }
    snapshots.push_back(snapshot);
    esim::ExporterStatus& status = statuses.emplace_back();
    status.account = name;
    status.poll_interval = std::chrono::minutes(15);
    status.last_reload_success_time = now - 3600;
    esim::ApiMetrics& metrics = api_metrics.emplace_back(name);
    metrics.Observe("OK", 0.12);
    views.push_back({snapshot.get(), &status, &metrics});
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = esim::RenderMetrics(views, now, {.process_metrics = false});
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["esims"] = static_cast<double>(count);
  state.counters["accounts"] = static_cast<double>(accounts);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(count));
}
BENCHMARK(BM_RenderMetricsAccounts)
    ->Args({10000, 1})
    ->Args({10000, 10})
    ->Unit(benchmark::kMillisecond);

// Replaces every record with a copy, in a random order, as polls do over a cycle: the page then
// visits records scattered over the heap, where SyntheticSnapshot's lie one after another.
void ScatterRecords(esim::StateSnapshot& snapshot) {
  std::vector<size_t> order(snapshot.esims.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  for (size_t index : order) {
    snapshot.esims[index] = std::make_shared<esim::EsimRecord>(*snapshot.esims[index]);
  }
}

// What a scrape does since /metrics is streamed: the same page rendered in 512 KiB pieces into
// one reused buffer, each handed to a sink (here one that only counts). With range(1) 1, the
// records are scattered first (ScatterRecords), as in an exporter that has polled a while.
void BM_StreamMetrics(benchmark::State& state) {
  const size_t count = static_cast<size_t>(state.range(0));
  const PageInputs page(count);
  if (state.range(1) != 0) ScatterRecords(*page.snapshot);
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    esim::StreamMetrics(*page.snapshot, page.status, &page.api_metrics, page.now, page.options,
                        [&bytes](std::string_view piece) { bytes += piece.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["esims"] = static_cast<double>(count);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(count));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_StreamMetrics)
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({50000, 0})
    ->Args({50000, 1})
    ->Unit(benchmark::kMillisecond);

// gzip of the 10k-eSIM page as /metrics does it (ISA-L's igzip, level 1), and with zlib at levels
// 1 (what /metrics used before) and 6 (zlib's default, what cpp-httplib would use), side by side.
void BM_GzipMetrics(benchmark::State& state) {
  const std::string text = PageInputs(10000).Render();
  size_t compressed = 0;
  for (auto _ : state) {
    const std::string gzipped = esim::GzipCompress(text);
    compressed = gzipped.size();
    benchmark::DoNotOptimize(gzipped);
  }
  state.counters["bytes_in"] = static_cast<double>(text.size());
  state.counters["bytes_out"] = static_cast<double>(compressed);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_GzipMetrics)->Unit(benchmark::kMillisecond);

void BM_ZlibGzipMetrics(benchmark::State& state) {
  const std::string text = PageInputs(10000).Render();
  const int level = static_cast<int>(state.range(0));
  std::string out(compressBound(static_cast<uLong>(text.size())) + 64, '\0');
  size_t compressed = 0;
  for (auto _ : state) {
    z_stream stream{};
    deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) state.SkipWithError("zlib deflate failed");
    compressed = stream.total_out;
    deflateEnd(&stream);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes_in"] = static_cast<double>(text.size());
  state.counters["bytes_out"] = static_cast<double>(compressed);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ZlibGzipMetrics)->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
