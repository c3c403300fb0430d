// When each eSIM's live status is polled next: the effective interval the request budget
// allows, polls spread evenly over it (eSIM i of N owns the slot at i/N of the interval), first
// polls as soon as possible, backoff after failures, never twice within 60 s.
// Pure bookkeeping with times passed in; not thread safe (the Poller guards it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "indexed_heap.h"
#include "position_index.h"

namespace esim {

// The per-eSIM interval in force: the configured one, stretched so that `esim_count` polls per
// interval fit 90 % of every window of `limits` (the rest is kept for retries), and never
// below 60 s.
std::chrono::milliseconds EffectiveInterval(std::chrono::milliseconds configured, size_t esim_count,
                                            const RateLimitConfig& limits);

// Which window forces the stretch, for the log: "per_hour: 300 eSIMs need 1200 requests/h
// at 15m, the budget allows 500/h; each eSIM is polled every 40m instead". Empty when the
// configured interval fits.
std::string DescribeStretch(std::chrono::milliseconds configured, size_t esim_count,
                            const RateLimitConfig& limits);

// With inventory sweeps on: the spacing between live polls that keeps, in every window of
// `limits`, within the planned 90 % once the bulk reads (sweep pages and balance reads,
// `bulk_per_second` on average) have taken theirs. nullopt when the bulk reads take it all.
// In microseconds: whole milliseconds would cap a large budget at 1,000 polls a second.
std::optional<std::chrono::microseconds> LiveSpacing(const RateLimitConfig& limits,
                                                     double bulk_per_second);

// With inventory sweeps covering usage and status for everyone, the live polls left over go
// where they matter most instead of to fixed slots: one every `live_spacing` at most, to the
// due eSIM that is active first, least recently polled next.
struct PollPriority {
  bool enabled = false;
  std::chrono::steady_clock::duration live_spacing{};
};

class PollSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  enum class Outcome { kSuccess, kFailure, kRateLimited };

  struct Due {
    std::string key;  // EsimConfig::Key()
    EsimConfig esim;  // its identity alone (EsimConfig::FromKey): what a status request needs
    TimePoint at;
  };

  using Priority = PollPriority;

  // `once`: every eSIM is polled once (rate-limited attempts are retried), then never again.
  explicit PollSchedule(TimePoint anchor, bool once = false) : anchor_(anchor), once_(once) {}

  // Sets the monitored eSIMs (their EsimConfig::Key(), in config order) and the interval
  // settings. Known eSIMs keep their history and are re-spread over the new slots; new ones are
  // due at `now`.
  void Update(const std::vector<std::string>& keys, std::chrono::milliseconds configured_interval,
              const RateLimitConfig& limits, TimePoint now, Priority priority = {});
  void Update(const std::vector<EsimConfig>& esims, std::chrono::milliseconds configured_interval,
              const RateLimitConfig& limits, TimePoint now, Priority priority = {}) {
    Update(KeysOf(esims), configured_interval, limits, now, priority);
  }

  // Adds eSIMs after those it holds (discovery found them), due at `now`, leaving the others
  // as they are: O(added), where Update is O(fleet). Priority mode only (`priority.enabled`),
  // where an eSIM's next poll does not depend on its slot among the others. Keys it holds
  // already are skipped.
  void Append(const std::vector<std::string>& keys, TimePoint now, Priority priority);

  // The eSIM to poll next and when; nullopt when all are in flight or done. `now` must not go
  // back in time from one call to the next (priority mode remembers which eSIMs fell due).
  std::optional<Due> Next(TimePoint now);

  // Priority mode polls higher ranks first: kNoData (nothing known yet), then kActive.
  static constexpr int kNoData = 2, kActive = 1, kOther = 0;
  void SetRank(const std::string& key, int rank);

  // Brings the eSIM's next poll forward to `now` (a webhook event announced a change: the
  // exact values should follow). Never sooner than 60 s after its last poll started or after
  // its last such request. False when nothing changed: unknown key, in flight, done, already
  // due by then, or requested within 60 s.
  bool PollSoon(const std::string& key, TimePoint now);

  void Started(const std::string& key, TimePoint now);
  // `jitter` in [0, 1) spreads retries of many failing eSIMs apart.
  void Finished(const std::string& key, Outcome outcome, TimePoint now, double jitter);

  // Each eSIM's schedule, for the durable state: when its latest poll started (none: never
  // polled) and its failures in a row.
  struct Progress {
    std::optional<TimePoint> last_start;
    int failures = 0;
  };
  // An eSIM's progress, for the durable state; nullopt when the schedule does not hold `key`.
  std::optional<Progress> ProgressOf(std::string_view key) const;
  // Continues a schedule saved by an earlier run (after Update): the eSIM's next poll comes
  // from its last one, as if this run had made it (no re-poll of the fleet at startup).
  void Restore(std::string_view key, TimePoint last_start, int failures);

  std::chrono::milliseconds interval() const { return interval_; }
  size_t size() const { return entries_.size(); }
  size_t in_flight() const { return in_flight_; }
  // In once mode: every eSIM has had its one poll.
  bool AllDone() const { return once_ && queue_.empty() && ready_.empty() && in_flight_ == 0; }

 private:
  // No poll starts at the clock's minimum: it stands for "none" in an Entry.
  static constexpr TimePoint kNever = TimePoint::min();
  // An eSIM's schedule, 32 bytes: no copy of its config (a 50,000-eSIM schedule held ~10 MB of
  // them) nor of its key (in key_chars_ at the same index), no std::optional (a flag and
  // padding each).
  struct Entry {
    TimePoint due{};
    TimePoint last_start = kNever;  // of its latest poll
    TimePoint last_soon = kNever;   // the last PollSoon that moved it
    uint32_t slot = 0;              // its position among the keys of the last Update
    int8_t rank = kNoData;
    uint8_t failures = 0;  // in a row, at most 30
    bool in_flight : 1 = false;
    bool done : 1 = false;
    bool ready : 1 = false;  // priority mode: due, waiting in ready_ rather than queue_
  };
  std::optional<Due> NextByPriority(TimePoint now);
  // Entry `index`'s key in a buffer of keys back to back, each ending at ends[i].
  static std::string_view KeyIn(const std::string& chars, const std::vector<uint32_t>& ends,
                                size_t index);
  std::string_view KeyOf(size_t index) const { return KeyIn(key_chars_, key_ends_, index); }
  std::optional<size_t> Find(std::string_view key) const;
  Due DueOf(size_t index, TimePoint at) const;
  // Heap orders of entry indices. The slot is unique per entry, so both orders are total.
  // Waiting entries: by due time, then config order.
  bool QueueBefore(uint32_t a, uint32_t b) const;
  // Priority order: higher rank, then least recently started (never first), then config order.
  bool ReadyBefore(uint32_t a, uint32_t b) const;

  TimePoint BackoffDue(const Entry& entry, TimePoint last, double jitter) const;
  TimePoint NextSlotAtOrAfter(const Entry& entry, TimePoint earliest) const;
  TimePoint RegularDue(const Entry& entry) const;
  // An eSIM the schedule did not hold, due at `now` (or still in flight from before a reload
  // removed it: then that request counts).
  Entry NewEntry(const std::string& key, TimePoint now);
  // Priority mode's interval for `count` eSIMs at priority_'s spacing.
  std::chrono::milliseconds PriorityInterval(size_t count) const;
  void Enqueue(size_t index, TimePoint due);
  void Dequeue(size_t index);

  TimePoint anchor_;
  bool once_;
  std::chrono::milliseconds interval_{std::chrono::minutes(15)};
  std::chrono::milliseconds configured_{std::chrono::minutes(15)};
  Priority priority_;
  std::optional<TimePoint> last_start_;  // of any eSIM: priority mode paces from it
  // The eSIMs in config order (duplicate keys once). Their keys, one after another in
  // key_chars_: entry i's ends at key_ends_[i]. by_key_: entry indices by key.
  std::vector<Entry> entries_;
  std::string key_chars_;
  std::vector<uint32_t> key_ends_;
  PositionIndex by_key_;
  IndexedHeap queue_;  // waiting entries by due time, then config order
  // Priority mode: entries already due, best first, so that choosing one costs O(log n) rather
  // than a scan of every due eSIM (a large fleet behind a small budget is due all the time).
  IndexedHeap ready_;
  // eSIMs removed by a reload while their request was in flight (still counted), with the
  // time that request started.
  std::map<std::string, TimePoint> orphans_in_flight_;
  size_t in_flight_ = 0;
};

}  // namespace esim
