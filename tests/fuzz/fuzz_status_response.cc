// libFuzzer target for the API answer parsers: the input is the body of an HTTP 200 and of an
// error answer (4xx, and a 5xx), interpreted by each endpoint's parser. The rate-limit and
// Retry-After headers are derived from the input's first bytes, so one input also fuzzes them.
// The parsers must never throw nor crash, whatever the body; sanitizers do the rest.
//
// Run by scripts/fuzz.sh; replay an input: build/fuzz/tests/fuzz/fuzz_status_response FILE
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "api_client.h"
#include "http_transport.h"

namespace {

constexpr double kNow = 1782484480.0;  // 2026-06-26T14:34:40Z, as in the unit tests
constexpr int kErrorStatuses[] = {400, 401, 403, 404, 409, 422, 429, 499};
constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Dec", "Foo"};

// A header value from the input's first bytes: either the raw bytes themselves (mutations of
// the leading JSON, then garbage), or a number printed from them (integers of any size and sign,
// fractions, exponents up to overflow), or an HTTP date / ISO 8601 text with fuzzed fields.
std::string HeaderValue(std::string_view input, size_t salt) {
  if (input.empty()) return {};
  const auto byte = [&](size_t i) {
    return static_cast<uint8_t>(input[(salt + i) % input.size()]);
  };
  const uint8_t selector = byte(0);
  char buffer[96];
  switch (selector % 6) {
    case 0:  // raw leading bytes, up to 40
      return std::string(input.substr(salt % input.size(), selector % 41));
    case 1: {  // a signed 64-bit integer
      uint64_t bits = 0;
      for (size_t i = 1; i <= 8; ++i) bits = (bits << 8) | byte(i);
      std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(bits));
      return buffer;
    }
    case 2: {  // any double, including infinities, NaN and denormals
      uint64_t bits = 0;
      for (size_t i = 1; i <= 8; ++i) bits = (bits << 8) | byte(i);
      double value;
      std::memcpy(&value, &bits, sizeof value);
      std::snprintf(buffer, sizeof buffer, "%.*g", 1 + byte(9) % 20, value);
      return buffer;
    }
    case 3:  // small decimal with fraction and exponent
      std::snprintf(buffer, sizeof buffer, "%d.%de%d", byte(1) - 128, byte(2), byte(3) % 64 - 32);
      return buffer;
    case 4:  // an HTTP date (IMF-fixdate) with fuzzed fields
      std::snprintf(buffer, sizeof buffer, "%s, %02d %s %d %02d:%02d:%02d GMT", kDays[byte(1) % 8],
                    byte(2) % 40, kMonths[byte(3) % 4], 1900 + byte(4) * 40 + byte(5) % 40,
                    byte(6) % 30, byte(7) % 70, byte(8) % 70);
      return buffer;
    default:  // an ISO 8601 timestamp with fuzzed fields
      std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%dZ",
                    byte(1) * 50 + byte(2), byte(3) % 20, byte(4) % 40, byte(5) % 30, byte(6) % 70,
                    byte(7) % 70, byte(8) * 1000 + byte(9));
      return buffer;
  }
}

esim::HttpResponse Answer(int status, std::string_view body, std::string_view input) {
  esim::HttpResponse response;
  response.status = status;
  response.body = std::string(body);
  const uint8_t present = input.empty() ? 0 : static_cast<uint8_t>(input[0]);
  // Header names are stored lowercase (http_transport.h).
  if (present & 0x01) response.headers.emplace("x-ratelimit-reset", HeaderValue(input, 1));
  if (present & 0x02) response.headers.emplace("retry-after", HeaderValue(input, 11));
  if (present & 0x04) response.headers.emplace("x-ratelimit-remaining", HeaderValue(input, 21));
  if (present & 0x08) response.headers.emplace("x-ratelimit-limit", HeaderValue(input, 31));
  if (present & 0x10) response.headers.emplace("date", HeaderValue(input, 41));
  if (present & 0x20) response.headers.emplace("content-type", "application/json");
  return response;
}

// Touches what the callers read, so nothing is optimised away and UBSan sees every value.
void Use(const esim::ApiResult& result) {
  volatile size_t sink = result.code.size() + result.message.size();
  if (result.ok() && !result.status && !result.list && !result.balance) {
    // An OK answer always carries the endpoint's data.
    __builtin_trap();
  }
  if (result.rate_limit.reset_time) {
    sink = sink + static_cast<size_t>(*result.rate_limit.reset_time > 0);
  }
  if (result.retry_after_time) sink = sink + static_cast<size_t>(*result.retry_after_time > 0);
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const int error_status = kErrorStatuses[size % (sizeof kErrorStatuses / sizeof *kErrorStatuses)];
  for (const int status : {200, error_status, 503}) {
    const esim::HttpResponse response = Answer(status, input, input);
    Use(esim::InterpretStatusResponse(response, kNow));
    Use(esim::InterpretListResponse(response, kNow));
    Use(esim::InterpretBalanceResponse(response, kNow));
  }
  return 0;
}
