#include "fleet_cost.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "poll_schedule.h"

namespace esim {
namespace {

constexpr double kDaySeconds = 86400;
constexpr int64_t kPageSize = 100;  // eSIMs per page of the list endpoint

double Seconds(std::chrono::duration<double> duration) {
  return std::chrono::duration<double>(duration).count();
}

// "15m", "1h30m", "1d": as the config writes durations.
std::string ShortDuration(std::chrono::milliseconds duration) {
  int64_t seconds = (duration.count() + 999) / 1000;
  std::string text;
  for (const auto& [size, unit] :
       {std::pair<int64_t, const char*>{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}) {
    if (seconds >= size) {
      text += std::to_string(seconds / size) + unit;
      seconds %= size;
    }
  }
  return text.empty() ? "0s" : text;
}

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// Whole requests a day, right-aligned so the column of counts lines up.
std::string Count(double per_day) {
  char text[32];
  std::snprintf(text, sizeof text, "%7lld", static_cast<long long>(std::llround(per_day)));
  return text;
}

// A rate with as many decimals as small values need ("9", "0.15").
std::string Rate(double value) { return Fixed(value, value >= 10 ? 0 : value >= 1 ? 1 : 2); }

// "1,000": the vendor writes its limits with thousands separators.
std::string Grouped(int64_t number) {
  const std::string digits = std::to_string(number);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

std::string Shares(double per_day, const RateLimitConfig& limits) {
  const auto percent = [](double used, int limit) {
    return Fixed(limit > 0 ? 100.0 * used / limit : 0, 1) + " %";
  };
  return percent(per_day, limits.per_day) + " a day, " + percent(per_day / 24, limits.per_hour) +
         " an hour, " + percent(per_day / 1440, limits.per_minute) + " a minute";
}

std::string Limits(const RateLimitConfig& limits) {
  return Grouped(limits.per_day) + "/day, " + Grouped(limits.per_hour) + "/h, " +
         Grouped(limits.per_minute) + "/min";
}

bool ListsAllStatuses(const InventoryConfig& inventory) {
  return inventory.statuses.size() == 1 && inventory.statuses.front() == "all";
}

}  // namespace

DailyCost EstimateDailyCost(const Config& config, const Shard& shard) {
  DailyCost cost;
  const RateLimitConfig& limits = config.api.rate_limit;
  const InventoryConfig& inventory = config.inventory;
  cost.esims = config.esims.size();
  cost.discovery = inventory.enabled && inventory.discover;
  if (config.balance.interval.count() > 0 && shard.ReadsAccount()) {
    cost.balance_reads = kDaySeconds / Seconds(config.balance.interval);
  }
  if (config.webhook.enabled && config.webhook.check_interval.count() > 0 && shard.ReadsAccount()) {
    cost.subscription_reads = kDaySeconds / Seconds(config.webhook.check_interval);
  }
  if (!inventory.enabled) {
    cost.live_interval = EffectiveInterval(config.poll.interval, cost.esims, limits);
    cost.live_polls = static_cast<double>(cost.esims) * kDaySeconds / Seconds(cost.live_interval);
    cost.live_capped_by_budget = cost.live_interval > config.poll.interval;
    return cost;
  }
  // Each listing (one per status, or one for "all") pages through its eSIMs 100 at a time.
  const int64_t listings = static_cast<int64_t>(inventory.statuses.size());
  const int64_t pages_per_listing =
      std::max<int64_t>(1, (static_cast<int64_t>(cost.esims) + kPageSize - 1) / kPageSize);
  cost.pages_per_sweep = listings * pages_per_listing;
  cost.sweeps = kDaySeconds / Seconds(inventory.interval);
  cost.sweep_pages = cost.sweeps * static_cast<double>(cost.pages_per_sweep);
  // The sweeps and balance reads come first; live polls get what is left (as the poller does).
  const std::optional<std::chrono::microseconds> spacing = LiveSpacing(
      limits, (cost.sweep_pages + cost.balance_reads + cost.subscription_reads) / kDaySeconds);
  if (!spacing) {
    cost.live_capped_by_budget = true;
    return cost;
  }
  const double most_per_day = kDaySeconds / Seconds(*spacing);
  if (cost.discovery) {
    // Every monitored eSIM shares what is left: at most this many, fewer for a small account.
    cost.live_polls = most_per_day;
    cost.live_interval = config.poll.interval;
    return cost;
  }
  const auto cycle = std::chrono::duration_cast<std::chrono::milliseconds>(
      *spacing * static_cast<int64_t>(cost.esims));
  cost.live_interval =
      std::max({config.poll.interval, std::chrono::milliseconds(std::chrono::seconds(60)), cycle});
  cost.live_capped_by_budget = cycle > config.poll.interval;
  cost.live_polls = static_cast<double>(cost.esims) * kDaySeconds / Seconds(cost.live_interval);
  return cost;
}

std::string DescribeDailyCost(const DailyCost& cost, const Config& config, const Shard& shard) {
  const InventoryConfig& inventory = config.inventory;
  const RateLimitConfig& limits = config.api.rate_limit;
  std::string text = "estimated API requests per day";
  if (shard.total > 1) {
    text += " of this replica (shard " + std::to_string(shard.index) + " of " +
            std::to_string(shard.total) + ", with 1/" + std::to_string(shard.total) +
            " of rate_limit)";
  }
  text += ":\n";

  const std::string esims = std::to_string(cost.esims) + (cost.esims == 1 ? " eSIM" : " eSIMs");
  text += "  live status polls    " + Count(cost.live_polls) + "  (";
  if (inventory.enabled && cost.live_polls == 0) {
    text += "none: the sweeps and balance reads take the whole budget";
  } else if (cost.discovery) {
    text +=
        "at most: what the budget leaves after the sweeps, shared by every monitored eSIM, "
        "each at most every " +
        ShortDuration(config.poll.interval);
  } else {
    text += esims + ", each every " + ShortDuration(cost.live_interval);
    if (cost.live_capped_by_budget) {
      text += ", stretched from " + ShortDuration(config.poll.interval) + " by the budget";
    }
    if (inventory.enabled) text += "; what the sweeps leave";
  }
  text += ")\n";

  text += "  inventory sweep pages" + Count(cost.sweep_pages) + "  (";
  if (!inventory.enabled) {
    text += "inventory off";
  } else {
    const int64_t listings = static_cast<int64_t>(inventory.statuses.size());
    std::string statuses;
    for (const std::string& status : inventory.statuses) {
      if (!statuses.empty()) statuses += ", ";
      statuses += status;
    }
    text += Fixed(cost.sweeps, cost.sweeps >= 10 ? 0 : 1) + " sweeps, one every " +
            ShortDuration(inventory.interval) + ", of about " +
            std::to_string(cost.pages_per_sweep) +
            (cost.pages_per_sweep == 1 ? " page: " : " pages: ") +
            std::to_string(cost.pages_per_sweep / std::max<int64_t>(listings, 1)) +
            (ListsAllStatuses(inventory) ? " for the listing of all statuses"
                                         : " for each of " + statuses) +
            ", estimated from the " + esims + " in the config at 100 a page";
    if (cost.discovery) text += "; with discovery the account's real size decides";
  }
  text += ")\n";

  text += "  balance reads        " + Count(cost.balance_reads) + "  (";
  if (config.balance.interval.count() == 0) {
    text += "balance.interval 0: off";
  } else if (!shard.ReadsAccount()) {
    text += "replica " + std::to_string(shard.account_reader) + " reads the balance";
  } else {
    text += "one every " + ShortDuration(config.balance.interval);
  }
  text += ")\n";

  if (config.webhook.enabled) {
    text += "  subscription reads   " + Count(cost.subscription_reads) + "  (";
    if (config.webhook.check_interval.count() == 0) {
      text += "webhook.check_interval 0: off";
    } else if (!shard.ReadsAccount()) {
      text += "replica " + std::to_string(shard.account_reader) + " reads the webhook subscription";
    } else {
      text += "one every " + ShortDuration(config.webhook.check_interval);
    }
    text += ")\n";
  }

  const double total = cost.total();
  text += "  total                " + Count(total) + "  (" + Rate(total / 24) + " an hour, " +
          Rate(total / 1440) + " a minute on average)\n";
  text += "  of the API key's vendor limits (" + Limits(kVendorKeyLimits) +
          "): " + Shares(total, kVendorKeyLimits) + "\n";
  text += "  of api.rate_limit (" + Limits(limits) + "): " + Shares(total, limits) + "\n";
  if (shard.total > 1) {
    text += "  all " + std::to_string(shard.total) + " replicas together spend about " +
            std::to_string(shard.total) + " times this, about " +
            Fixed(100.0 * total * shard.total / kVendorKeyLimits.per_day, 1) + " % of the key's " +
            Grouped(kVendorKeyLimits.per_day) + "/day\n";
  }
  if (cost.discovery) {
    text +=
        "  (an estimate: with inventory.discover the account's size decides the sweep pages "
        "and the live polls)\n";
  }
  return text;
}

std::string DescribeAccountCheck(const Config& account, const Shard& shard) {
  const Shard own = shard.ForAccount(account.account);
  const DailyCost cost = EstimateDailyCost(account, own);
  std::string text = "account " + account.account + ": " + std::to_string(cost.esims) +
                     (cost.esims == 1 ? " eSIM" : " eSIMs");
  if (cost.discovery) {
    text += " plus those discovery finds";
  } else {
    text += ", each polled every " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(cost.live_interval).count()) +
            " s";
  }
  text += "\n";
  // With inventory sweeps, live polls take what the sweeps leave (the cost lines say how).
  if (!account.inventory.enabled) {
    const std::string stretch =
        DescribeStretch(account.poll.interval, account.esims.size(), account.api.rate_limit);
    if (!stretch.empty()) text += "warning: account " + account.account + ": " + stretch + "\n";
  }
  return text + DescribeDailyCost(cost, account, own);
}

std::string DescribeAccountsCheck(const Config& config, const Shard& shard) {
  std::string text;
  for (const Config& account : config.accounts) {
    text += "\n" + DescribeAccountCheck(account, shard);
  }
  return text;
}

}  // namespace esim
