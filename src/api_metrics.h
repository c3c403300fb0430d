// The exporter's own instrumentation of its API calls (esim_api_requests_total{code},
// esim_api_request_duration_seconds), kept in a prometheus-cpp registry. Thread safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exposition.h"

namespace esim {

class ApiMetrics {
 public:
  // `account`: the account (API key) whose requests these are, label `account` on every
  // series; empty for the unnamed account (no label).
  explicit ApiMetrics(const std::string& account = {});
  // Counts one request by its outcome code and records its latency.
  void Observe(const std::string& code, double duration_seconds);
  void Write(ExpositionWriter& writer) const;
  // Several accounts' instrumentation as one family per metric (a family may appear only once
  // on a page).
  static void WriteAll(ExpositionWriter& writer, const std::vector<const ApiMetrics*>& accounts);

  // Outcome codes come from the API; past this many distinct ones, new codes count as OTHER so a
  // misbehaving upstream cannot grow the series without bound.
  static constexpr size_t kMaxCodes = 64;

 private:
  const prometheus::Labels account_labels_;  // {account: name}, or none
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Histogram* duration_;
  std::mutex mutex_;
  std::map<std::string, prometheus::Counter*> counters_;  // guarded by mutex_
};

}  // namespace esim
