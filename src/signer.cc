#include "signer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace esim {
namespace {

std::string HexEncode(const unsigned char* data, size_t size, const char* digits) {
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string ComputeSignature(std::string_view secret_key, std::string_view timestamp,
                             std::string_view request_id, std::string_view access_code,
                             std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + request_id.size() + access_code.size() + body.size());
  message.append(timestamp).append(request_id).append(access_code).append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t mac_size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret_key.data(), secret_key.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
                mac.size(), &mac_size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return HexEncode(mac.data(), mac_size, "0123456789ABCDEF");
}

SignedHeaders SignRequest(std::string_view access_code, std::string_view secret_key,
                          int64_t unix_millis, std::string_view request_id, std::string_view body) {
  SignedHeaders headers;
  headers.access_code = std::string(access_code);
  headers.request_id = std::string(request_id);
  headers.timestamp = std::to_string(unix_millis);
  headers.signature =
      ComputeSignature(secret_key, headers.timestamp, request_id, access_code, body);
  return headers;
}

std::string NewRequestId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string hex = HexEncode(bytes.data(), bytes.size(), "0123456789abcdef");
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace esim
