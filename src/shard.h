// Sharding one fleet over N exporter replicas (--shard.total, --shard.index): replica i polls
// only the eSIMs whose stable hash mod N is i, with 1/N of the API key's request budget, so N
// replicas split the fleet with no eSIM polled twice and the key's budget still holds. eSIMs found
// by discovery are split by the same hash of their key "iccid:<digits>". With several accounts
// (config accounts:) each account is cut the same way: its eSIMs by the same hash, its own
// rate_limit divided by N. Account-wide reads (balance, account counts by status, GET /webhooks)
// are made by one replica per account: StableHash(name) % N for a named account (so the
// accounts' reads spread over the replicas), replica 0 for the unnamed one (Shard::ForAccount).
// Thread safety: plain functions and values, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config.h"

namespace esim {

struct Shard {
  int index = 0;
  int total = 1;  // 1: no sharding
  // The replica that reads the account's account-wide figures (balance, eSIMs per status,
  // GET /webhooks): exactly one does. 0 unless set by ForAccount.
  int account_reader = 0;
  bool ReadsAccount() const { return index == account_reader; }
  // This shard for the account `name` (empty: the unnamed account): account_reader is
  // StableHash(name) % total, or 0 for the unnamed account.
  Shard ForAccount(const std::string& name) const;
  // True when the eSIM with this key ("iccid:<digits>" or "esim_id:<n>") is this replica's.
  bool Owns(const std::string& key) const;
};

// FNV-1a 64 of the eSIM's key: stable across builds, platforms and config order.
uint64_t StableHash(const std::string& text);

// Parses --shard.index: a number, or a name ending in "-<number>" (a StatefulSet pod name such
// as esim-exporter-2). nullopt when neither, or not below `total`.
std::optional<int> ParseShardIndex(const std::string& text, int total);

// Keeps the shard's eSIMs and divides the rate limits by the shard count; records in
// config.other_shards_esim_ids the eSIMs of other replicas that are named by esim_id only, so
// that discovery does not add them a second time under their ICCID. With config.accounts, does
// so for every account (the top-level fields are then unused and left alone). Throws
// ConfigError when a limit is smaller than the shard count (the shards together would exceed
// it), naming the account.
void ApplyShard(const Shard& shard, Config& config);

}  // namespace esim
