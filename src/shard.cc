#include "shard.h"

#include <algorithm>
#include <charconv>

namespace esim {

uint64_t StableHash(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

bool Shard::Owns(const std::string& key) const {
  if (total <= 1) return true;
  return StableHash(key) % static_cast<uint64_t>(total) == static_cast<uint64_t>(index);
}

std::optional<int> ParseShardIndex(const std::string& text, int total) {
  const size_t dash = text.rfind('-');
  const std::string digits = dash == std::string::npos ? text : text.substr(dash + 1);
  int index = -1;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || index < 0 ||
      index >= total) {
    return std::nullopt;
  }
  return index;
}

Shard Shard::ForAccount(const std::string& name) const {
  Shard shard = *this;
  shard.account_reader = name.empty() || total <= 1
                             ? 0
                             : static_cast<int>(StableHash(name) % static_cast<uint64_t>(total));
  return shard;
}

namespace {

void CutAccount(const Shard& shard, Config& config) {
  std::erase_if(config.esims, [&](const EsimConfig& esim) {
    if (shard.Owns(esim.Key())) return false;
    if (esim.iccid.empty() && esim.esim_id) config.other_shards_esim_ids.push_back(*esim.esim_id);
    return true;
  });
  RateLimitConfig& limits = config.api.rate_limit;
  const int smallest = std::min({limits.per_minute, limits.per_hour, limits.per_day});
  if (shard.total > smallest) {
    // 1 request per window and shard would already be more than the whole budget.
    const std::string account =
        config.account.empty() ? "" : "account " + std::string("\"") + config.account + "\": ";
    throw ConfigError(
        config.path + ": " + account + "api.rate_limit allows " + std::to_string(smallest) +
        " requests in its tightest window, too few to split over " + std::to_string(shard.total) +
        " shards; raise the rate limit or run fewer shards");
  }
  limits.per_minute = std::max(1, limits.per_minute / shard.total);
  limits.per_hour = std::max(1, limits.per_hour / shard.total);
  limits.per_day = std::max(1, limits.per_day / shard.total);
}

}  // namespace

void ApplyShard(const Shard& shard, Config& config) {
  if (shard.total <= 1) return;
  if (config.accounts.empty()) {
    CutAccount(shard, config);
    return;
  }
  for (Config& account : config.accounts) CutAccount(shard, account);
}

}  // namespace esim
