// Sharding one fleet over N exporter replicas (--shard.total, --shard.index): replica i polls
// only the eSIMs whose stable hash mod N is i, with 1/N of the API key's request budget, so N
// replicas split the fleet with no eSIM polled twice and the key's budget still holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config.h"

namespace esim {

struct Shard {
  int index = 0;
  int total = 1;  // 1: no sharding
};

// FNV-1a 64 of the eSIM's key: stable across builds, platforms and config order.
uint64_t StableHash(const std::string& text);

// Parses --shard.index: a number, or a name ending in "-<number>" (a StatefulSet pod name such
// as esim-exporter-2). nullopt when neither, or not below `total`.
std::optional<int> ParseShardIndex(const std::string& text, int total);

// Keeps the shard's eSIMs and divides the rate limits by the shard count. Throws ConfigError
// when a limit is smaller than the shard count (the shards together would exceed it).
void ApplyShard(const Shard& shard, Config& config);

}  // namespace esim
