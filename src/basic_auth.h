// What the web config's basic_auth_users and rate_limit do to each request, as exporter-toolkit
// does it (web/handler.go): bcrypt checks one at a time, their results cached, failures as well
// as successes; a token bucket over every request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

struct crypt_data;

namespace esim {

// A set of at most `capacity` keys; the least recently used goes first. Not thread safe.
class LruSet {
 public:
  explicit LruSet(size_t capacity) : capacity_(capacity) {}
  // Whether `key` is in the set; a hit makes it the most recently used.
  bool Touch(const std::string& key);
  void Insert(const std::string& key);
  size_t size() const { return order_.size(); }

 private:
  const size_t capacity_;
  std::list<std::string> order_;  // most recently used first
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

// Checks "Authorization: Basic ..." values against bcrypt hashes with libcrypt's crypt_r.
// bcrypt is slow on purpose (~50-100 ms at cost 10), so results are remembered, keyed by a
// salted SHA-256 of user and password (never the password itself): a scraper pays for bcrypt
// once, not per scrape, and a client repeating a wrong password pays once too, instead of
// holding the one bcrypt slot that a correct login waits for; concurrent checks of the same
// user and password share one bcrypt. Successes and failures are kept apart, so a flood of
// distinct wrong passwords cannot push the scrapers' logins out (that flood still queues for
// bcrypt: rate_limit is the answer to it).
// Thread safe; bcrypt runs one at a time so that password guessing cannot take every core.
class BasicAuthChecker {
 public:
  explicit BasicAuthChecker(std::map<std::string, std::string> users,
                            size_t max_cached_successes = 64, size_t max_cached_failures = 512);
  ~BasicAuthChecker();
  BasicAuthChecker(const BasicAuthChecker&) = delete;
  BasicAuthChecker& operator=(const BasicAuthChecker&) = delete;

  // `authorization`: the Authorization header's value (empty when absent).
  bool Check(const std::string& authorization);
  // How many times bcrypt ran (for tests of the cache).
  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

 private:
  bool Verify(const std::string& hash, const std::string& password);
  std::string CacheKey(const std::string& user, const std::string& password) const;

  const std::map<std::string, std::string> users_;
  std::string cache_salt_;
  std::mutex cache_mutex_;
  LruSet successes_;  // guarded by cache_mutex_
  LruSet failures_;   // guarded by cache_mutex_
  // Checks running now, by key; guarded by cache_mutex_.
  std::unordered_map<std::string, std::shared_future<bool>> in_flight_;
  std::mutex bcrypt_mutex_;
  std::unique_ptr<crypt_data> crypt_data_;  // guarded by bcrypt_mutex_
  std::atomic<uint64_t> bcrypt_runs_{0};
};

// exporter-toolkit's rate_limit: a token bucket over every request (golang.org/x/time/rate):
// `burst` tokens, one more every `interval`; a request without a token gets 429.
// Thread safe. Time is a parameter, so tests need no clock.
class RequestRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RequestRateLimiter(std::chrono::nanoseconds interval, int burst, Clock::time_point now);
  bool Allow(Clock::time_point now);

 private:
  const std::chrono::nanoseconds interval_;
  const double burst_;
  std::mutex mutex_;
  double tokens_;           // guarded by mutex_
  Clock::time_point last_;  // guarded by mutex_
};

}  // namespace esim
