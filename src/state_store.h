// The latest known state of every monitored eSIM and of the API connection: what /metrics and
// the landing page show. Pollers write, scrapes read a snapshot.
// Thread safe: every method may be called from any thread. A snapshot is an immutable copy of
// pointers taken under a short lock; readers never wait for a poll.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api_client.h"
#include "config.h"
#include "esim_status.h"

namespace esim {

struct EsimRecord {
  EsimConfig config;
  std::optional<EsimStatus> status;  // from the latest successful poll
  bool polled = false;               // at least one poll finished, successful or not
  bool last_poll_ok = false;
  std::string last_code;         // outcome of the latest poll ("OK", "ESIM_NOT_FOUND", ...)
  std::string last_message;      // the API's text for the latest failure
  double last_poll_time = 0;     // Unix seconds
  double last_success_time = 0;  // Unix seconds; 0 before the first success

  // The ICCID to label series with: configured, else learned from the API.
  const std::string& Iccid() const {
    return config.iccid.empty() && status ? status->iccid : config.iccid;
  }
};

// What the latest API answers said about the API itself.
struct ApiState {
  std::optional<bool> up;  // esim_up; unknown before the first request
  RateLimitHeaders rate_limit;
  std::optional<double> server_time_offset;  // server Date minus our clock, seconds
};

struct StateSnapshot {
  std::vector<std::shared_ptr<const EsimRecord>> esims;  // in config order
  ApiState api;
};

class StateStore {
 public:
  // Sets the monitored eSIMs in config order; known ones keep their state (with the new name
  // and labels), removed ones are forgotten.
  void SetEsims(const std::vector<EsimConfig>& esims);

  // Records the outcome of one poll at `now` (Unix seconds). Ignored for unknown keys (an eSIM
  // removed by a reload while its poll was in flight).
  void RecordPoll(const std::string& key, const ApiResult& result, double now);

  // Records what any API answer said about the API (esim_up, X-RateLimit-*).
  void RecordApiAnswer(const ApiResult& result, double now);

  std::shared_ptr<const StateSnapshot> Snapshot() const;

  // True once every monitored eSIM has been polled at least once (/-/ready).
  bool AllPolled() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const EsimRecord>> esims_;  // guarded by mutex_
  std::map<std::string, size_t> index_;                   // key -> position in esims_
  ApiState api_;                                          // guarded by mutex_
  size_t unpolled_ = 0;                                   // guarded by mutex_
};

}  // namespace esim
