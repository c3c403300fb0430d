#include "api_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace esim {
namespace {

using ::testing::HasSubstr;

TEST(ApiMetricsTest, CountsByCodeAndBoundsTheNumberOfCodes) {
  ApiMetrics metrics;
  for (size_t i = 0; i < ApiMetrics::kMaxCodes + 20; ++i) {
    metrics.Observe("CODE_" + std::to_string(i), 0.1);
  }
  metrics.Observe("OK", 0.1);
  std::string text;
  ExpositionWriter writer(text);
  metrics.Write(writer);
  writer.Flush();
  size_t series = 0;
  for (size_t pos = 0; (pos = text.find("esim_api_requests_total{", pos)) != std::string::npos;
       ++pos) {
    ++series;
  }
  EXPECT_EQ(series, ApiMetrics::kMaxCodes + 1);  // the cap, plus OTHER
  EXPECT_THAT(text, HasSubstr("esim_api_requests_total{code=\"OTHER\"} 21")) << text;
  EXPECT_THAT(text, HasSubstr("esim_api_requests_total{code=\"OK\"} 1"));
  EXPECT_THAT(text, HasSubstr("esim_api_request_duration_seconds_count 85"));
}

}  // namespace
}  // namespace esim
