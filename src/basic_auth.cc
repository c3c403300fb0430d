#include "basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <future>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "text.h"

namespace esim {

namespace {

// bcrypt uses only the first 72 bytes of a password; longer ones are refused rather than
// accepted on a prefix.
constexpr size_t kMaxPasswordLength = 72;
// A hash of a password nobody has: unknown users cost one bcrypt too, so timing does not tell
// which user names exist. Cost 10, the usual one.
constexpr char kDummyHash[] = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict standard base64 with optional padding; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int value = Base64Value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

}  // namespace

bool LruSet::Touch(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return false;
  order_.splice(order_.begin(), order_, it->second);
  return true;
}

void LruSet::Insert(const std::string& key) {
  if (capacity_ == 0 || Touch(key)) return;
  if (order_.size() >= capacity_) {
    index_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(key);
  index_[key] = order_.begin();
}

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users,
                                   size_t max_cached_successes, size_t max_cached_failures)
    : users_(std::move(users)),
      successes_(max_cached_successes),
      failures_(max_cached_failures),
      crypt_data_(std::make_unique<crypt_data>()) {
  std::memset(crypt_data_.get(), 0, sizeof(crypt_data));
  cache_salt_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(cache_salt_.data()),
                 static_cast<int>(cache_salt_.size())) != 1) {
    throw std::runtime_error("cannot get random bytes for the login cache");
  }
}

BasicAuthChecker::~BasicAuthChecker() = default;

std::string BasicAuthChecker::CacheKey(const std::string& user, const std::string& password) const {
  std::string input = cache_salt_;
  input += user;
  input.push_back('\0');
  input += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool BasicAuthChecker::Verify(const std::string& hash, const std::string& password) {
  std::lock_guard lock(bcrypt_mutex_);
  ++bcrypt_runs_;
  const char* result = crypt_r(password.c_str(), hash.c_str(), crypt_data_.get());
  // On failure libcrypt returns NULL or a string starting with '*', never equal to a hash.
  const bool ok = result != nullptr && std::strlen(result) == hash.size() &&
                  CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(crypt_data_.get(), sizeof(crypt_data));
  return ok;
}

bool BasicAuthChecker::Check(const std::string& authorization) {
  const size_t space = authorization.find(' ');
  if (space == std::string::npos ||
      !EqualsIgnoringAsciiCase(std::string_view(authorization).substr(0, space), "Basic")) {
    return false;
  }
  std::string_view encoded = std::string_view(authorization).substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::optional<std::string> decoded = DecodeBase64(encoded);
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (password.size() > kMaxPasswordLength || password.find('\0') != std::string::npos) {
    return false;
  }
  const std::string key = CacheKey(user, password);
  std::promise<bool> result;
  {
    std::unique_lock lock(cache_mutex_);
    if (successes_.Touch(key)) return true;
    if (failures_.Touch(key)) return false;
    // The same user and password already being checked (a client repeating itself on many
    // connections at once): wait for that answer rather than queue for bcrypt again.
    if (const auto pending = in_flight_.find(key); pending != in_flight_.end()) {
      std::shared_future<bool> answer = pending->second;
      lock.unlock();
      OPENSSL_cleanse(password.data(), password.size());
      return answer.get();
    }
    in_flight_.emplace(key, result.get_future().share());
  }
  const auto it = users_.find(user);
  bool ok = false;
  try {
    ok = Verify(it != users_.end() ? it->second : kDummyHash, password) && it != users_.end();
  } catch (...) {
    OPENSSL_cleanse(password.data(), password.size());
    std::lock_guard lock(cache_mutex_);
    result.set_exception(std::current_exception());
    in_flight_.erase(key);
    throw;
  }
  OPENSSL_cleanse(password.data(), password.size());
  std::lock_guard lock(cache_mutex_);
  (ok ? successes_ : failures_).Insert(key);
  result.set_value(ok);
  in_flight_.erase(key);
  return ok;
}

RequestRateLimiter::RequestRateLimiter(std::chrono::nanoseconds interval, int burst,
                                       Clock::time_point now)
    : interval_(interval), burst_(burst), tokens_(burst), last_(now) {}

bool RequestRateLimiter::Allow(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now > last_) {
    const double earned =
        std::chrono::duration<double>(now - last_) / std::chrono::duration<double>(interval_);
    tokens_ = std::min(burst_, tokens_ + earned);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace esim
