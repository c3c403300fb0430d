#include "api_metrics.h"

namespace esim {

ApiMetrics::ApiMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
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
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                                    10, 30});
  // OK is always present, so rate() works from the first scrape.
  counters_.emplace("OK", &requests_->Add({{"code", "OK"}}));
}

void ApiMetrics::Observe(const std::string& code, double duration_seconds) {
  duration_->Observe(duration_seconds);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counters_.find(code);
  if (it == counters_.end()) {
    const std::string label = counters_.size() < kMaxCodes ? code : "OTHER";
    it = counters_.find(label);
    if (it == counters_.end()) {
      it = counters_.emplace(label, &requests_->Add({{"code", label}})).first;
    }
  }
  it->second->Increment();
}

void ApiMetrics::Write(ExpositionWriter& writer) const { writer.Families(registry_->Collect()); }

}  // namespace esim
