#include "inventory.h"

#include <algorithm>
#include <map>

#include "api_feedback.h"
#include "log.h"

namespace esim {
namespace {

// A hostile pagination.total_pages must not keep a sweep going forever.
constexpr int64_t kMaxPagesPerStatus = 10000;

}  // namespace

Inventory::Inventory(StateStore& store, RateBudget& budget, ApiMetrics& metrics,
                     std::function<void()> on_esims_changed)
    : store_(store),
      budget_(budget),
      metrics_(metrics),
      on_esims_changed_(std::move(on_esims_changed)) {}

Inventory::~Inventory() { Stop(); }

void Inventory::Reconfigure(const Settings& settings, std::shared_ptr<const ApiClient> client) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  // Newly enabled (or first configured): run at once; otherwise keep the current rhythm.
  if (!settings.inventory.enabled) {
    next_sweep_.reset();
  } else if (!next_sweep_ || !settings_.inventory.enabled) {
    next_sweep_ = now;
  }
  if (settings.balance.interval.count() == 0) {
    next_balance_.reset();
  } else if (!next_balance_) {
    next_balance_ = now;
  }
  settings_ = settings;
  client_ = std::move(client);
  wake_.notify_all();
}

void Inventory::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Inventory::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<size_t> Inventory::last_sweep_pages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_sweep_pages_;
}

void Inventory::RunOnce() {
  std::unique_lock<std::mutex> lock(mutex_);
  const Settings settings = settings_;
  const auto client = client_;
  lock.unlock();
  if (!client) return;
  if (settings.inventory.enabled) Sweep(settings, *client);
  if (settings.balance.interval.count() > 0) ReadBalance(*client);
}

void Inventory::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    std::optional<Clock::time_point> wake_at;
    if (next_sweep_) wake_at = next_sweep_;
    if (next_balance_ && (!wake_at || *next_balance_ < *wake_at)) wake_at = next_balance_;
    if (!wake_at) {
      wake_.wait(lock);
      continue;
    }
    const auto now = Clock::now();
    if (*wake_at > now) {
      wake_.wait_until(lock, *wake_at);
      continue;
    }
    const Settings settings = settings_;
    const auto client = client_;
    const bool sweep_due = next_sweep_ && *next_sweep_ <= now;
    lock.unlock();
    if (sweep_due) {
      const bool ok = Sweep(settings, *client);
      lock.lock();
      // The next turn counts from this one's start. A failed one is retried sooner, backing off
      // from sweep_retry: one request per attempt, never a tight loop.
      failed_sweeps_ = ok ? 0 : std::min(failed_sweeps_ + 1, 20);
      Clock::duration wait = settings_.inventory.interval;
      if (!ok) {
        wait = std::min(
            wait, Clock::duration(settings_.sweep_retry) * (int64_t{1} << (failed_sweeps_ - 1)));
      }
      if (next_sweep_) next_sweep_ = now + wait;
    } else {
      const bool ok = ReadBalance(*client);
      lock.lock();
      if (next_balance_) {
        // A failed read is retried sooner, but never more than every 5 minutes.
        const auto retry =
            std::min<Clock::duration>(settings_.balance.interval, std::chrono::minutes(5));
        next_balance_ = now + (ok ? Clock::duration(settings_.balance.interval) : retry);
      }
    }
  }
}

bool Inventory::AcquireBudget() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const auto now = Clock::now();
    if (budget_.TryAcquire(now)) return true;
    wake_.wait_until(lock, budget_.NextAllowed(now));
  }
  return false;
}

bool Inventory::Sweep(const Settings& settings, const ApiClient& client) {
  std::map<std::string, int64_t> totals;
  size_t pages = 0;
  for (const std::string& status : settings.inventory.statuses) {
    int64_t total_pages = 1;
    for (int64_t page = 1; page <= total_pages; ++page) {
      if (!AcquireBudget()) return false;
      const ApiResult result = client.FetchListPage(status, page);
      RecordApiOutcome(result, budget_, store_, metrics_);
      ++pages;
      if (!result.ok() || !result.list) {
        LogWarn("inventory sweep failed; the previous values stay until the next sweep",
                {{"status", status},
                 {"page", std::to_string(page)},
                 {"code", result.code},
                 {"message", result.message}});
        return false;
      }
      const size_t added =
          store_.RecordListed(result.list->esims, WallNow(), settings.inventory.discover);
      if (added > 0) {
        LogInfo("discovery: new eSIMs on the account", {{"count", std::to_string(added)}});
      }
      // New eSIMs to poll, or eSIMs that now have data: the live poller re-ranks them.
      if (!result.list->esims.empty()) on_esims_changed_();
      totals[status] = result.list->total;
      total_pages = std::min(result.list->total_pages, kMaxPagesPerStatus);
    }
  }
  const double now = WallNow();
  store_.RecordSweep(totals, now);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_sweep_pages_ = pages;
  }
  if (settings.inventory.discover) {
    const size_t dropped =
        store_.DropVanished(now, std::chrono::duration<double>(settings.stale_after).count());
    if (dropped > 0) {
      LogInfo("discovery: eSIMs gone from the account for stale_after are no longer monitored",
              {{"count", std::to_string(dropped)}});
      on_esims_changed_();
    }
  }
  LogDebug("inventory sweep complete", {{"requests", std::to_string(pages)}});
  return true;
}

bool Inventory::ReadBalance(const ApiClient& client) {
  if (!AcquireBudget()) return false;
  const ApiResult result = client.FetchBalance();
  RecordApiOutcome(result, budget_, store_, metrics_);
  if (!result.ok() || !result.balance) {
    LogWarn("balance read failed", {{"code", result.code}, {"message", result.message}});
    return false;
  }
  store_.RecordBalance(*result.balance);
  return true;
}

}  // namespace esim
