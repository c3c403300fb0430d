// Sharding one fleet over N exporter replicas (--shard.total, --shard.index): replica i polls
// only the eSIMs whose stable hash mod N is i, with 1/N of the API key's request budget, so N
// replicas split the fleet with no eSIM polled twice and the key's budget still holds. eSIMs found
// by discovery are split by the same hash of their key "iccid:<digits>"; account-wide reads
// (balance, account counts by status) are made by replica 0 alone.
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
  // The replica that reads the account-wide figures (balance, eSIMs per status, the webhook
  // subscription): exactly one per account.
  int account_reader = 0;
  bool ReadsAccount() const { return index == account_reader; }
  // This shard as it applies to the account `name`: a named account's reads go to replica
  // StableHash(name) % total, so several accounts spread their reads over the replicas; the
  // unnamed account's to replica 0.
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
// that discovery does not add them a second time under their ICCID. Throws ConfigError when a
// limit is smaller than the shard count (the shards together would exceed it).
void ApplyShard(const Shard& shard, Config& config);

}  // namespace esim
