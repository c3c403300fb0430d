#include "api_metrics.h"

#include <algorithm>
#include <iterator>

namespace esim {

namespace {

prometheus::Labels AccountLabels(const std::string& account) {
  if (account.empty()) return {};
  return {{"account", account}};
}

// The account's labels plus `name`=`value`.
prometheus::Labels With(prometheus::Labels labels, const std::string& name,
                        const std::string& value) {
  labels.emplace(name, value);
  return labels;
}

}  // namespace

ApiMetrics::ApiMetrics(const std::string& account)
    : account_labels_(AccountLabels(account)), registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("esim_api_requests_total")
                   .Help(
                       "eSIMfly API requests by outcome: OK, the API's error code, or a "
                       "transport outcome (TIMEOUT, CONNECTION_ERROR, TLS_ERROR, HTTP_<status>, "
                       "INVALID_RESPONSE).")
                   .Register(*registry_);
  duration_ = &prometheus::BuildHistogram()
                   .Name("esim_api_request_duration_seconds")
                   .Help("Latency of eSIMfly API requests, from send to the end of the answer.")
                   .Register(*registry_)
                   .Add(account_labels_, prometheus::Histogram::BucketBoundaries{
                                             0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  // OK is always present, so rate() works from the first scrape.
  counters_.emplace("OK", &requests_->Add(With(account_labels_, "code", "OK")));
}

void ApiMetrics::Observe(const std::string& code, double duration_seconds) {
  duration_->Observe(duration_seconds);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counters_.find(code);
  if (it == counters_.end()) {
    const std::string label = counters_.size() < kMaxCodes ? code : "OTHER";
    it = counters_.find(label);
    if (it == counters_.end()) {
      it = counters_.emplace(label, &requests_->Add(With(account_labels_, "code", label))).first;
    }
  }
  it->second->Increment();
}

void ApiMetrics::Write(ExpositionWriter& writer) const { writer.Families(registry_->Collect()); }

void ApiMetrics::WriteAll(ExpositionWriter& writer,
                          const std::vector<const ApiMetrics*>& accounts) {
  std::vector<prometheus::MetricFamily> merged;
  for (const ApiMetrics* account : accounts) {
    for (prometheus::MetricFamily& family : account->registry_->Collect()) {
      const auto same = std::find_if(merged.begin(), merged.end(),
                                     [&](const auto& m) { return m.name == family.name; });
      if (same == merged.end()) {
        merged.push_back(std::move(family));
      } else {
        same->metric.insert(same->metric.end(), std::make_move_iterator(family.metric.begin()),
                            std::make_move_iterator(family.metric.end()));
      }
    }
  }
  writer.Families(merged);
}

}  // namespace esim
