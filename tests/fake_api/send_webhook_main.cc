// fake_esimfly_webhook: sends webhook deliveries as the eSIMfly API does (signed, with the
// vendor's headers), or wrong ones on demand, to a receiver URL. For the demo, by-hand trials
// and the load measurement (docs/benchmarks.md).
//
//   fake_esimfly_webhook --url=http://127.0.0.1:10417/webhook --secret-file=PATH
//       --iccid=8910000000000000853 [--event=usage|status] [--used-gb=4.6 --total-gb=5
//       --threshold-mb=200] [--new-status=DEPLETED] [--fault=bad_signature|no_signature|stale|
//       duplicate] [--ca-file=PATH] [--count=N --connections=C]
//
// One delivery: prints the HTTP status; exit 0 when it is 2xx. With --count: N deliveries (each
// with its own id) over C connections at once, then "deliveries=N ok=K seconds=S per_second=R
// p50_ms=A p99_ms=B max_ms=M"; exit 0 when all were 2xx. The secret is read from the file (or
// $FAKE_ESIMFLY_WEBHOOK_SECRET), never from the command line.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "webhook_sender.h"

namespace {

using fake_esimfly::WebhookDelivery;
using fake_esimfly::WebhookFault;

std::string ReadSecret(const std::string& path) {
  if (path.empty()) {
    const char* env = std::getenv("FAKE_ESIMFLY_WEBHOOK_SECRET");
    return env ? env : "";
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {
      {"event", "usage"},      {"used-gb", "4.6"},         {"total-gb", "5"},
      {"threshold-mb", "200"}, {"new-status", "DEPLETED"}, {"old-status", "ACTIVE"},
      {"count", "0"},          {"connections", "4"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--") || arg.find('=') == std::string::npos) {
      std::cerr << "fake_esimfly_webhook: want --name=value flags, got " << arg << "\n";
      return 1;
    }
    flags[arg.substr(2, arg.find('=') - 2)] = arg.substr(arg.find('=') + 1);
  }
  const std::string secret = ReadSecret(flags["secret-file"]);
  if (flags["url"].empty() || flags["iccid"].empty() || secret.empty()) {
    std::cerr << "fake_esimfly_webhook: --url, --iccid and a secret (--secret-file or "
                 "$FAKE_ESIMFLY_WEBHOOK_SECRET) are required\n";
    return 1;
  }
  const std::string fault_name = flags["fault"];
  WebhookFault fault = WebhookFault::kNone;
  if (fault_name == "bad_signature") fault = WebhookFault::kBadSignature;
  if (fault_name == "no_signature") fault = WebhookFault::kNoSignature;
  if (fault_name == "stale") fault = WebhookFault::kStale;
  const auto make = [&] {
    if (flags["event"] == "status") {
      return fake_esimfly::StatusChangedDelivery(secret, flags["iccid"], flags["old-status"],
                                                 flags["new-status"], fault);
    }
    return fake_esimfly::UsageThresholdDelivery(secret, flags["iccid"], std::stod(flags["used-gb"]),
                                                std::stod(flags["total-gb"]),
                                                std::stoi(flags["threshold-mb"]), fault);
  };

  const int count = std::stoi(flags["count"]);
  if (count <= 0) {
    fake_esimfly::WebhookSender sender(flags["url"], flags["ca-file"]);
    const WebhookDelivery delivery = make();
    int status = sender.Send(delivery);
    std::cout << status << "\n";
    if (fault_name == "duplicate") {
      status = sender.Send(delivery);  // the same id again, as a vendor retry would
      std::cout << status << "\n";
    }
    return status >= 200 && status < 300 ? 0 : 2;
  }

  // Load: every delivery prepared (and signed) before the clock starts.
  std::vector<WebhookDelivery> deliveries;
  deliveries.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) deliveries.push_back(make());
  const int connections = std::max(1, std::stoi(flags["connections"]));
  std::vector<double> latencies_ms(deliveries.size());
  std::atomic<size_t> next{0};
  std::atomic<int> ok{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      fake_esimfly::WebhookSender sender(flags["url"], flags["ca-file"]);
      for (size_t i; (i = next++) < deliveries.size();) {
        const auto sent = std::chrono::steady_clock::now();
        const int status = sender.Send(deliveries[i]);
        latencies_ms[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                .count();
        if (status >= 200 && status < 300) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto at = [&](double q) {
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(q * static_cast<double>(latencies_ms.size())))];
  };
  std::printf(
      "deliveries=%d ok=%d seconds=%.3f per_second=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      count, ok.load(), seconds, count / seconds, at(0.5), at(0.99), latencies_ms.back());
  return ok == count ? 0 : 2;
}
