#include "poller.h"

#include <chrono>
#include <set>

#include "api_feedback.h"
#include "log.h"

namespace esim {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One line that says what to check, for outcomes an operator has to fix.
const char* HintFor(const std::string& code) {
  if (code == "INVALID_SIGNATURE") return "check api.secret_key: the API rejected the signature";
  if (code == "INVALID_API_KEY") return "check api.access_code: the API does not know it";
  if (code == "INVALID_TIMESTAMP") return "check the host clock (NTP): it is off by minutes";
  if (code == "HMAC_REQUIRED" || code == "INVALID_REQUEST_ID" || code == "DUPLICATE_REQUEST") {
    return "a proxy between the exporter and the API alters requests: check it";
  }
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

void Poller::Reconfigure(Settings settings, StatusFetcher fetcher) {
  std::lock_guard<std::mutex> lock(mutex_);
  schedule_.Update(settings.keys, settings.interval, settings.limits, SteadyClock::now(),
                   settings.priority);
  fetcher_ = std::move(fetcher);
  max_concurrency_ = std::max(settings.max_concurrency, 1);
  const std::set<std::string_view> kept(settings.keys.begin(), settings.keys.end());
  std::erase_if(last_logged_code_, [&](const auto& entry) { return !kept.contains(entry.first); });
  // The schedule holds the eSIMs; a second list here cost ~10 MB per 50,000 eSIMs. Swapped out,
  // not assigned {}: that would keep the vector's capacity.
  std::vector<std::string>().swap(settings.keys);
  settings_ = std::move(settings);
  if (started_) SpawnWorkersLocked();
  wake_.notify_all();
  done_.notify_all();
}

void Poller::UpdateEsims(const std::vector<std::string>& keys, PollSchedule::Priority priority,
                         const std::function<int(const std::string&)>& rank_of) {
  std::lock_guard<std::mutex> lock(mutex_);
  settings_.priority = priority;
  schedule_.Update(keys, settings_.interval, settings_.limits, SteadyClock::now(),
                   settings_.priority);
  for (const std::string& key : keys) schedule_.SetRank(key, rank_of(key));
  wake_.notify_all();
  done_.notify_all();
}

void Poller::AddEsims(const std::vector<std::pair<std::string, int>>& ranks,
                      PollSchedule::Priority priority) {
  std::vector<std::string> keys;
  keys.reserve(ranks.size());
  for (const auto& [key, rank] : ranks) keys.push_back(key);
  std::lock_guard<std::mutex> lock(mutex_);
  settings_.priority = priority;
  schedule_.Append(keys, SteadyClock::now(), priority);
  for (const auto& [key, rank] : ranks) schedule_.SetRank(key, rank);
  wake_.notify_all();
  done_.notify_all();
}

void Poller::Rerank(const std::vector<std::pair<std::string, int>>& ranks) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, rank] : ranks) schedule_.SetRank(key, rank);
}

bool Poller::PollSoon(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!schedule_.PollSoon(key, SteadyClock::now())) return false;
  // One poll came due: one worker takes it. Waking all of them (up to 64) for each webhook
  // delivery that schedules a reconciling read cost more CPU than the deliveries themselves.
  wake_.notify_one();
  return true;
}

void Poller::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_) return;
  started_ = true;
  SpawnWorkersLocked();
}

void Poller::SpawnWorkersLocked() {
  while (static_cast<int>(workers_.size()) < max_concurrency_) {
    // The account's log field goes along to the worker (LogAccountScope).
    workers_.emplace_back([this, account = CurrentLogAccount()] {
      LogAccountScope scope(account);
      WorkerLoop();
    });
  }
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  done_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

bool Poller::WaitUntilDone(std::chrono::seconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_for(lock, timeout, [this] { return stopping_ || schedule_.AllDone(); });
}

std::chrono::milliseconds Poller::interval() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return schedule_.interval();
}

std::vector<std::optional<PollSchedule::Progress>> Poller::ProgressOf(
    const std::vector<std::shared_ptr<const EsimRecord>>& records) const {
  std::vector<std::optional<PollSchedule::Progress>> progress;
  progress.reserve(records.size());
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& record : records) progress.push_back(schedule_.ProgressOf(record->config.Key()));
  return progress;
}

void Poller::RestoreProgress(const SavedProgress& progress) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < progress.size(); ++i) {
    const PollSchedule::Progress& entry = progress.ProgressAt(i);
    if (entry.last_start) schedule_.Restore(progress.KeyAt(i), *entry.last_start, entry.failures);
  }
  wake_.notify_all();
}

void Poller::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (static_cast<int>(schedule_.in_flight()) >= max_concurrency_) {
      wake_.wait(lock);
      continue;
    }
    const auto now = SteadyClock::now();
    const auto next = schedule_.Next(now);
    if (!next) {
      wake_.wait(lock);
      continue;
    }
    const auto ready_at = std::max(next->at, budget_.NextAllowed(now));
    if (ready_at > now) {
      if (timed_wait_until_ > now && timed_wait_until_ <= ready_at) {
        wake_.wait(lock);  // another worker wakes in time
      } else {
        timed_wait_until_ = ready_at;
        wake_.wait_until(lock, ready_at);
        if (timed_wait_until_ == ready_at) timed_wait_until_ = {};
      }
      continue;
    }
    if (!budget_.TryAcquire(now)) continue;
    const std::string key = next->key;
    const EsimConfig esim = next->esim;
    const StatusFetcher fetcher = fetcher_;
    schedule_.Started(key, now);
    // This may have been the worker waiting for the due time: another takes that over.
    wake_.notify_one();
    lock.unlock();
    const double requested = WallNow();
    ApiResult result;
    try {
      result = fetcher(esim);
    } catch (const std::exception& e) {
      // Fetchers report failures as values; this is the last line of defence for a worker.
      result.code = "INVALID_RESPONSE";
      result.message = std::string("internal error: ") + e.what();
    }
    lock.lock();
    HandleResult(key, result, now, requested);
    // This worker looks at the schedule again itself; one more may start what the result made
    // due.
    wake_.notify_one();
    if (schedule_.AllDone()) done_.notify_all();
  }
}

void Poller::HandleResult(const std::string& key, const ApiResult& result,
                          SteadyClock::time_point started, double requested) {
  const double wall_now = WallNow();
  RecordApiOutcome(result, budget_, store_, metrics_);
  store_.RecordPoll(key, result, wall_now, requested);
  schedule_.SetRank(key, store_.LiveRank(key));
  const bool rate_limited = result.code == "RATE_LIMIT_EXCEEDED" || result.http_status == 429;

  const auto outcome = result.ok()    ? PollSchedule::Outcome::kSuccess
                       : rate_limited ? PollSchedule::Outcome::kRateLimited
                                      : PollSchedule::Outcome::kFailure;
  schedule_.Finished(key, outcome, started,
                     std::uniform_real_distribution<double>(0.0, 1.0)(random_));

  // Refused credentials concern every request, not one eSIM: one line for the whole poller
  // when it starts and one when it ends, not one per eSIM or request.
  if (IsCredentialRefusal(result.code)) {
    if (credential_refusal_ != result.code) {
      LogError(
          "the API refuses the exporter's requests",
          {{"code", result.code}, {"message", result.message}, {"hint", HintFor(result.code)}});
      credential_refusal_ = result.code;
    }
    last_logged_code_[key] = result.code;
    return;
  }
  if (result.api_up && !credential_refusal_.empty()) {
    LogInfo("the API accepts the exporter's requests again");
    credential_refusal_.clear();
  }

  // Log once per change of outcome, not once per request. Only eSIMs whose last logged outcome
  // is a failure have an entry (one per healthy eSIM cost ~6 MB per 50,000).
  const auto last = last_logged_code_.find(key);
  if (result.ok()) {
    if (last != last_logged_code_.end()) {
      LogInfo("eSIM poll recovered", {{"esim", key}});
      last_logged_code_.erase(last);
    }
  } else if (last == last_logged_code_.end() || last->second != result.code) {
    LogWarn("eSIM poll failed", {{"esim", key},
                                 {"code", result.code},
                                 {"http_status", std::to_string(result.http_status)},
                                 {"message", result.message},
                                 {"hint", HintFor(result.code)}});
    last_logged_code_[key] = result.code;
  }
  LogDebug("eSIM polled", {{"esim", key},
                           {"code", result.code},
                           {"duration_seconds", std::to_string(result.duration_seconds)}});
}

}  // namespace esim
