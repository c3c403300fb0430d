#include "poll_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace esim {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinimumPerEsim = std::chrono::seconds(60);
// Regular polls are planned on 90 % of each window: the rest absorbs retries after failures
// and the first polls at startup, so a full budget does not leave every poll late for good.
constexpr double kPlannedShare = 0.9;

// The interval needed for `count` polls to fit the planned share of `limit` per `window`.
milliseconds NeededFor(size_t count, int limit, milliseconds window) {
  if (limit <= 0) return milliseconds(0);
  return milliseconds(static_cast<int64_t>(std::ceil(
      static_cast<double>(count) * static_cast<double>(window.count()) / (limit * kPlannedShare))));
}

std::string HumanDuration(milliseconds duration) {
  int64_t seconds = (duration.count() + 999) / 1000;
  std::ostringstream out;
  if (seconds >= 86400) out << seconds / 86400 << "d", seconds %= 86400;
  if (seconds >= 3600) out << seconds / 3600 << "h", seconds %= 3600;
  if (seconds >= 60) out << seconds / 60 << "m", seconds %= 60;
  if (seconds > 0 || out.tellp() == 0) out << seconds << "s";
  return out.str();
}

}  // namespace

milliseconds EffectiveInterval(milliseconds configured, size_t esim_count,
                               const RateLimitConfig& limits) {
  return std::max({configured, kMinimumPerEsim,
                   NeededFor(esim_count, limits.per_minute, std::chrono::minutes(1)),
                   NeededFor(esim_count, limits.per_hour, std::chrono::hours(1)),
                   NeededFor(esim_count, limits.per_day, std::chrono::hours(24))});
}

std::string DescribeStretch(milliseconds configured, size_t esim_count,
                            const RateLimitConfig& limits) {
  const milliseconds effective = EffectiveInterval(configured, esim_count, limits);
  if (effective <= configured) return "";
  struct Window {
    const char* key;
    int limit;
    milliseconds length;
    const char* unit;
  };
  const Window windows[] = {{"per_minute", limits.per_minute, std::chrono::minutes(1), "min"},
                            {"per_hour", limits.per_hour, std::chrono::hours(1), "h"},
                            {"per_day", limits.per_day, std::chrono::hours(24), "day"}};
  const Window* tightest = &windows[0];
  for (const Window& window : windows) {
    if (NeededFor(esim_count, window.limit, window.length) >
        NeededFor(esim_count, tightest->limit, tightest->length)) {
      tightest = &window;
    }
  }
  const double needed = static_cast<double>(esim_count) *
                        static_cast<double>(tightest->length.count()) /
                        static_cast<double>(configured.count());
  std::ostringstream out;
  out << "the request budget is too small for the fleet: " << esim_count << " eSIMs every "
      << HumanDuration(configured) << " need " << static_cast<int64_t>(std::ceil(needed))
      << " requests/" << tightest->unit << " but rate_limit." << tightest->key << " allows "
      << tightest->limit << " (90 % planned, 10 % kept for retries); each eSIM is polled every "
      << HumanDuration(effective) << " instead (raise rate_limit." << tightest->key
      << " within the API key's limits, lengthen poll.interval, or monitor fewer eSIMs)";
  return out.str();
}

std::optional<milliseconds> LiveSpacing(const RateLimitConfig& limits, double bulk_per_second) {
  double live_per_second = std::numeric_limits<double>::infinity();
  const std::pair<int, double> windows[] = {
      {limits.per_minute, 60.0}, {limits.per_hour, 3600.0}, {limits.per_day, 86400.0}};
  for (const auto& [limit, seconds] : windows) {
    live_per_second = std::min(live_per_second, limit * kPlannedShare / seconds - bulk_per_second);
  }
  if (live_per_second <= 0) return std::nullopt;
  return milliseconds(static_cast<int64_t>(std::ceil(1000.0 / live_per_second)));
}

void PollSchedule::Update(const std::vector<std::string>& keys, milliseconds configured_interval,
                          const RateLimitConfig& limits, TimePoint now, Priority priority) {
  priority_ = priority;
  configured_ = std::max(configured_interval, kMinimumPerEsim);
  if (priority.enabled) {
    // Every eSIM once per interval if the live budget allows, else as often as it allows.
    const auto cycle = std::chrono::duration_cast<milliseconds>(priority.live_spacing *
                                                                static_cast<int64_t>(keys.size()));
    interval_ = std::max(configured_, cycle);
  } else {
    interval_ = EffectiveInterval(configured_interval, keys.size(), limits);
  }
  std::map<std::string, Entry> updated;
  for (size_t slot = 0; slot < keys.size(); ++slot) {
    const std::string& key = keys[slot];
    auto old = entries_.find(key);
    Entry entry;
    if (old != entries_.end()) {
      entry = old->second;  // trivially copyable: no config copied any more
      Dequeue(entry);
    } else {
      entry.due = now;
      // Removed by an earlier reload while its request was in flight, and back: that request
      // still counts, so the eSIM is not polled a second time at once.
      if (const auto orphan = orphans_in_flight_.find(key); orphan != orphans_in_flight_.end()) {
        entry.in_flight = true;
        entry.last_start = orphan->second;
        orphans_in_flight_.erase(orphan);
      }
    }
    entry.slot = slot;
    updated.emplace(key, entry);
  }
  for (auto& [key, entry] : entries_) {
    if (updated.contains(key)) continue;
    Dequeue(entry);
    // A removed eSIM's answer still arrives; Finished drops it.
    if (entry.in_flight) orphans_in_flight_.emplace(key, entry.last_start.value_or(now));
  }
  entries_ = std::move(updated);
  in_flight_ = orphans_in_flight_.size();
  for (auto& [key, entry] : entries_) {
    entry.key = &key;
    if (entry.in_flight) {
      ++in_flight_;
    } else if (!entry.done) {
      // Known eSIMs move to their (possibly new) slot; never-polled ones stay due.
      Enqueue(entry, entry.last_start && entry.failures == 0 ? RegularDue(entry) : entry.due);
    }
  }
}

PollSchedule::TimePoint PollSchedule::NextSlotAtOrAfter(const Entry& entry,
                                                        TimePoint earliest) const {
  const Duration interval = std::chrono::duration_cast<Duration>(interval_);
  // In milliseconds: interval x slot overflows nanoseconds for large fleets on small budgets.
  const Duration offset = std::chrono::duration_cast<Duration>(
      milliseconds(interval_.count() * static_cast<int64_t>(entry.slot) /
                   static_cast<int64_t>(std::max<size_t>(entries_.size(), 1))));
  const TimePoint first = anchor_ + offset;
  if (earliest <= first) return first;
  const auto periods = (earliest - first + interval - Duration(1)) / interval;
  return first + periods * interval;
}

PollSchedule::TimePoint PollSchedule::RegularDue(const Entry& entry) const {
  if (priority_.enabled) return *entry.last_start + configured_;
  // The next own slot at least half an interval after the last poll: steady polling at the
  // interval, and a re-spread after reloads without a burst.
  const TimePoint last = *entry.last_start;
  return std::max(NextSlotAtOrAfter(entry, last + interval_ / 2), last + kMinimumPerEsim);
}

void PollSchedule::Enqueue(Entry& entry, TimePoint due) {
  entry.due = due;
  entry.ready = false;
  queue_.emplace(due, entry.slot, entry.key);
}

void PollSchedule::Dequeue(Entry& entry) {
  if (entry.ready) {
    ready_.erase(ReadyKeyOf(entry));
    entry.ready = false;
  } else {
    queue_.erase(QueueKey(entry.due, entry.slot, entry.key));
  }
}

std::optional<PollSchedule::Due> PollSchedule::Next(TimePoint now) {
  if (priority_.enabled) return NextByPriority(now);
  if (queue_.empty()) return std::nullopt;
  const auto& [due, slot, key] = *queue_.begin();
  return DueOf(entries_.at(*key), due);
}

PollSchedule::Due PollSchedule::DueOf(const Entry& entry, TimePoint at) const {
  return Due{*entry.key, EsimConfig::FromKey(*entry.key), at};
}

PollSchedule::ReadyKey PollSchedule::ReadyKeyOf(const Entry& entry) {
  return ReadyKey(-entry.rank, entry.last_start.value_or(TimePoint::min()), entry.slot, entry.key);
}

std::optional<PollSchedule::Due> PollSchedule::NextByPriority(TimePoint now) {
  // Of the eSIMs due now: those without any data first, then active ones, then the least
  // recently polled (never-polled ones count as least recent), then config order. None due: the
  // one due first.
  while (!queue_.empty() && std::get<0>(*queue_.begin()) <= now) {
    Entry& entry = entries_.at(*std::get<2>(*queue_.begin()));
    queue_.erase(queue_.begin());
    entry.ready = true;
    ready_.insert(ReadyKeyOf(entry));
  }
  const Entry* best = nullptr;
  TimePoint at = now;
  if (!ready_.empty()) {
    best = &entries_.at(*std::get<3>(*ready_.begin()));
  } else if (!queue_.empty()) {
    best = &entries_.at(*std::get<2>(*queue_.begin()));
    at = best->due;
  } else {
    return std::nullopt;
  }
  if (last_start_) at = std::max(at, *last_start_ + priority_.live_spacing);
  return DueOf(*best, at);
}

void PollSchedule::SetRank(const std::string& key, int rank) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (entry.ready) ready_.erase(ReadyKeyOf(entry));
  entry.rank = rank;
  if (entry.ready) ready_.insert(ReadyKeyOf(entry));
}

bool PollSchedule::PollSoon(const std::string& key, TimePoint now) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  Entry& entry = it->second;
  if (entry.in_flight || entry.done || entry.ready) return false;
  if (entry.last_soon && now < *entry.last_soon + kMinimumPerEsim) return false;
  TimePoint at = now;
  if (entry.last_start) at = std::max(at, *entry.last_start + kMinimumPerEsim);
  if (entry.due <= at) return false;
  Dequeue(entry);
  Enqueue(entry, at);
  entry.last_soon = now;
  return true;
}

void PollSchedule::Started(const std::string& key, TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.in_flight) return;
  Dequeue(it->second);
  it->second.in_flight = true;
  it->second.last_start = now;
  last_start_ = now;
  ++in_flight_;
}

void PollSchedule::Finished(const std::string& key, Outcome outcome, TimePoint now, double jitter) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (orphans_in_flight_.erase(key) > 0) --in_flight_;  // removed by a reload meanwhile
    return;
  }
  if (!it->second.in_flight) return;
  Entry& entry = it->second;
  entry.in_flight = false;
  --in_flight_;
  const TimePoint last = entry.last_start.value_or(now);
  if (outcome == Outcome::kRateLimited) {
    // Not the eSIM's fault: retry when the budget's pause ends, but not within 60 s.
    Enqueue(entry, last + kMinimumPerEsim);
    return;
  }
  if (once_) {
    entry.done = true;
    return;
  }
  if (outcome == Outcome::kSuccess) {
    entry.failures = 0;
    Enqueue(entry, RegularDue(entry));
    return;
  }
  entry.failures = std::min(entry.failures + 1, 30);
  Enqueue(entry, BackoffDue(entry, last, jitter));
}

PollSchedule::TimePoint PollSchedule::BackoffDue(const Entry& entry, TimePoint last,
                                                 double jitter) const {
  // Exponential backoff with jitter, from 60 s up to the interval: never a tight retry loop.
  const double base = std::min(60.0 * std::pow(2.0, std::max(entry.failures, 1) - 1),
                               std::chrono::duration<double>(interval_).count());
  const double delay = std::max(60.0, base * (0.8 + 0.4 * jitter));
  return last + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(delay));
}

std::map<std::string, PollSchedule::Progress> PollSchedule::Progresses() const {
  std::map<std::string, Progress> out;
  for (const auto& [key, entry] : entries_)
    out.emplace(key, Progress{entry.last_start, entry.failures});
  return out;
}

void PollSchedule::Restore(const std::string& key, TimePoint last_start, int failures) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (entry.in_flight || entry.done || entry.last_start) return;  // this run polled it already
  Dequeue(entry);
  entry.last_start = last_start;
  entry.failures = std::clamp(failures, 0, 30);
  if (!last_start_ || *last_start_ < last_start) last_start_ = last_start;
  Enqueue(entry, entry.failures == 0 ? RegularDue(entry) : BackoffDue(entry, last_start, 0.5));
}

}  // namespace esim
