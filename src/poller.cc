#include "poller.h"

#include <chrono>

#include "log.h"

namespace esim {
namespace {

using SteadyClock = std::chrono::steady_clock;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

SteadyClock::time_point SteadyFromWall(double wall_time, double wall_now,
                                       SteadyClock::time_point steady_now) {
  return steady_now + std::chrono::duration_cast<SteadyClock::duration>(
                          std::chrono::duration<double>(wall_time - wall_now));
}

// One line that says what to check, for outcomes an operator has to fix.
const char* HintFor(const std::string& code) {
  if (code == "INVALID_SIGNATURE") return "check api.secret_key: the API rejected the signature";
  if (code == "INVALID_API_KEY") return "check api.access_code: the API does not know it";
  if (code == "INVALID_TIMESTAMP") return "check the host clock (NTP): it is off by minutes";
  if (code == "INVALID_USER") return "the API account has a problem: contact eSIMfly";
  if (code == "FORBIDDEN" || code == "ESIM_ACCESS_DENIED") {
    return "this eSIM belongs to another account: remove it from esims:";
  }
  if (code == "ESIM_NOT_FOUND") return "the API does not know this eSIM: check its iccid/esim_id";
  if (code == "TLS_ERROR") return "the API's certificate was not accepted: check api.url/ca_file";
  return "";
}

}  // namespace

Poller::Poller(StateStore& store, RateBudget& budget, ApiMetrics& metrics, bool once)
    : store_(store),
      budget_(budget),
      metrics_(metrics),
      schedule_(SteadyClock::now(), once),
      random_(std::random_device{}()) {}

Poller::~Poller() { Stop(); }

void Poller::Reconfigure(const Settings& settings, StatusFetcher fetcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  schedule_.Update(settings.esims, settings.interval, settings.limits, SteadyClock::now());
  fetcher_ = std::move(fetcher);
  max_concurrency_ = std::max(settings.max_concurrency, 1);
  for (auto it = last_logged_code_.begin(); it != last_logged_code_.end();) {
    const bool kept = std::any_of(settings.esims.begin(), settings.esims.end(),
                                  [&](const EsimConfig& e) { return e.Key() == it->first; });
    it = kept ? std::next(it) : last_logged_code_.erase(it);
  }
  if (started_) SpawnWorkersLocked();
  wake_.notify_all();
}

void Poller::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return;
  started_ = true;
  SpawnWorkersLocked();
}

void Poller::SpawnWorkersLocked() {
  while (static_cast<int>(workers_.size()) < max_concurrency_) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void Poller::WaitUntilDone() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [this] { return stopping_ || schedule_.AllDone(); });
}

std::chrono::milliseconds Poller::interval() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return schedule_.interval();
}

void Poller::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (static_cast<int>(schedule_.in_flight()) >= max_concurrency_) {
      wake_.wait(lock);
      continue;
    }
    const auto next = schedule_.Next();
    if (!next) {
      wake_.wait(lock);
      continue;
    }
    const auto now = SteadyClock::now();
    const auto ready_at = std::max(next->at, budget_.NextAllowed(now));
    if (ready_at > now) {
      wake_.wait_until(lock, ready_at);
      continue;
    }
    if (!budget_.TryAcquire(now)) continue;
    const std::string key = next->esim.Key();
    const EsimConfig esim = next->esim;
    const StatusFetcher fetcher = fetcher_;
    schedule_.Started(key, now);
    lock.unlock();
    ApiResult result;
    try {
      result = fetcher(esim);
    } catch (const std::exception& e) {
      // Fetchers report failures as values; this is the last line of defence for a worker.
      result.code = "INVALID_RESPONSE";
      result.message = std::string("internal error: ") + e.what();
    }
    lock.lock();
    HandleResult(key, result, now);
    wake_.notify_all();
  }
}

void Poller::HandleResult(const std::string& key, const ApiResult& result,
                          SteadyClock::time_point started) {
  const double wall_now = WallNow();
  const auto steady_now = SteadyClock::now();
  metrics_.Observe(result.code, result.duration_seconds);
  store_.RecordApiAnswer(result, wall_now);
  store_.RecordPoll(key, result, wall_now);

  // The API's own word on the key's budget slows every poll down, not just this eSIM's.
  const bool rate_limited = result.code == "RATE_LIMIT_EXCEEDED";
  if (rate_limited) {
    if (result.retry_after_time) {
      budget_.PauseUntil(steady_now,
                         SteadyFromWall(*result.retry_after_time, wall_now, steady_now));
    } else if (result.rate_limit.reset_time) {
      budget_.PauseUntil(steady_now,
                         SteadyFromWall(*result.rate_limit.reset_time, wall_now, steady_now));
    } else {
      budget_.PauseWithBackoff(steady_now);
    }
  } else {
    if (result.api_up) budget_.ResetBackoff();
    if (result.rate_limit.remaining && *result.rate_limit.remaining <= 0) {
      const double until = result.rate_limit.reset_time.value_or(wall_now + 60);
      budget_.PauseUntil(steady_now, SteadyFromWall(until, wall_now, steady_now));
    }
  }

  const auto outcome = result.ok()    ? PollSchedule::Outcome::kSuccess
                       : rate_limited ? PollSchedule::Outcome::kRateLimited
                                      : PollSchedule::Outcome::kFailure;
  schedule_.Finished(key, outcome, started,
                     std::uniform_real_distribution<double>(0.0, 1.0)(random_));

  // Log once per change of outcome, not once per request.
  std::string& last = last_logged_code_[key];
  if (last != result.code) {
    if (result.ok()) {
      if (!last.empty()) LogInfo("eSIM poll recovered", {{"esim", key}});
    } else {
      LogWarn("eSIM poll failed", {{"esim", key},
                                   {"code", result.code},
                                   {"http_status", std::to_string(result.http_status)},
                                   {"message", result.message},
                                   {"hint", HintFor(result.code)}});
    }
    last = result.code;
  }
  LogDebug("eSIM polled", {{"esim", key},
                           {"code", result.code},
                           {"duration_seconds", std::to_string(result.duration_seconds)}});
}

}  // namespace esim
