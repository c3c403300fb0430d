#include "inventory.h"

#include <algorithm>
#include <map>

#include "api_feedback.h"
#include "log.h"
#include "read_retry.h"

namespace esim {
namespace {

// A hostile pagination.total_pages must not keep a sweep going forever.
constexpr int64_t kMaxPagesPerStatus = 10000;
// eSIMs asked for per list request: the endpoint's maximum.
constexpr int kPageSize = 100;

}  // namespace

Inventory::Inventory(StateStore& store, RateBudget& budget, ApiMetrics& metrics,
                     EsimsChanged on_esims_changed)
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
  // The balance is the account's: one replica reads it.
  if (settings.balance.interval.count() == 0 || !settings.shard.ReadsAccount()) {
    next_balance_.reset();
  } else if (!next_balance_) {
    next_balance_ = now;
  }
  // So is the webhook subscription.
  if (settings.webhook_check_interval.count() == 0 || !settings.shard.ReadsAccount()) {
    next_webhook_.reset();
  } else if (!next_webhook_) {
    next_webhook_ = now;
  }
  if (settings.webhook_public_url != settings_.webhook_public_url) logged_elsewhere_url_.reset();
  const bool discovery = settings.inventory.enabled && settings.inventory.discover;
  store_.SetDiscoveryLimit(discovery ? std::optional(settings.inventory.max_discovered)
                                     : std::nullopt);
  if (!discovery || settings.inventory.max_discovered != settings_.inventory.max_discovered) {
    over_limit_logged_ = false;
    over_limit_published_ = 0;
  }
  settings_ = settings;
  client_ = std::move(client);
  wake_.notify_all();
}

void Inventory::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  // The account's log field goes along to the sweeper (LogAccountScope).
  thread_ = std::thread([this, account = CurrentLogAccount()] {
    LogAccountScope scope(account);
    Loop();
  });
}

void Inventory::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Inventory::NextDue Inventory::NextDueAt(double wall_now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  const auto wall = [&](const std::optional<Clock::time_point>& at) {
    return at ? wall_now + std::chrono::duration<double>(*at - now).count() : 0.0;
  };
  return NextDue{wall(next_sweep_), wall(next_balance_), wall(next_webhook_)};
}

void Inventory::RestoreNextDue(const NextDue& due, double wall_now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  // Never later than one interval from now (a clock that jumped must not stop the reads).
  const auto restore = [&](std::optional<Clock::time_point>& next, double wall,
                           std::chrono::milliseconds interval) {
    if (!next || wall <= 0) return;
    const double in =
        std::clamp(wall - wall_now, 0.0, std::chrono::duration<double>(interval).count());
    next = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(in));
  };
  restore(next_sweep_, due.sweep, settings_.inventory.interval);
  restore(next_balance_, due.balance, settings_.balance.interval);
  restore(next_webhook_, due.webhook, settings_.webhook_check_interval);
  wake_.notify_all();
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
  if (settings.balance.interval.count() > 0 && settings.shard.ReadsAccount()) {
    ReadBalance(*client);
  }
}

void Inventory::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    std::optional<Clock::time_point> wake_at;
    for (const auto& next : {next_sweep_, next_balance_, next_webhook_}) {
      if (next && (!wake_at || *next < *wake_at)) wake_at = next;
    }
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
    const bool balance_due = next_balance_ && *next_balance_ <= now;
    lock.unlock();
    if (sweep_due) {
      const bool ok = Sweep(settings, *client);
      lock.lock();
      // The next turn counts from this one's start. A failed one is retried sooner, backing off
      // from sweep_retry: one request per attempt, never a tight loop.
      failed_sweeps_ = ok ? 0 : std::min(failed_sweeps_ + 1, 20);
      if (next_sweep_) {
        next_sweep_ = now + NextSweepWait(ok, failed_sweeps_, settings_.sweep_retry,
                                          settings_.inventory.interval);
      }
    } else if (balance_due) {
      const bool ok = ReadBalance(*client);
      lock.lock();
      if (next_balance_) {
        next_balance_ = now + NextReadWait(ok, settings_.balance.interval);
      }
    } else {
      const bool ok = ReadWebhookSubscription(settings, *client);
      lock.lock();
      if (next_webhook_) {
        next_webhook_ = now + NextReadWait(ok, settings_.webhook_check_interval);
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
  const double started = WallNow();
  DiscoveryRules discovery;
  discovery.enabled = settings.inventory.discover;
  discovery.shard = settings.shard;
  discovery.other_shards_esim_ids = {settings.other_shards_esim_ids.begin(),
                                     settings.other_shards_esim_ids.end()};
  discovery.max_discovered = settings.inventory.max_discovered;
  std::map<std::string, int64_t> totals;
  SkippedEntries skipped;
  int64_t over_limit = 0;
  size_t pages = 0;
  for (const std::string& status : settings.inventory.statuses) {
    int64_t total_pages = 1;
    for (int64_t page = 1; page <= total_pages; ++page) {
      if (!AcquireBudget()) return false;
      const double requested = WallNow();
      const ApiResult result = client.FetchListPage(status, page, kPageSize);
      RecordApiOutcome(result, budget_, store_, metrics_);
      ++pages;
      if (!result.ok() || !result.list) {
        LogWarn("inventory sweep failed; the previous values stay until the next sweep",
                {{"status", status},
                 {"page", std::to_string(page)},
                 {"code", result.code},
                 {"message", result.message}});
        ReportSkipped(skipped, /*sweep_complete=*/false);
        return false;
      }
      const EsimListPage& list = *result.list;
      const StateStore::ListedOutcome outcome =
          store_.RecordListed(list.esims, WallNow(), discovery, requested);
      if (outcome.added() > 0) {
        LogInfo("discovery: new eSIMs on the account",
                {{"count", std::to_string(outcome.added())}});
      }
      over_limit += static_cast<int64_t>(outcome.over_limit);
      if (outcome.over_limit > 0) ReportOverLimit(settings, over_limit, /*sweep_complete=*/false);
      store_.RecordSkipped(list.skipped);
      skipped.pending += list.skipped.pending;
      if (skipped.malformed == 0) skipped.first_malformed = list.skipped.first_malformed;
      skipped.malformed += list.skipped.malformed;
      // New eSIMs to poll, or eSIMs that now have data: the live poller re-ranks them.
      if (!outcome.listed_keys.empty()) {
        on_esims_changed_(PageChange{outcome.listed_keys, outcome.added_keys});
      }
      totals[status] = list.total;
      total_pages = std::min(list.total_pages.value_or((list.total + kPageSize - 1) / kPageSize),
                             kMaxPagesPerStatus);
    }
  }
  const double now = WallNow();
  // Every replica sweeps (for its own eSIMs); one reports the account's counts.
  store_.RecordSweep(settings.shard.ReadsAccount() ? std::optional(totals) : std::nullopt, started,
                     now);
  if (settings.inventory.discover) ReportOverLimit(settings, over_limit, /*sweep_complete=*/true);
  ReportSkipped(skipped, /*sweep_complete=*/true);
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
    }
  }
  on_esims_changed_(std::nullopt);
  LogDebug("inventory sweep complete", {{"requests", std::to_string(pages)}});
  return true;
}

void Inventory::ReportOverLimit(const Settings& settings, int64_t over_limit, bool sweep_complete) {
  std::lock_guard<std::mutex> lock(mutex_);
  // While a sweep runs the gauge only rises (a long hostile listing shows at once); a complete
  // sweep sets it to what it counted.
  if (sweep_complete || over_limit > over_limit_published_) {
    store_.RecordDiscoveryOverLimit(over_limit);
    over_limit_published_ = over_limit;
  }
  if (over_limit > 0 && !over_limit_logged_) {
    LogWarn(
        "discovery limit reached: the account lists more eSIMs than inventory.max_discovered; "
        "the others are not monitored (raise inventory.max_discovered, or split the fleet over "
        "replicas with --shard.total)",
        {{"max_discovered", std::to_string(settings.inventory.max_discovered)}});
    over_limit_logged_ = true;
  } else if (sweep_complete && over_limit == 0 && over_limit_logged_) {
    LogInfo("discovery: every listed eSIM is monitored again, below inventory.max_discovered",
            {{"max_discovered", std::to_string(settings.inventory.max_discovered)}});
    over_limit_logged_ = false;
  }
}

void Inventory::ReportSkipped(const SkippedEntries& skipped, bool sweep_complete) {
  if (skipped.pending > 0) {
    LogDebug("inventory: list entries still being provisioned skipped",
             {{"count", std::to_string(skipped.pending)}});
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Warn when the number of malformed entries changes, not on every sweep of the same ones.
  if (skipped.malformed > 0 && skipped.malformed != last_malformed_) {
    LogWarn("inventory: list entries that do not parse were skipped; the rest of the page counts",
            {{"count", std::to_string(skipped.malformed)}, {"first", skipped.first_malformed}});
  }
  if (sweep_complete || skipped.malformed > last_malformed_) last_malformed_ = skipped.malformed;
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

bool Inventory::ReadWebhookSubscription(const Settings& settings, const ApiClient& client) {
  if (!AcquireBudget()) return false;
  const ApiResult result = client.FetchWebhookSubscription();
  RecordApiOutcome(result, budget_, store_, metrics_);
  if (!result.ok() || !result.webhook_subscription) {
    LogWarn("webhook subscription read failed",
            {{"code", result.code}, {"message", result.message}});
    store_.RecordSubscriptionRead(std::nullopt, WallNow());
    return false;
  }
  WebhookSubscriptionHealth health = SummarizeSubscription(*result.webhook_subscription);
  const std::string public_url = settings.webhook_public_url;
  {
    // Where deliveries go instead is worth one line per change (no secret, but see UrlForLog).
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string url = health.url.value_or("");
    if (!public_url.empty() && !PointsAt(health.url, public_url) && logged_elsewhere_url_ != url) {
      LogInfo("the API key's webhook subscription does not point at webhook.public_url",
              {{"subscription_url", UrlForLog(url)}, {"public_url", public_url}});
      logged_elsewhere_url_ = url;
    } else if (PointsAt(health.url, public_url)) {
      logged_elsewhere_url_.reset();
    }
  }
  store_.RecordSubscriptionRead(std::move(health), WallNow());
  return true;
}

}  // namespace esim
