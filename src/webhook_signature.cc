#include "webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace esim {
namespace {

constexpr std::string_view kPrefix = "sha256=";
constexpr size_t kMacSize = 32;

std::array<unsigned char, EVP_MAX_MD_SIZE> Mac(std::string_view secret, std::string_view body,
                                               size_t& size) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(),
                mac.size(), &size) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return mac;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not what the vendor sends: refused like any other wrong text
}

}  // namespace

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  size_t size = 0;
  const auto mac = Mac(secret, body, size);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kPrefix);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[mac[i] >> 4];
    out += kDigits[mac[i] & 0x0f];
  }
  return out;
}

bool VerifyWebhookSignature(std::string_view secret, std::string_view body,
                            std::string_view header) {
  if (secret.empty()) return false;
  // The shape of the header is public (prefix and length): checking it first leaks nothing.
  if (header.size() != kPrefix.size() + 2 * kMacSize || !header.starts_with(kPrefix)) {
    return false;
  }
  std::array<unsigned char, kMacSize> given{};
  bool well_formed = true;
  for (size_t i = 0; i < kMacSize; ++i) {
    const int high = HexValue(header[kPrefix.size() + 2 * i]);
    const int low = HexValue(header[kPrefix.size() + 2 * i + 1]);
    well_formed &= high >= 0 && low >= 0;
    given[i] = static_cast<unsigned char>(((high & 0x0f) << 4) | (low & 0x0f));
  }
  size_t size = 0;
  const auto expected = Mac(secret, body, size);
  const bool same = size == kMacSize && CRYPTO_memcmp(given.data(), expected.data(), kMacSize) == 0;
  return same && well_formed;
}

}  // namespace esim
