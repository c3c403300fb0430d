// What a config will spend of its API key per day, for --config.check: live-status polls (after
// the budget's stretching), inventory sweep pages, balance reads, and the share of the key's
// vendor limits and of api.rate_limit that makes. Arithmetic on the config alone, no network.
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config.h"
#include "shard.h"

namespace esim {

// The vendor's current default per-key limits (60/min, 1,000/h, 10,000/day).
inline constexpr RateLimitConfig kVendorKeyLimits{60, 1000, 10000};

struct DailyCost {
  size_t esims = 0;        // configured eSIMs of this replica
  bool discovery = false;  // inventory.discover: the account's real size decides the sweeps
  // Live-status polls: the per-eSIM interval in force, and polls a day.
  std::chrono::milliseconds live_interval{0};
  double live_polls = 0;
  bool live_capped_by_budget = false;  // fewer than the configured interval asks for
  // Inventory sweeps: pages of one sweep (estimated: ceil(eSIMs / 100) per listing, at least
  // one per listing), sweeps a day and pages a day; 0 with inventory off.
  int64_t pages_per_sweep = 0;
  double sweeps = 0;
  double sweep_pages = 0;
  double balance_reads = 0;  // 0 when off, or on a replica that does not read the account
  // GET /webhooks (webhook.check_interval); 0 without a receiver, when off, or on a replica
  // that does not read the account.
  double subscription_reads = 0;
  double total() const { return live_polls + sweep_pages + balance_reads + subscription_reads; }
};

// `config` as this replica runs it (LoadShardedConfig: eSIMs and rate_limit already cut).
DailyCost EstimateDailyCost(const Config& config, const Shard& shard = {});

// The lines --config.check prints: each kind of request a day, the total, and its share of
// kVendorKeyLimits and of `limits` (this replica's api.rate_limit).
std::string DescribeDailyCost(const DailyCost& cost, const Config& config, const Shard& shard = {});

// --config.check for one named account (config.accounts[i]): a line "account NAME: N eSIMs,
// each polled every S s", a stretch warning when the budget stretches the interval, then
// DescribeDailyCost with the replica that reads this account (shard.ForAccount(NAME)); the
// shares are of that account's own key and api.rate_limit.
std::string DescribeAccountCheck(const Config& account, const Shard& shard = {});

// One DescribeAccountCheck block per entry of config.accounts, each after an empty line.
std::string DescribeAccountsCheck(const Config& config, const Shard& shard = {});

}  // namespace esim
