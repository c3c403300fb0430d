// HMAC-SHA256 request signing of the eSIMfly business API (docs/esimfly-api.md,
// "Signing"). Pure functions apart from the RNG; thread safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace esim {

struct SignedHeaders {
  std::string access_code;  // RT-AccessCode
  std::string request_id;   // RT-RequestID
  std::string timestamp;    // RT-Timestamp, Unix milliseconds as decimal text
  std::string signature;    // RT-Signature, uppercase hex
};

// UPPERCASE_HEX(HMAC_SHA256(secret_key, timestamp + request_id + access_code + body)).
std::string ComputeSignature(std::string_view secret_key, std::string_view timestamp,
                             std::string_view request_id, std::string_view access_code,
                             std::string_view body);

// The four RT-* header values for one request; `body` must be the exact bytes sent.
SignedHeaders SignRequest(std::string_view access_code, std::string_view secret_key,
                          int64_t unix_millis, std::string_view request_id, std::string_view body);

// A fresh random UUID v4 (lowercase) from OpenSSL's CSPRNG; the API rejects reused ids.
std::string NewRequestId();

}  // namespace esim
