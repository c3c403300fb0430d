#include "poll_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <tuple>

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

std::optional<std::chrono::microseconds> LiveSpacing(const RateLimitConfig& limits,
                                                     double bulk_per_second) {
  double live_per_second = std::numeric_limits<double>::infinity();
  const std::pair<int, double> windows[] = {
      {limits.per_minute, 60.0}, {limits.per_hour, 3600.0}, {limits.per_day, 86400.0}};
  for (const auto& [limit, seconds] : windows) {
    live_per_second = std::min(live_per_second, limit * kPlannedShare / seconds - bulk_per_second);
  }
  if (live_per_second <= 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<int64_t>(std::ceil(1e6 / live_per_second)));
}

void PollSchedule::Update(const std::vector<std::string>& keys, milliseconds configured_interval,
                          const RateLimitConfig& limits, TimePoint now, Priority priority) {
  priority_ = priority;
  configured_ = std::max(configured_interval, kMinimumPerEsim);
  if (priority.enabled) {
    interval_ = PriorityInterval(keys.size());
  } else {
    interval_ = EffectiveInterval(configured_interval, keys.size(), limits);
  }
  size_t chars = 0;
  for (const std::string& key : keys) chars += key.size();
  if (chars >= UINT32_MAX || keys.size() >= UINT32_MAX) {
    throw std::length_error("PollSchedule: too many eSIMs");
  }
  std::vector<Entry> updated;
  updated.reserve(keys.size());
  std::string key_chars;
  key_chars.reserve(chars);
  std::vector<uint32_t> key_ends;
  key_ends.reserve(keys.size());
  PositionIndex by_key;
  by_key.Reset(keys.size());
  const auto new_key = [&](size_t index) { return KeyIn(key_chars, key_ends, index); };
  for (size_t slot = 0; slot < keys.size(); ++slot) {
    const std::string& key = keys[slot];
    const uint64_t hash = PositionIndex::HashOf(key);
    // A key given twice: the first one counts.
    if (by_key.Find(hash, [&](size_t at) { return new_key(at) == key; })) continue;
    Entry entry;
    if (const auto old = Find(key)) {
      entry = entries_[*old];  // out of queue_ and ready_: both are rebuilt below
      entry.ready = false;
    } else {
      entry = NewEntry(key, now);
    }
    entry.slot = static_cast<uint32_t>(slot);
    key_chars += key;
    key_ends.push_back(static_cast<uint32_t>(key_chars.size()));
    by_key.Insert(hash, updated.size());
    updated.push_back(entry);
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    // A removed eSIM's answer still arrives; Finished drops it.
    if (!entries_[i].in_flight) continue;
    const std::string_view key = KeyOf(i);
    if (by_key.Find(PositionIndex::HashOf(key), [&](size_t at) { return new_key(at) == key; })) {
      continue;
    }
    const TimePoint started = entries_[i].last_start == kNever ? now : entries_[i].last_start;
    orphans_in_flight_.emplace(std::string(key), started);
  }
  entries_ = std::move(updated);
  key_chars_ = std::move(key_chars);
  key_ends_ = std::move(key_ends);
  by_key_ = std::move(by_key);
  queue_.Reset(entries_.size());
  ready_.Reset(entries_.size());
  in_flight_ = orphans_in_flight_.size();
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    if (entry.in_flight) {
      ++in_flight_;
    } else if (!entry.done) {
      // Known eSIMs move to their (possibly new) slot; never-polled ones stay due.
      Enqueue(i, entry.last_start != kNever && entry.failures == 0 ? RegularDue(entry) : entry.due);
    }
  }
}

void PollSchedule::Append(const std::vector<std::string>& keys, TimePoint now, Priority priority) {
  if (!priority.enabled) throw std::logic_error("PollSchedule::Append outside priority mode");
  priority_ = priority;
  queue_.Grow(entries_.size() + keys.size());
  ready_.Grow(entries_.size() + keys.size());
  for (const std::string& key : keys) {
    if (Find(key)) continue;
    if (key_chars_.size() + key.size() >= UINT32_MAX || entries_.size() + 1 >= UINT32_MAX) {
      throw std::length_error("PollSchedule: too many eSIMs");
    }
    Entry entry = NewEntry(key, now);
    // Slots only order entries: after the last one, as Update would number them.
    entry.slot = entries_.empty() ? 0 : entries_.back().slot + 1;
    key_chars_ += key;
    key_ends_.push_back(static_cast<uint32_t>(key_chars_.size()));
    by_key_.Insert(PositionIndex::HashOf(key), entries_.size());
    entries_.push_back(entry);
    if (!entry.in_flight) Enqueue(entries_.size() - 1, now);
  }
  interval_ = PriorityInterval(entries_.size());
}

PollSchedule::Entry PollSchedule::NewEntry(const std::string& key, TimePoint now) {
  Entry entry;
  entry.due = now;
  // Removed by an earlier reload while its request was in flight, and back: that request still
  // counts, so the eSIM is not polled a second time at once.
  if (const auto orphan = orphans_in_flight_.find(key); orphan != orphans_in_flight_.end()) {
    entry.in_flight = true;
    entry.last_start = orphan->second;
    orphans_in_flight_.erase(orphan);
  }
  return entry;
}

milliseconds PollSchedule::PriorityInterval(size_t count) const {
  // Every eSIM once per interval if the live budget allows, else as often as it allows.
  const auto cycle = std::chrono::duration_cast<milliseconds>(priority_.live_spacing *
                                                              static_cast<int64_t>(count));
  return std::max(configured_, cycle);
}

std::string_view PollSchedule::KeyIn(const std::string& chars, const std::vector<uint32_t>& ends,
                                     size_t index) {
  const size_t begin = index == 0 ? 0 : ends[index - 1];
  return std::string_view(chars).substr(begin, ends[index] - begin);
}

std::optional<size_t> PollSchedule::Find(std::string_view key) const {
  return by_key_.Find(PositionIndex::HashOf(key), [&](size_t at) { return KeyOf(at) == key; });
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
  if (priority_.enabled) return entry.last_start + configured_;
  // The next own slot at least half an interval after the last poll: steady polling at the
  // interval, and a re-spread after reloads without a burst.
  const TimePoint last = entry.last_start;
  return std::max(NextSlotAtOrAfter(entry, last + interval_ / 2), last + kMinimumPerEsim);
}

bool PollSchedule::QueueBefore(uint32_t a, uint32_t b) const {
  const Entry& x = entries_[a];
  const Entry& y = entries_[b];
  return std::tie(x.due, x.slot) < std::tie(y.due, y.slot);
}

bool PollSchedule::ReadyBefore(uint32_t a, uint32_t b) const {
  const Entry& x = entries_[a];
  const Entry& y = entries_[b];
  return std::make_tuple(-x.rank, x.last_start, x.slot) <
         std::make_tuple(-y.rank, y.last_start, y.slot);
}

void PollSchedule::Enqueue(size_t index, TimePoint due) {
  Entry& entry = entries_[index];
  entry.due = due;
  entry.ready = false;
  queue_.Push(static_cast<uint32_t>(index),
              [this](uint32_t a, uint32_t b) { return QueueBefore(a, b); });
}

void PollSchedule::Dequeue(size_t index) {
  Entry& entry = entries_[index];
  const auto id = static_cast<uint32_t>(index);
  if (entry.ready) {
    ready_.Erase(id, [this](uint32_t a, uint32_t b) { return ReadyBefore(a, b); });
    entry.ready = false;
  } else {
    queue_.Erase(id, [this](uint32_t a, uint32_t b) { return QueueBefore(a, b); });
  }
}

std::optional<PollSchedule::Due> PollSchedule::Next(TimePoint now) {
  if (priority_.enabled) return NextByPriority(now);
  if (queue_.empty()) return std::nullopt;
  return DueOf(queue_.top(), entries_[queue_.top()].due);
}

PollSchedule::Due PollSchedule::DueOf(size_t index, TimePoint at) const {
  const std::string_view key = KeyOf(index);
  return Due{std::string(key), EsimConfig::FromKey(key), at};
}

std::optional<PollSchedule::Due> PollSchedule::NextByPriority(TimePoint now) {
  // Of the eSIMs due now: those without any data first, then active ones, then the least
  // recently polled (never-polled ones count as least recent), then config order. None due: the
  // one due first.
  const auto queue_before = [this](uint32_t a, uint32_t b) { return QueueBefore(a, b); };
  const auto ready_before = [this](uint32_t a, uint32_t b) { return ReadyBefore(a, b); };
  while (!queue_.empty() && entries_[queue_.top()].due <= now) {
    const uint32_t id = queue_.top();
    queue_.Pop(queue_before);
    entries_[id].ready = true;
    ready_.Push(id, ready_before);
  }
  size_t best = 0;
  TimePoint at = now;
  if (!ready_.empty()) {
    best = ready_.top();
  } else if (!queue_.empty()) {
    best = queue_.top();
    at = entries_[best].due;
  } else {
    return std::nullopt;
  }
  if (last_start_) at = std::max(at, *last_start_ + priority_.live_spacing);
  return DueOf(best, at);
}

void PollSchedule::SetRank(const std::string& key, int rank) {
  const auto index = Find(key);
  if (!index) return;
  Entry& entry = entries_[*index];
  const auto ready_before = [this](uint32_t a, uint32_t b) { return ReadyBefore(a, b); };
  const auto id = static_cast<uint32_t>(*index);
  if (entry.ready) ready_.Erase(id, ready_before);
  entry.rank = static_cast<int8_t>(rank);  // kNoData, kActive or kOther
  if (entry.ready) ready_.Push(id, ready_before);
}

bool PollSchedule::PollSoon(const std::string& key, TimePoint now) {
  const auto index = Find(key);
  if (!index) return false;
  Entry& entry = entries_[*index];
  if (entry.in_flight || entry.done || entry.ready) return false;
  if (entry.last_soon != kNever && now < entry.last_soon + kMinimumPerEsim) return false;
  TimePoint at = now;
  if (entry.last_start != kNever) at = std::max(at, entry.last_start + kMinimumPerEsim);
  if (entry.due <= at) return false;
  Dequeue(*index);
  Enqueue(*index, at);
  entry.last_soon = now;
  return true;
}

void PollSchedule::Started(const std::string& key, TimePoint now) {
  const auto index = Find(key);
  if (!index || entries_[*index].in_flight) return;
  Dequeue(*index);
  entries_[*index].in_flight = true;
  entries_[*index].last_start = now;
  last_start_ = now;
  ++in_flight_;
}

void PollSchedule::Finished(const std::string& key, Outcome outcome, TimePoint now, double jitter) {
  const auto index = Find(key);
  if (!index) {
    if (orphans_in_flight_.erase(key) > 0) --in_flight_;  // removed by a reload meanwhile
    return;
  }
  Entry& entry = entries_[*index];
  if (!entry.in_flight) return;
  entry.in_flight = false;
  --in_flight_;
  const TimePoint last = entry.last_start == kNever ? now : entry.last_start;
  if (outcome == Outcome::kRateLimited) {
    // Not the eSIM's fault: retry when the budget's pause ends, but not within 60 s.
    Enqueue(*index, last + kMinimumPerEsim);
    return;
  }
  if (once_) {
    entry.done = true;
    return;
  }
  if (outcome == Outcome::kSuccess) {
    entry.failures = 0;
    Enqueue(*index, RegularDue(entry));
    return;
  }
  entry.failures = static_cast<uint8_t>(std::min(entry.failures + 1, 30));
  Enqueue(*index, BackoffDue(entry, last, jitter));
}

PollSchedule::TimePoint PollSchedule::BackoffDue(const Entry& entry, TimePoint last,
                                                 double jitter) const {
  // Exponential backoff with jitter, from 60 s up to the interval: never a tight retry loop.
  const double base = std::min(60.0 * std::pow(2.0, std::max<int>(entry.failures, 1) - 1),
                               std::chrono::duration<double>(interval_).count());
  const double delay = std::max(60.0, base * (0.8 + 0.4 * jitter));
  return last + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(delay));
}

std::optional<PollSchedule::Progress> PollSchedule::ProgressOf(std::string_view key) const {
  const auto index = Find(key);
  if (!index) return std::nullopt;
  const Entry& entry = entries_[*index];
  Progress progress;
  if (entry.last_start != kNever) progress.last_start = entry.last_start;
  progress.failures = entry.failures;
  return progress;
}

void PollSchedule::Restore(std::string_view key, TimePoint last_start, int failures) {
  const auto index = Find(key);
  if (!index) return;
  Entry& entry = entries_[*index];
  // This run polled it already.
  if (entry.in_flight || entry.done || entry.last_start != kNever) return;
  Dequeue(*index);
  entry.last_start = last_start;
  entry.failures = static_cast<uint8_t>(std::clamp(failures, 0, 30));
  if (!last_start_ || *last_start_ < last_start) last_start_ = last_start;
  Enqueue(*index, entry.failures == 0 ? RegularDue(entry) : BackoffDue(entry, last_start, 0.5));
}

}  // namespace esim
